//! `FrontDropQueue([CAPACITY])`: a FIFO queue that drops its oldest packet
//! when full.
//!
//! # Ports
//! One push input. Output 0 is pulled; optional output 1 is pushed and gets
//! the packets the queue drops.
//!
//! # Processing
//! Like `Queue`, except that a packet arriving at a full queue is kept and
//! the packet at the head (the oldest) is dropped instead. CAPACITY defaults
//! to 1000.
//!
//! # Keywords
//! * `CAPACITY` (unsigned): maximum length.
//!
//! # Handlers
//! Those of `Queue`: `length`, `highwater_length`, `drops`, `capacity`
//! (read/write), `reset_counts`, `reset`.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> FrontDropQueue(10) -> ToDump(out.pcap);
//! ```

use alloc::boxed::Box;

use super::queue::Queue;
use crate::element::ElementClass;

/// The `FrontDropQueue` class.
pub static CLASS: ElementClass = ElementClass {
    name: "FrontDropQueue",
    ports: "1/1-2",
    processing: "h/lh",
    phase: 0,
    make: |args, _cx| Ok(Box::new(Queue::configure(args, true)?)),
};

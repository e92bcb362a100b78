//! `PrioSched`: pulls from the first input that has a packet.
//!
//! # Ports
//! Any number of pull inputs, one pull output.
//!
//! # Processing
//! Each pull on the output tries the inputs in order, 0 first, and returns
//! the first packet found: input 0 has strict priority over input 1, and so
//! on. Inputs are usually queues or other schedulers.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! hi :: Queue; lo :: Queue;
//! hi -> [0] p :: PrioSched; lo -> [1] p;
//! p -> ToDump(out.pcap);
//! ```

use alloc::boxed::Box;

use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `PrioSched` class.
pub static CLASS: ElementClass = ElementClass {
    name: "PrioSched",
    ports: "-/1",
    processing: "l/l",
    phase: 0,
    make: |_, _| Ok(Box::new(PrioSched)),
};

/// Strict-priority scheduler.
pub struct PrioSched;

impl Element for PrioSched {
    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        (0..cx.ninputs()).find_map(|i| cx.pull(i))
    }
}

//! `RoundRobinSwitch`: sends packets to its outputs in turn.
//!
//! # Ports
//! One push input; one or more push outputs.
//!
//! # Processing
//! The first packet goes to output 0, the next to output 1, and so on,
//! wrapping around after the last output.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> rr :: RoundRobinSwitch;
//! rr[0] -> ToDump(a.pcap); rr[1] -> ToDump(b.pcap);
//! ```

use alloc::boxed::Box;

use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `RoundRobinSwitch` class.
pub static CLASS: ElementClass = ElementClass {
    name: "RoundRobinSwitch",
    ports: "1/1-",
    processing: "h/h",
    phase: 0,
    make: |_, _| Ok(Box::new(RoundRobinSwitch { next: 0 })),
};

/// Round-robin switch.
pub struct RoundRobinSwitch {
    next: usize,
}

impl Element for RoundRobinSwitch {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let i = self.next;
        self.next = if i + 1 >= cx.noutputs() { 0 } else { i + 1 };
        cx.push(i, p);
    }
}

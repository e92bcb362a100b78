//! `RoundRobinSched`: pulls from its inputs in turn.
//!
//! # Ports
//! Any number of pull inputs, one pull output.
//!
//! # Processing
//! Each pull on the output tries the inputs in turn, starting with the one
//! after the input that produced the last packet, and returns the first
//! packet found.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! a :: Queue; b :: Queue;
//! a -> [0] rr :: RoundRobinSched; b -> [1] rr;
//! rr -> ToDump(out.pcap);
//! ```

use alloc::boxed::Box;

use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `RoundRobinSched` class.
pub static CLASS: ElementClass = ElementClass {
    name: "RoundRobinSched",
    ports: "-/1",
    processing: "l/l",
    phase: 0,
    make: |_, _| Ok(Box::new(RoundRobinSched { next: 0 })),
};

/// Round-robin scheduler.
pub struct RoundRobinSched {
    next: usize,
}

impl Element for RoundRobinSched {
    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let n = cx.ninputs();
        let mut i = self.next.min(n.saturating_sub(1));
        for _ in 0..n {
            let p = cx.pull(i);
            i = if i + 1 >= n { 0 } else { i + 1 };
            if p.is_some() {
                self.next = i;
                return p;
            }
        }
        None
    }
}

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

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{router, sink_contents};
    use alloc::vec::Vec;

    #[test]
    fn starts_at_zero_and_wraps() {
        let (r, _) = router(fed(
            &[("rr", "RoundRobinSwitch", ""), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1), (0, 2, 1, 2)],
        ));
        for i in 0..5u8 {
            r.inject(0, 0, Packet::from_slice(&[i]));
        }
        let ports: Vec<usize> = sink_contents(&r, "s").iter().map(|(p, _)| *p).collect();
        assert_eq!(ports, [0, 1, 2, 0, 1]);
    }
}

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

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{router, sink_contents};
    use alloc::vec::Vec;

    #[test]
    fn skips_empty_inputs_and_resumes_after_last() {
        let (r, _) = router(fed(
            &[
                ("a", "Queue", ""),
                ("b", "Queue", ""),
                ("c", "Queue", ""),
                ("rr", "RoundRobinSched", ""),
                ("u", "Unqueue", "ACTIVE false"),
                ("s", "TestSink", ""),
            ],
            &[
                (0, 0, 3, 0),
                (1, 0, 3, 1),
                (2, 0, 3, 2),
                (3, 0, 4, 0),
                (4, 0, 5, 0),
            ],
        ));
        for b in [1u8, 2, 3] {
            r.inject(0, 0, Packet::from_slice(&[b]));
        }
        r.inject(2, 0, Packet::from_slice(&[30]));
        r.write("u.active", "true").unwrap();
        r.run_until_idle();
        let order: Vec<u8> = sink_contents(&r, "s").iter().map(|(_, d)| d[0]).collect();
        assert_eq!(order, [1, 30, 2, 3]);
    }
}

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

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{router, sink_contents};
    use alloc::vec::Vec;

    #[test]
    fn drains_in_priority_then_round_robin_order() {
        // The i_queue shape: ICMP queue first, then a round robin of TCP
        // and UDP.
        let (r, _) = router(fed(
            &[
                ("qt", "Queue", ""),
                ("qu", "Queue", ""),
                ("qi", "Queue", ""),
                ("rr", "RoundRobinSched", ""),
                ("prio", "PrioSched", ""),
                ("u", "Unqueue", "ACTIVE false"),
                ("s", "TestSink", ""),
            ],
            &[
                (0, 0, 3, 0),
                (1, 0, 3, 1),
                (2, 0, 4, 0),
                (3, 0, 4, 1),
                (4, 0, 5, 0),
                (5, 0, 6, 0),
            ],
        ));
        for b in [10u8, 11, 12] {
            r.inject(0, 0, Packet::from_slice(&[b]));
        }
        for b in [20u8, 21] {
            r.inject(1, 0, Packet::from_slice(&[b]));
        }
        for b in [30u8, 31] {
            r.inject(2, 0, Packet::from_slice(&[b]));
        }
        r.write("u.active", "true").unwrap();
        r.run_until_idle();
        let order: Vec<u8> = sink_contents(&r, "s").iter().map(|(_, d)| d[0]).collect();
        assert_eq!(order, [30, 31, 10, 20, 11, 21, 12]);
    }
}

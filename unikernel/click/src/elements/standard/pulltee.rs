//! `PullTee([N])`: copies each pulled packet to the other outputs.
//!
//! # Ports
//! One pull input; output 0 is pulled, outputs 1 to N-1 are pushed.
//!
//! # Processing
//! A pull on output 0 pulls a packet from the input; copies go out of
//! outputs 1 to N-1 (in order) before the original is returned on output 0.
//!
//! # Keywords
//! * `N` (unsigned): number of outputs; must equal the number connected.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! q :: Queue -> t :: PullTee -> ToDump(out.pcap);
//! t[1] -> Counter -> Discard;
//! ```

use alloc::boxed::Box;

use super::tee::check_arms;
use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `PullTee` class.
pub static CLASS: ElementClass = ElementClass {
    name: "PullTee",
    ports: "1/1-",
    processing: "l/lh",
    phase: 0,
    make: |args, cx| {
        check_arms(args.optional::<u32>("N")?, cx.noutputs())?;
        Ok(Box::new(PullTee))
    },
};

/// Copies pulled packets to push outputs.
pub struct PullTee;

impl Element for PullTee {
    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let p = cx.pull(0)?;
        for i in 1..cx.noutputs() {
            if let Some(q) = cx.clone_packet(&p) {
                cx.push(i, q);
            }
        }
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{router, sink_contents};
    use alloc::vec;

    #[test]
    fn copy_is_pushed_before_the_pull_returns() {
        let (r, _) = router(fed(
            &[
                ("q", "Queue", ""),
                ("t", "PullTee", "2"),
                ("u", "Unqueue", ""),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0), (2, 0, 3, 0), (1, 1, 3, 1)],
        ));
        r.inject(0, 0, Packet::from_slice(&[5]));
        r.run_until_idle();
        assert_eq!(sink_contents(&r, "s"), vec![(1, vec![5]), (0, vec![5])]);
    }
}

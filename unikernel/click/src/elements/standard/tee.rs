//! `Tee([N])`: copies each packet to every output.
//!
//! # Ports
//! One push input; N push outputs (N defaults to the number connected and
//! must equal it when given).
//!
//! # Processing
//! Outputs 0 to N-2 each get a copy, in order, then the original goes to
//! output N-1. Pushes are depth-first, so a sink shared by several outputs
//! sees the copies in output order. The copies are independent: changing
//! one (DecIPTTL, rewriting) does not change the others.
//!
//! # Keywords
//! * `N` (unsigned): number of outputs.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> t :: Tee;
//! t[0] -> ToDump(a.pcap);
//! t[1] -> ToDump(b.pcap);
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;

use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `Tee` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Tee",
    ports: "1/1-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| {
        check_arms(args.optional::<u32>("N")?, cx.noutputs())?;
        Ok(Box::new(Tee))
    },
};

/// Checks Tee's `N` against the connected outputs.
pub(crate) fn check_arms(n: Option<u32>, noutputs: usize) -> Result<(), ConfigError> {
    match n {
        Some(n) if n as usize != noutputs => Err(ConfigError::conflict(alloc::format!(
            "N is {n} but {noutputs} output{} connected",
            if noutputs == 1 { " is" } else { "s are" }
        ))),
        _ => Ok(()),
    }
}

/// Copies packets to every output.
pub struct Tee;

impl Element for Tee {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let n = cx.noutputs();
        for i in 0..n.saturating_sub(1) {
            if let Some(q) = cx.clone_packet(&p) {
                cx.push(i, q);
            }
        }
        cx.push(n.saturating_sub(1), p);
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use alloc::vec;

    #[test]
    fn clones_in_order_then_original_last_into_shared_sink() {
        // t[0] and t[2] go straight to the sink; t[1] goes through a Paint
        // first, which must not affect the others.
        let (r, _) = router(fed(
            &[
                ("t", "Tee", "3"),
                ("s", "TestSink", ""),
                ("st", "Strip", "1"),
            ],
            &[(0, 0, 1, 0), (0, 1, 2, 0), (2, 0, 1, 1), (0, 2, 1, 2)],
        ));
        r.inject(0, 0, Packet::from_slice(&[1, 2, 3]));
        assert_eq!(
            sink_contents(&r, "s"),
            vec![(0, vec![1, 2, 3]), (1, vec![2, 3]), (2, vec![1, 2, 3])]
        );
    }

    #[test]
    fn copies_are_independent() {
        let (r, _) = router(fed(
            &[
                ("t", "Tee", ""),
                ("a", "TestSink", ""),
                ("b", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (0, 1, 2, 0)],
        ));
        let mut p = Packet::from_slice(&[9, 9]);
        p.set_paint(4);
        r.inject(0, 0, p);
        let a = r.find("a").unwrap();
        r.with_element(a, |e, _| {
            let s = e.downcast_mut::<crate::testing::TestSink>().unwrap();
            s.got[0].1.data_mut()[0] = 0;
            assert_eq!(s.got[0].1.paint(), 4);
        });
        assert_eq!(sink_contents(&r, "b"), vec![(0, vec![9, 9])]);
    }

    #[test]
    fn n_must_match_outputs() {
        let e = build(fed(
            &[("t", "Tee", "3"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1)],
        ))
        .err()
        .unwrap();
        let e = alloc::format!("{e}");
        assert!(e.contains("N is 3 but 2 outputs are connected"), "{e}");
        assert!(build(fed(
            &[("t", "Tee", "x"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)]
        ))
        .is_err());
    }
}

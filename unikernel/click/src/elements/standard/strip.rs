//! `Strip(LENGTH)`: removes LENGTH bytes from the front of each packet.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Moves the start of the data LENGTH bytes forward; the bytes stay in the
//! buffer's headroom, so `Unstrip(LENGTH)` later restores them. A packet
//! shorter than LENGTH becomes empty.
//!
//! # Keywords
//! * `LENGTH` (unsigned): bytes to strip.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> ...
//! ```

use alloc::boxed::Box;

use crate::element::{in_place_action, Element, ElementClass};

/// The `Strip` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Strip",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let n = args.required::<u32>("LENGTH")? as usize;
        Ok(Box::new(Strip(n)))
    },
};

/// Strips bytes from the front.
pub struct Strip(usize);

impl Element for Strip {
    in_place_action!(|el, p| p.pull(el.0));
}

#[cfg(test)]
mod tests {
    use crate::batch::Batch;
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use alloc::vec;

    #[test]
    fn strips_and_unstrip_restores_original_bytes() {
        let (r, _) = router(fed(
            &[
                ("st", "Strip", "2"),
                ("s", "TestSink", ""),
                ("un", "Unstrip", "2"),
            ],
            &[(0, 0, 2, 0), (2, 0, 1, 0)],
        ));
        r.inject(0, 0, Packet::from_slice(&[1, 2, 3]));
        let mut b = Batch::new();
        b.push(Packet::from_slice(&[4, 5, 6, 7])).unwrap();
        r.with_element(0, |e, cx| e.push_batch(cx, 0, b));
        assert_eq!(
            sink_contents(&r, "s"),
            vec![(0, vec![1, 2, 3]), (0, vec![4, 5, 6, 7])]
        );
    }

    #[test]
    fn strip_beyond_length_empties_and_arguments() {
        let (r, _) = router(fed(
            &[("st", "Strip", "LENGTH 14"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)],
        ));
        r.inject(0, 0, Packet::from_slice(&[1, 2, 3]));
        assert_eq!(sink_contents(&r, "s"), vec![(0, vec![])]);
        for cfg in ["", "-1", "x", "1, 2"] {
            assert!(
                build(fed(
                    &[("st", "Strip", cfg), ("s", "TestSink", "")],
                    &[(0, 0, 1, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
            assert!(
                build(fed(
                    &[("u", "Unstrip", cfg), ("s", "TestSink", "")],
                    &[(0, 0, 1, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
    }
}

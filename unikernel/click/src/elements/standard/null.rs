//! `Null`: passes packets unchanged.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Every packet leaves on output 0 as it came. Useful as a junction with a
//! name.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! j :: Null;
//! a -> j; b -> j; j -> Discard;
//! ```

use alloc::boxed::Box;

use crate::batch::Batch;
use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `Null` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Null",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |_, _| Ok(Box::new(Null)),
};

/// Passes packets through.
pub struct Null;

impl Element for Null {
    #[inline]
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        cx.push(0, p);
    }

    fn push_batch(&mut self, cx: &Ctx, _port: usize, b: Batch) {
        cx.push_batch(0, b);
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        cx.pull(0)
    }
}

#[cfg(test)]
mod tests {
    use crate::batch::Batch;
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use alloc::vec;

    #[test]
    fn passes_packets_and_batches() {
        let (r, _) = router(fed(
            &[("n", "Null", ""), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)],
        ));
        r.inject(0, 0, Packet::from_slice(&[1]));
        let mut b = Batch::new();
        b.push(Packet::from_slice(&[2])).unwrap();
        b.push(Packet::from_slice(&[3])).unwrap();
        r.with_element(0, |e, cx| e.push_batch(cx, 0, b));
        assert_eq!(
            sink_contents(&r, "s"),
            vec![(0, vec![1]), (0, vec![2]), (0, vec![3])]
        );
        assert!(build(fed(
            &[("n", "Null", "1"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)]
        ))
        .is_err());
    }
}

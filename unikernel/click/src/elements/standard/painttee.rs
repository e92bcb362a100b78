//! `PaintTee(COLOR [, ANNO])`: copies packets of one colour to output 1.
//!
//! # Ports
//! One input; output 0 agnostic, output 1 push.
//!
//! # Processing
//! Every packet leaves on output 0. When its paint annotation (or the byte
//! at ANNO) equals COLOR, a copy goes out of output 1 first.
//!
//! # Keywords
//! * `COLOR` (0-255): the colour to copy.
//! * `ANNO` (annotation name or byte offset): default `PAINT`.
//!
//! # Handlers
//! * `color` (read/write): the colour.
//!
//! # Example
//! ```text
//! pt :: PaintTee(1);
//! pt[0] -> ToDevice(eth0);
//! pt[1] -> ICMPError(10.0.0.1, redirect, host) -> ...
//! ```

use alloc::boxed::Box;

use super::paint::{colour_handler, Colour};
use crate::element::{simple_action, Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `PaintTee` class.
pub static CLASS: ElementClass = ElementClass {
    name: "PaintTee",
    ports: "1/2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| Ok(Box::new(PaintTee(Colour::from_args(args)?))),
};

/// Copies packets of one colour.
pub struct PaintTee(Colour);

impl PaintTee {
    fn action(&self, cx: &Ctx, p: Packet) -> Option<Packet> {
        if self.0.matches(&p) {
            if let Some(q) = cx.clone_packet(&p) {
                cx.push(1, q);
            }
        }
        Some(p)
    }
}

impl Element for PaintTee {
    simple_action!();
    colour_handler!();
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::{fed, painted};
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use alloc::vec;

    #[test]
    fn copy_goes_out_before_original() {
        let (r, _) = router(fed(
            &[("pt", "PaintTee", "2"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1)],
        ));
        r.inject(0, 0, painted(2, 1));
        r.inject(0, 0, Packet::from_slice(&[2]));
        assert_eq!(
            sink_contents(&r, "s"),
            vec![(1, vec![1]), (0, vec![1]), (0, vec![2])]
        );
        r.write("pt.color", "0").unwrap();
        assert_eq!(r.read("pt.color").unwrap(), "0");
        r.inject(0, 0, Packet::from_slice(&[3]));
        assert_eq!(sink_contents(&r, "s").len(), 5);
        assert!(build(fed(
            &[("pt", "PaintTee", ""), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1)]
        ))
        .is_err());
    }
}

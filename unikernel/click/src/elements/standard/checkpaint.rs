//! `CheckPaint(COLOR [, ANNO])`: passes packets of one colour, diverts the
//! others.
//!
//! # Ports
//! One input; output 0 agnostic; optional output 1 push.
//!
//! # Processing
//! A packet whose paint annotation (or the byte at ANNO) equals COLOR
//! leaves on output 0; any other goes to output 1, or is dropped if output
//! 1 is not connected. In pull mode a non-matching packet pulled from the
//! input is diverted and the pull returns nothing.
//!
//! # Keywords
//! * `COLOR` (0-255): the colour to pass.
//! * `ANNO` (annotation name or byte offset): default `PAINT`.
//!
//! # Handlers
//! * `color` (read/write): the colour.
//!
//! # Example
//! ```text
//! cp :: CheckPaint(1);
//! cp[0] -> ToDump(ones.pcap);
//! cp[1] -> Discard;
//! ```

use alloc::boxed::Box;

use super::paint::{colour_handler, Colour};
use crate::element::{simple_action, Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `CheckPaint` class.
pub static CLASS: ElementClass = ElementClass {
    name: "CheckPaint",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| Ok(Box::new(CheckPaint(Colour::from_args(args)?))),
};

/// Filters on the paint annotation.
pub struct CheckPaint(Colour);

impl CheckPaint {
    fn action(&self, cx: &Ctx, p: Packet) -> Option<Packet> {
        if self.0.matches(&p) {
            return Some(p);
        }
        if cx.noutputs() > 1 {
            cx.push(1, p);
        } else {
            cx.kill(p);
        }
        None
    }
}

impl Element for CheckPaint {
    simple_action!();
    colour_handler!();
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::{fed, painted};
    use crate::testing::{router, sink_contents};
    use alloc::vec;

    #[test]
    fn matching_on_0_others_on_1_or_dropped() {
        let (r, _) = router(fed(
            &[("cp", "CheckPaint", "1"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1)],
        ));
        r.inject(0, 0, painted(1, 1));
        r.inject(0, 0, painted(2, 2));
        assert_eq!(sink_contents(&r, "s"), vec![(0, vec![1]), (1, vec![2])]);

        let (r, _) = router(fed(
            &[("cp", "CheckPaint", "1"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)],
        ));
        r.inject(0, 0, painted(2, 2));
        r.inject(0, 0, painted(1, 1));
        assert_eq!(sink_contents(&r, "s"), vec![(0, vec![1])]);
        r.write("cp.color", "2").unwrap();
        r.inject(0, 0, painted(2, 2));
        assert_eq!(sink_contents(&r, "s").len(), 2);
    }

    #[test]
    fn pull_mode_diverts() {
        let (r, _) = router(fed(
            &[
                ("q", "Queue", ""),
                ("cp", "CheckPaint", "1"),
                ("u", "Unqueue", "BURST -1"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0), (2, 0, 3, 0), (1, 1, 3, 1)],
        ));
        r.inject(0, 0, painted(3, 3));
        r.inject(0, 0, painted(1, 1));
        r.run_until_idle();
        assert_eq!(sink_contents(&r, "s"), vec![(1, vec![3]), (0, vec![1])]);
    }
}

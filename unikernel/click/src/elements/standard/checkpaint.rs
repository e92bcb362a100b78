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
use alloc::string::{String, ToString};

use super::paint::{anno_arg, color_value};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `CheckPaint` class.
pub static CLASS: ElementClass = ElementClass {
    name: "CheckPaint",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| {
        let color = args.required::<u8>("COLOR")?;
        let anno = anno_arg(args, 1)?;
        Ok(Box::new(CheckPaint { color, anno }))
    },
};

/// Filters on the paint annotation.
pub struct CheckPaint {
    color: u8,
    anno: usize,
}

impl CheckPaint {
    fn divert(&self, cx: &Ctx, p: Packet) {
        if cx.noutputs() > 1 {
            cx.push(1, p);
        } else {
            cx.kill(p);
        }
    }
}

impl Element for CheckPaint {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        if p.anno_u8(self.anno) == Some(self.color) {
            cx.push(0, p);
        } else {
            self.divert(cx, p);
        }
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let p = cx.pull(0)?;
        if p.anno_u8(self.anno) == Some(self.color) {
            Some(p)
        } else {
            self.divert(cx, p);
            None
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("color")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.color.to_string()
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), String> {
        self.color = color_value(value)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{router, sink_contents};
    use alloc::vec;

    fn painted(c: u8, b: u8) -> Packet {
        let mut p = Packet::from_slice(&[b]);
        p.set_paint(c);
        p
    }

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

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
use alloc::string::{String, ToString};

use super::paint::{anno_arg, color_value};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `PaintTee` class.
pub static CLASS: ElementClass = ElementClass {
    name: "PaintTee",
    ports: "1/2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| {
        let color = args.required::<u8>("COLOR")?;
        let anno = anno_arg(args, 1)?;
        Ok(Box::new(PaintTee { color, anno }))
    },
};

/// Copies packets of one colour.
pub struct PaintTee {
    color: u8,
    anno: usize,
}

impl PaintTee {
    fn action(&self, cx: &Ctx, p: &Packet) {
        if p.anno_u8(self.anno) == Some(self.color) {
            if let Some(q) = cx.clone_packet(p) {
                cx.push(1, q);
            }
        }
    }
}

impl Element for PaintTee {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.action(cx, &p);
        cx.push(0, p);
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let p = cx.pull(0)?;
        self.action(cx, &p);
        Some(p)
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
    use crate::testing::{build, router, sink_contents};
    use alloc::vec;

    #[test]
    fn copy_goes_out_before_original() {
        let (r, _) = router(fed(
            &[("pt", "PaintTee", "2"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1)],
        ));
        let mut p = Packet::from_slice(&[1]);
        p.set_paint(2);
        r.inject(0, 0, p);
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

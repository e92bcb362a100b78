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

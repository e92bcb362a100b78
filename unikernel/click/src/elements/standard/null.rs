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

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

use crate::batch::Batch;
use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

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
    #[inline]
    fn push(&mut self, cx: &Ctx, _port: usize, mut p: Packet) {
        p.pull(self.0);
        cx.push(0, p);
    }

    fn push_batch(&mut self, cx: &Ctx, _port: usize, mut b: Batch) {
        for p in b.iter_mut() {
            p.pull(self.0);
        }
        cx.push_batch(0, b);
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let mut p = cx.pull(0)?;
        p.pull(self.0);
        Some(p)
    }
}

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
pub(crate) fn check_arms(n: Option<u32>, noutputs: usize) -> Result<(), alloc::string::String> {
    match n {
        Some(n) if n as usize != noutputs => Err(alloc::format!(
            "N is {n} but {noutputs} output{} connected",
            if noutputs == 1 { " is" } else { "s are" }
        )),
        _ => Ok(()),
    }
}

/// Copies packets to every output.
pub struct Tee;

impl Element for Tee {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let n = cx.noutputs();
        for i in 0..n.saturating_sub(1) {
            cx.push(i, cx.clone_packet(&p));
        }
        cx.push(n.saturating_sub(1), p);
    }
}

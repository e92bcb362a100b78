//! `PullTee([N])`: copies each pulled packet to the other outputs.
//!
//! # Ports
//! One pull input; output 0 is pulled, outputs 1 to N-1 are pushed.
//!
//! # Processing
//! A pull on output 0 pulls a packet from the input; copies go out of
//! outputs 1 to N-1 (in order) before the original is returned on output 0.
//!
//! # Keywords
//! * `N` (unsigned): number of outputs; must equal the number connected.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! q :: Queue -> t :: PullTee -> ToDump(out.pcap);
//! t[1] -> Counter -> Discard;
//! ```

use alloc::boxed::Box;

use super::tee::check_arms;
use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `PullTee` class.
pub static CLASS: ElementClass = ElementClass {
    name: "PullTee",
    ports: "1/1-",
    processing: "l/lh",
    phase: 0,
    make: |args, cx| {
        check_arms(args.optional::<u32>("N")?, cx.noutputs())?;
        Ok(Box::new(PullTee))
    },
};

/// Copies pulled packets to push outputs.
pub struct PullTee;

impl Element for PullTee {
    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let p = cx.pull(0)?;
        for i in 1..cx.noutputs() {
            cx.push(i, cx.clone_packet(&p));
        }
        Some(p)
    }
}

//! `ICMPPingRewriter(INPUTSPEC1, ..., INPUTSPECn [, KEYWORDS])`: rewrites ICMP echo requests and replies (addresses and identifier).
//!
//! # Ports
//! One input per INPUTSPEC, one or more outputs; push.
//!
//! # Processing
//! An echo request of an unknown flow gets a mapping from its input's
//! spec (SPORT ranges choose the new identifier); the matching echo replies
//! are rewritten back. Unexpected replies and other packets are dropped
//! unless the spec is `pass`.
//!
//! Input specs (one per input port): `drop` / `discard`; `pass OUT` /
//! `passthrough OUT` / `nochange [OUT]` (unchanged, no mapping);
//! `keep FOUT ROUT` (identity mapping); `pattern SADDR SPORT DADDR DPORT
//! FOUT ROUT` (each field `-` = unchanged; SPORT may be a range `L-H`,
//! `L-H#` sequential, `L-H?` random, else the packet's own port when free
//! and a random probe otherwise); `pattern NAME FOUT ROUT` (from
//! IPRewriterPatterns); or the name of an IPMapper element
//! (RoundRobinIPMapper). A candidate port is free when no mapping holds the
//! reply flow it would create, so one external port serves several remote
//! endpoints.
//!
//! # Keywords
//! * `TIMEOUT` (time, default 5 min), `GUARANTEE` (5 s), `DST_ANNO` (true).
//! * `MAPPING_CAPACITY` (integer): most mappings; a new flow beyond it
//!   evicts the earliest-expiring flow past its guarantee, or is dropped.
//! * `REAP_INTERVAL` (time, default 15 min): how often expired mappings are
//!   removed.
//! * `REPLY_ANNO` (annotation offset): byte annotation of a flow's first
//!   packet copied onto its replies.
//!
//! # Handlers
//! * `table` (read): `(SRC, DST, ID) => (SRC', DST', ID') [...]`.
//! * `table_size`, `size` (read): live mappings.
//! * `mapping_failures` (read): flows dropped for want of a port or room.
//! * `patterns` (read): each input's spec, with its live mapping count.
//! * `capacity` (read/write): MAPPING_CAPACITY.
//! * `clear` (write): removes every mapping.
//!
//! # Compatibility
//! Click 1.x's form `ICMPPingRewriter(SRC, DST [, DST_ANNO])` (Click up
//! to 1.7; replaced by input specs in Click commit 96c93b6fc, 2010) is
//! accepted with its meaning: each argument a new address (or an
//! AddressInfo name) or `-` for unchanged, one or two inputs and outputs.
//! It is the spec `pattern SRC 0-65535# DST - 0 R` on input 0 (a request
//! of a new flow gets the next identifier counting from 0, as Click 1.x
//! numbered them; R is the last output, where replies go) and `drop` on
//! input 1, except that an echo reply of no mapping on input 0 leaves
//! unchanged on the last output, as it did in Click 1.x.
//!
//! # Example
//! ```text
//! pr :: ICMPPingRewriter(pattern 1.2.3.4 1024-65535 - - 0 1, drop);
//! ```

use alloc::boxed::Box;
use alloc::vec::Vec;
use alloc::{format, string::String};

use super::pattern::Pattern;
use super::rewriter::{rewriter_element, Kind, Rewriter};
use super::spec::{InputSpec, SpecKind};
use crate::confparse::Ipv4;
use crate::element::ElementClass;

/// The `ICMPPingRewriter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ICMPPingRewriter",
    ports: "1-/1-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| {
        Ok(Box::new(IcmpPingRewriter(Rewriter::configure(
            Kind::Ping,
            args,
            cx,
        )?)))
    },
};

/// A `ICMPPingRewriter` element.
pub struct IcmpPingRewriter(pub Rewriter);

impl IcmpPingRewriter {
    /// The rewriter inside (table, counters, state).
    pub fn rewriter(&mut self) -> &mut Rewriter {
        &mut self.0
    }
}

rewriter_element!(IcmpPingRewriter);

/// The input specs meaning Click 1.x's `ICMPPingRewriter(SRC, DST)` for
/// an element with `nin` inputs and `nout` outputs, if `args` (with
/// AddressInfo names resolved) is that form: two words each an address
/// or `-`, which no input spec can be.
pub(super) fn click1_specs(
    args: &[String],
    nin: usize,
    nout: usize,
) -> Option<Result<Vec<InputSpec>, String>> {
    let [src, dst] = args else {
        return None;
    };
    let (src, dst) = (src.trim(), dst.trim());
    let address = |w: &str| w == "-" || Ipv4::parse(w).is_some();
    if !address(src) || !address(dst) {
        return None;
    }
    if nin > 2 || nout > 2 {
        return Some(Err(format!(
            "the Click 1.x form ICMPPingRewriter(SRC, DST) has one or two inputs and outputs, not {nin} and {nout}"
        )));
    }
    let pattern = match Pattern::parse(&[src, "0-65535#", dst, "-"]) {
        Ok(p) => p,
        Err(e) => return Some(Err(e)),
    };
    let last = (nout - 1) as u16;
    let mut specs = alloc::vec![InputSpec::new(
        SpecKind::Pattern(alloc::rc::Rc::new(core::cell::RefCell::new(pattern))),
        0,
        last,
    )];
    if nin == 2 {
        specs.push(InputSpec::new(SpecKind::Drop, 0, 0));
    }
    Some(Ok(specs))
}

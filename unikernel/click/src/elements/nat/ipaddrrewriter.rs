//! `IPAddrRewriter(INPUTSPEC1, ..., INPUTSPECn [, KEYWORDS])`: rewrites source addresses of any IP protocol (basic NAT).
//!
//! # Ports
//! One input per INPUTSPEC, one or more outputs; push.
//!
//! # Processing
//! A packet is looked up by its source address (forward), then by its
//! destination address (reply). Forward packets get the mapped source
//! address, replies the original destination; IP, TCP and UDP checksums
//! are updated. Patterns are `SADDR -` where SADDR may be `A-B` or
//! `ADDR/LEN` (network and broadcast addresses excluded), with `#` or `?`.
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
//! * `TIMEOUT` (time, default 2 h), `GUARANTEE` (5 s).
//! * `MAPPING_CAPACITY` (integer): most mappings; a new flow beyond it
//!   evicts the earliest-expiring flow past its guarantee, or is dropped.
//! * `REAP_INTERVAL` (time, default 15 min): how often expired mappings are
//!   removed.
//! * `REPLY_ANNO` (annotation offset): byte annotation of a flow's first
//!   packet copied onto its replies.
//!
//! # Handlers
//! * `table` (read): mappings: `SADDR => NEWSADDR [*FOUT ROUT] iINPUT expSECONDS`
//!   (reply lines print `0.0.0.0 => 0.0.0.0`, as Click does).
//! * `table_size`, `size` (read): live mappings.
//! * `mapping_failures` (read): flows dropped for want of a port or room.
//! * `patterns` (read): each input's spec, with its live mapping count.
//! * `capacity` (read/write): MAPPING_CAPACITY.
//! * `clear` (write): removes every mapping.
//!
//! # Example
//! ```text
//! arw :: IPAddrRewriter(pattern 1.2.3.100-1.2.3.110# - 0 1, drop);
//! ```

use alloc::boxed::Box;

use super::rewriter::{rewriter_element, Kind, Rewriter};
use crate::element::ElementClass;

/// The `IPAddrRewriter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPAddrRewriter",
    ports: "1-/1-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| {
        Ok(Box::new(IpAddrRewriter(Rewriter::configure(
            Kind::Addr,
            args,
            cx,
        )?)))
    },
};

/// A `IPAddrRewriter` element.
pub struct IpAddrRewriter(pub Rewriter);

impl IpAddrRewriter {
    /// The rewriter inside (table, counters, state).
    pub fn rewriter(&mut self) -> &mut Rewriter {
        &mut self.0
    }
}

rewriter_element!(IpAddrRewriter);

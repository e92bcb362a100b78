//! `TCPRewriter(INPUTSPEC1, ..., INPUTSPECn [, KEYWORDS])`: rewrites TCP flows' addresses and ports.
//!
//! # Ports
//! One input per INPUTSPEC, one or more outputs; push.
//!
//! # Processing
//! Like IPRewriter for TCP only (sequence-number translation, used by
//! Click's FTPPortMapper, is not implemented, so FTPPortMapper rewrites
//! PORT commands in their own length): other packets are dropped
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
//! * `TCP_TIMEOUT` / `TIMEOUT` (24 h), `TCP_DONE_TIMEOUT` (240 s),
//!   `TCP_NODATA_TIMEOUT` (300 s), `TCP_GUARANTEE` (5 s), `DST_ANNO` (true),
//!   as for IPRewriter.
//! * `MAPPING_CAPACITY` (integer): most mappings; a new flow beyond it
//!   evicts the earliest-expiring flow past its guarantee, or is dropped.
//! * `REAP_INTERVAL` (time, default 15 min): how often expired mappings are
//!   removed.
//! * `REPLY_ANNO` (annotation offset): byte annotation of a flow's first
//!   packet copied onto its replies.
//!
//! # Handlers
//! * `table` (read): mappings, one line per direction.
//! * `lookup` (read/write): write `SADDR SPORT DADDR DPORT`, then read the
//!   rewritten flow.
//! * `table_size`, `size` (read): live mappings.
//! * `mapping_failures` (read): flows dropped for want of a port or room.
//! * `patterns` (read): each input's spec, with its live mapping count.
//! * `capacity` (read/write): MAPPING_CAPACITY.
//! * `clear` (write): removes every mapping.
//!
//! # Example
//! ```text
//! rw :: TCPRewriter(pattern 1.2.3.4 1024-65535 - - 0 1, drop);
//! ```

use alloc::boxed::Box;

use super::rewriter::{rewriter_element, Kind, Rewriter};
use crate::element::ElementClass;

/// The `TCPRewriter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "TCPRewriter",
    ports: "1-/1-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| {
        Ok(Box::new(TcpRewriter(Rewriter::configure(
            Kind::Tcp,
            args,
            cx,
        )?)))
    },
};

/// A `TCPRewriter` element.
pub struct TcpRewriter(pub Rewriter);

impl TcpRewriter {
    /// The rewriter inside (table, counters, state).
    pub fn rewriter(&mut self) -> &mut Rewriter {
        &mut self.0
    }
}

rewriter_element!(TcpRewriter);

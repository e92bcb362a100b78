//! `IPRewriter(INPUTSPEC1, ..., INPUTSPECn [, KEYWORDS])`: rewrites TCP and UDP flows' addresses and ports (NAPT).
//!
//! # Ports
//! One input per INPUTSPEC, one or more outputs; push.
//!
//! # Processing
//! A packet is looked up by its flow (TCP and UDP tables are separate); a
//! hit is rewritten whatever input it came from. A miss goes to its
//! input's spec. Addresses and ports are rewritten with incremental
//! checksum updates (TCP when the transport header has at least 18 bytes,
//! UDP unless its checksum is zero). Other protocols, later fragments and
//! short transport headers are dropped unless the spec is `pass`, except
//! ICMP errors quoting a mapped flow: their quoted headers (and the outer
//! destination) are translated back and they leave by that direction's
//! output (Click needs a separate ICMPRewriter for this). In a direction
//! that rewrites sources the error also takes the new source, whether the
//! host or a router next to it sent it, so inside addresses never leak.
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
//! * `TCP_TIMEOUT` (time, default 24 h; also `TIMEOUT`): TCP flows with data
//!   both ways.
//! * `TCP_DONE_TIMEOUT` (240 s): after FIN both ways or RST.
//! * `TCP_NODATA_TIMEOUT` (300 s): TCP flows without data both ways.
//! * `TCP_GUARANTEE` (5 s): a TCP mapping cannot be evicted this long after
//!   its last packet.
//! * `UDP_TIMEOUT` (300 s), `UDP_STREAMING_TIMEOUT` (= UDP_TIMEOUT; flows of
//!   three or more packets with a reply), `UDP_GUARANTEE` (5 s).
//! * `DST_ANNO` (bool, default true): set the destination address
//!   annotation to the new destination.
//! * `MAPPING_CAPACITY` (integer): most mappings; a new flow beyond it
//!   evicts the earliest-expiring flow past its guarantee, or is dropped.
//! * `REAP_INTERVAL` (time, default 15 min): how often expired mappings are
//!   removed.
//! * `REPLY_ANNO` (annotation offset): byte annotation of a flow's first
//!   packet copied onto its replies.
//!
//! # Handlers
//! * `tcp_table`, `udp_table` (read): mappings, one line per direction:
//!   `(SA, SP, DA, DP) => (SA', SP', DA', DP') [*FOUT ROUT] iINPUT expSECONDS`.
//! * `tcp_lookup` (read/write): write `SADDR SPORT DADDR DPORT`, then read
//!   the rewritten flow (empty when unmapped).
//! * `table_size`, `size` (read): live mappings.
//! * `mapping_failures` (read): flows dropped for want of a port or room.
//! * `patterns` (read): each input's spec, with its live mapping count.
//! * `capacity` (read/write): MAPPING_CAPACITY.
//! * `clear` (write): removes every mapping.
//!
//! # Example
//! ```text
//! rw :: IPRewriter(pattern 1.2.3.4 10000-10999# - - 0 1, drop);
//! inside -> [0]rw; outside -> [1]rw;
//! rw[0] -> to_outside; rw[1] -> to_inside;
//! ```

use alloc::boxed::Box;

use super::rewriter::{rewriter_element, Kind, Rewriter};
use crate::element::ElementClass;

/// The `IPRewriter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPRewriter",
    ports: "1-/1-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| {
        Ok(Box::new(IpRewriter(Rewriter::configure(
            Kind::Ip,
            args,
            cx,
        )?)))
    },
};

/// A `IPRewriter` element.
pub struct IpRewriter(pub Rewriter);

impl IpRewriter {
    /// The rewriter inside (table, counters, state).
    pub fn rewriter(&mut self) -> &mut Rewriter {
        &mut self.0
    }
}

rewriter_element!(IpRewriter);

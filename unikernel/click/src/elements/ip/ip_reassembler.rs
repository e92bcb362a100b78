//! `IPReassembler([KEYWORDS])`: reassembles IP fragments in bounded memory.
//!
//! # Ports
//! One input, one output. Push.
//!
//! # Processing
//! Reads the IP header at the IP header annotation (or the start of the
//! packet when it is unset). Unfragmented packets pass unchanged.
//! Fragments are buffered per (source, destination, ID, protocol); when
//! every byte from offset 0 to the end of the last fragment is present,
//! one packet leaves: the first fragment's header (with its options), the
//! joined data, the fragment field cleared but for DF, the length and
//! checksum set, and the last fragment's annotations. A fragment that is
//! malformed (bad header, a non-final fragment whose data is not a
//! multiple of 8 bytes, a datagram past 65535 bytes, an end that disagrees
//! with the last fragment's) or that overlaps data already held is
//! dropped and counted in `drops`. Buffered bytes (header plus data space
//! of each datagram) never exceed `MAX_MEMORY`: the oldest datagrams are
//! dropped to make room. A datagram not completed within `TIMEOUT` of its
//! first fragment is dropped; both count in `expired`.
//!
//! # Keywords
//! * `MAX_MEMORY` (integer, kilobytes, default 256): the buffer bound.
//! * `TIMEOUT` (time, default 30s): how long a datagram may wait.
//!
//! # Handlers
//! * `drops` (read): malformed and overlapping fragments dropped.
//! * `expired` (read): incomplete datagrams dropped (memory or time).
//! * `memory` (read): bytes buffered now.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> IPReassembler -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::confparse::{Args, Duration};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::ip;
use crate::packet::Packet;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The don't-fragment flag.
const DF: u16 = 0x4000;
/// The largest IP datagram.
const MAX_DATAGRAM: usize = 65535;
/// What a datagram discarded for an overlap is charged while its key is
/// remembered, so a flood of them is bounded like buffered data.
const POISONED_COST: usize = 64;

/// The `IPReassembler` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPReassembler",
    ports: "1/1",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        Ok(Box::new(IpReassembler {
            r: Reassembly::from_args(args, false)?,
        }))
    },
};

/// A datagram's identity: IPv4 source, destination, ID and protocol, or
/// IPv6 source, destination and identification; zero-padded.
pub(crate) type Key = [u8; 36];

/// One datagram being put together.
pub(crate) struct Datagram {
    key: Key,
    first_seen: Timestamp,
    /// The first fragment's header (the part every fragment repeats), once
    /// it came.
    pub(crate) header: Option<Vec<u8>>,
    /// Data bytes, by offset; only `have` ranges are meaningful.
    pub(crate) data: Vec<u8>,
    /// Sorted, merged byte ranges present.
    have: Vec<(usize, usize)>,
    /// The data length, once the last fragment came.
    end: Option<usize>,
    /// An overlap discarded it (RFC 5722): its fragments are dropped
    /// until it expires.
    poisoned: bool,
}

impl Datagram {
    /// Bytes charged against `MAX_MEMORY`.
    fn cost(&self) -> usize {
        if self.poisoned {
            return POISONED_COST;
        }
        self.data.len() + self.header.as_ref().map_or(0, Vec::len)
    }

    fn complete(&self) -> bool {
        self.header.is_some() && self.end.is_some_and(|e| self.have == [(0, e)])
    }
}

/// A fragment's fields, checked.
pub(crate) struct Frag<'a> {
    /// Its datagram.
    pub(crate) key: Key,
    /// The header every fragment repeats, kept from the first fragment.
    pub(crate) header: &'a [u8],
    /// A byte of the kept header to change: (offset, value).
    pub(crate) fixup: Option<(usize, u8)>,
    /// Its data.
    pub(crate) data: &'a [u8],
    /// Where its data starts in the datagram's.
    pub(crate) start: usize,
    /// More fragments follow.
    pub(crate) more: bool,
}

impl Frag<'_> {
    fn end(&self) -> usize {
        self.start + self.data.len()
    }
}

/// What became of a fragment.
pub(crate) enum Taken {
    /// Bad or overlapping: dropped and counted.
    Dropped,
    /// Kept, its datagram incomplete.
    Held,
    /// It completed this datagram.
    Complete(Datagram),
}

/// Fragments of datagrams being reassembled, in bounded memory, for
/// IPReassembler and IP6Reassembler.
pub(crate) struct Reassembly {
    max_memory: usize,
    timeout: Timestamp,
    pending: Vec<Datagram>,
    memory: usize,
    timer_at: Option<Timestamp>,
    drops: u64,
    expired: u64,
    /// An overlap discards its whole datagram (RFC 5722), not only the
    /// fragment.
    discard_on_overlap: bool,
}

impl Reassembly {
    /// The `MAX_MEMORY` and `TIMEOUT` keywords.
    pub(crate) fn from_args(
        args: &mut Args,
        discard_on_overlap: bool,
    ) -> Result<Reassembly, ConfigError> {
        let kb = args.keyword_or::<usize>("MAX_MEMORY", 256)?;
        let timeout = args.keyword_or("TIMEOUT", Duration(Timestamp::new(30, 0)))?;
        if kb == 0 || timeout.0 .0 <= 0 {
            return Err(ConfigError::out_of_range(
                "MAX_MEMORY and TIMEOUT must be positive".to_string(),
            ));
        }
        Ok(Reassembly {
            max_memory: kb.saturating_mul(1024),
            timeout: timeout.0,
            pending: Vec::new(),
            memory: 0,
            timer_at: None,
            drops: 0,
            expired: 0,
            discard_on_overlap,
        })
    }

    /// Counts a malformed fragment.
    pub(crate) fn malformed(&mut self) {
        self.drops += 1;
    }

    /// One packet through an element's single port: `parse` reads the
    /// network header at `off` (an unfragmented packet passes on, a bad
    /// one is counted and dropped), and `build` makes the datagram a
    /// fragment completed.
    pub(crate) fn push(
        &mut self,
        cx: &Ctx,
        p: Packet,
        off: Option<usize>,
        parse: for<'a> fn(&'a [u8]) -> Result<Option<Frag<'a>>, ()>,
        build: fn(&Datagram, &Packet) -> Packet,
    ) {
        let h = off.and_then(|o| p.data().get(o..)).unwrap_or(&[]);
        match parse(h) {
            Ok(None) => cx.push(0, p),
            Err(()) => {
                self.malformed();
                cx.kill(p);
            }
            Ok(Some(f)) => match self.take(cx, &f) {
                Taken::Complete(d) => {
                    let q = build(&d, &p);
                    cx.kill(p);
                    cx.push(0, q);
                }
                Taken::Held | Taken::Dropped => cx.kill(p),
            },
        }
    }

    /// Drops datagram `i`, counting it.
    fn evict(&mut self, i: usize) {
        let d = self.pending.remove(i);
        self.memory -= d.cost();
        if !d.poisoned {
            self.expired += 1;
        }
    }

    /// Drops datagrams older than the timeout.
    fn reap(&mut self, now: Timestamp) {
        let mut i = 0;
        while i < self.pending.len() {
            if now.0 - self.pending[i].first_seen.0 >= self.timeout.0 {
                self.evict(i);
            } else {
                i += 1;
            }
        }
    }

    fn arm(&mut self, cx: &Ctx) {
        let Some(oldest) = self.pending.iter().map(|d| d.first_seen).min() else {
            return;
        };
        let when = Timestamp(oldest.0 + self.timeout.0);
        if self.timer_at.is_none_or(|t| t > when) {
            self.timer_at = Some(when);
            cx.set_timer(0, when);
        }
    }

    /// Adds fragment `f`; `Err(())` when it is bad. Returns the index of
    /// its datagram.
    fn add(&mut self, f: &Frag, now: Timestamp) -> Result<usize, ()> {
        let i = match self.pending.iter().position(|d| d.key == f.key) {
            Some(i) => i,
            None => {
                self.pending.push(Datagram {
                    key: f.key,
                    first_seen: now,
                    header: None,
                    data: Vec::new(),
                    have: Vec::new(),
                    end: None,
                    poisoned: false,
                });
                self.pending.len() - 1
            }
        };
        let d = &mut self.pending[i];
        if d.poisoned {
            return Err(());
        }
        let f_end = f.end();
        let last_end = d.have.last().map_or(0, |r| r.1);
        let consistent = match (d.end, f.more) {
            (Some(e), true) => f_end <= e,
            (Some(e), false) => f_end == e,
            (None, true) => true,
            (None, false) => last_end <= f_end,
        };
        let overlaps = d.have.iter().any(|&(s, e)| f.start < e && s < f_end);
        if overlaps && self.discard_on_overlap {
            let old = d.cost();
            *d = Datagram {
                key: d.key,
                first_seen: d.first_seen,
                header: None,
                data: Vec::new(),
                have: Vec::new(),
                end: None,
                poisoned: true,
            };
            self.memory = self.memory - old + d.cost();
            return Err(());
        }
        if !consistent || overlaps {
            if d.have.is_empty() {
                self.pending.remove(i);
            }
            return Err(());
        }
        let old = d.cost();
        if f.start == 0 {
            let mut h = f.header.to_vec();
            if let Some((at, v)) = f.fixup {
                h[at] = v;
            }
            d.header = Some(h);
        }
        if !f.more {
            d.end = Some(f_end);
        }
        if d.data.len() < f_end {
            d.data.resize(f_end, 0);
        }
        d.data[f.start..f_end].copy_from_slice(f.data);
        let pos = d.have.partition_point(|r| r.0 < f.start);
        d.have.insert(pos, (f.start, f_end));
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(d.have.len());
        for &(s, e) in &d.have {
            match merged.last_mut() {
                Some(last) if last.1 == s => last.1 = e,
                _ => merged.push((s, e)),
            }
        }
        d.have = merged;
        self.memory = self.memory - old + d.cost();
        Ok(i)
    }

    /// Takes fragment `f`: holds it, completes its datagram with it, or
    /// drops it.
    pub(crate) fn take(&mut self, cx: &Ctx, f: &Frag) -> Taken {
        let now = cx.now();
        // The timer reaps too; this catches up when the driver is behind.
        if self.timer_at.is_some_and(|t| now >= t) {
            self.reap(now);
        }
        let Ok(i) = self.add(f, now) else {
            self.drops += 1;
            self.arm(cx);
            return Taken::Dropped;
        };
        if self.pending[i].complete() {
            let d = self.pending.remove(i);
            self.memory -= d.cost();
            return Taken::Complete(d);
        }
        // Make room, oldest first; this datagram last.
        while self.memory > self.max_memory {
            let j = (0..self.pending.len())
                .filter(|&j| self.pending[j].key != f.key)
                .min_by_key(|&j| self.pending[j].first_seen)
                .or_else(|| self.pending.iter().position(|d| d.key == f.key));
            match j {
                Some(j) => self.evict(j),
                None => break,
            }
        }
        self.arm(cx);
        Taken::Held
    }

    /// The timer: drops expired datagrams.
    pub(crate) fn run_timer(&mut self, cx: &Ctx) {
        self.timer_at = None;
        self.reap(cx.now());
        self.arm(cx);
    }

    /// The handlers both elements have.
    pub(crate) const HANDLERS: &'static [HandlerDecl] = &[
        HandlerDecl::read("drops"),
        HandlerDecl::read("expired"),
        HandlerDecl::read("memory"),
    ];

    /// Reads one of [`Reassembly::HANDLERS`].
    pub(crate) fn read(&self, name: &str) -> String {
        match name {
            "drops" => self.drops.to_string(),
            "expired" => self.expired.to_string(),
            _ => self.memory.to_string(),
        }
    }
}

/// Reassembles IPv4 fragments.
pub struct IpReassembler {
    r: Reassembly,
}

/// Parses the fragment at `h`: `Ok(None)` for an unfragmented packet,
/// `Err(())` for a malformed one.
fn parse(h: &[u8]) -> Result<Option<Frag<'_>>, ()> {
    if h.len() < ip::MIN_HEADER_LEN || h[0] >> 4 != 4 {
        return Err(());
    }
    let hlen = ((h[0] & 0x0F) as usize) << 2;
    let total = ip::get16(h, 2) as usize;
    if hlen < ip::MIN_HEADER_LEN || total < hlen || total > h.len() {
        return Err(());
    }
    let ff = ip::get16(h, 6);
    let more = ff & ip::MF != 0;
    let start = ((ff & ip::OFFMASK) as usize) * 8;
    if !more && start == 0 {
        return Ok(None);
    }
    let end = start + (total - hlen);
    if end == start || (more && !(end - start).is_multiple_of(8)) || hlen + end > MAX_DATAGRAM {
        return Err(());
    }
    let mut key = [0u8; 36];
    key[..8].copy_from_slice(&h[ip::SRC_OFF..ip::SRC_OFF + 8]);
    key[8..10].copy_from_slice(&h[4..6]);
    key[10] = h[9];
    Ok(Some(Frag {
        key,
        header: &h[..hlen],
        fixup: None,
        data: &h[hlen..total],
        start,
        more,
    }))
}

/// The whole datagram `d`, with `last`'s annotations.
fn build(d: &Datagram, last: &Packet) -> Packet {
    let hdr = d.header.as_deref().unwrap_or(&[]);
    let len = hdr.len() + d.data.len();
    let mut q = super::ip_fragmenter::packet_like(last, len);
    let b = q.data_mut();
    b[..hdr.len()].copy_from_slice(hdr);
    b[hdr.len()..].copy_from_slice(&d.data);
    ip::put16(b, 2, len as u16);
    let ff = ip::get16(b, 6) & DF;
    ip::put16(b, 6, ff);
    ip::set_checksum(b, hdr.len());
    q.set_ip_header(0, hdr.len());
    q
}

impl Element for IpReassembler {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let off = super::ip_fragmenter::ip_offset(&p);
        self.r.push(cx, p, off, parse, build);
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        self.r.run_timer(cx);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        Reassembly::HANDLERS
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        self.r.read(name)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::{checksum, ip};
    use crate::packet::Packet;
    use crate::router::Router;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    fn setup(args: &str) -> Router {
        let src = alloc::format!("Idle -> r :: IPReassembler({args}) -> s :: TestSink;");
        router_from_source(&src).0
    }

    fn whole(n: usize, id: u16) -> Vec<u8> {
        let data: Vec<u8> = (0..n).map(|i| (i * 13 + 1) as u8).collect();
        let mut b = ip::build([10, 0, 0, 1], [10, 0, 0, 2], 17, 64, &data);
        ip::put16(&mut b, 4, id);
        ip::set_checksum(&mut b, 20);
        b
    }

    /// Fragment of `w` covering data `start..end`.
    fn frag(w: &[u8], start: usize, end: usize, more: bool) -> Packet {
        let mut b = w[..20].to_vec();
        b.extend_from_slice(&w[20 + start..20 + end]);
        let n = b.len() as u16;
        ip::put16(&mut b, 2, n);
        ip::put16(
            &mut b,
            6,
            (start / 8) as u16 | if more { ip::MF } else { 0 },
        );
        ip::set_checksum(&mut b, 20);
        Packet::from_slice(&b)
    }

    #[test]
    fn reassembles_in_any_order() {
        let r = setup("");
        let e = r.find("r").unwrap();
        let w = whole(100, 7);
        let v = whole(50, 8);
        r.inject(e, 0, Packet::from_slice(&v[..]));
        r.inject(e, 0, frag(&w, 80, 100, false));
        r.inject(e, 0, frag(&w, 0, 40, true));
        assert_ne!(r.read("r.memory").unwrap(), "0");
        r.inject(e, 0, frag(&w, 40, 80, true));
        let got = sink_contents(&r, "s");
        assert_eq!(got, [(0, v), (0, w.clone())]);
        assert_eq!(checksum::checksum(&got[1].1[..20]), 0);
        assert_eq!(r.read("r.memory").unwrap(), "0");
        // Two interleaved datagrams with the same ID but other protocols.
        let mut t = w.clone();
        t[9] = 6;
        ip::set_checksum(&mut t, 20);
        r.inject(e, 0, frag(&t, 0, 48, true));
        r.inject(e, 0, frag(&w, 0, 48, true));
        r.inject(e, 0, frag(&t, 48, 100, false));
        r.inject(e, 0, frag(&w, 48, 100, false));
        let got = sink_contents(&r, "s");
        assert_eq!(got[2..], [(0, t), (0, w)]);
    }

    #[test]
    fn malformed_and_overlapping_fragments_are_dropped() {
        let r = setup("");
        let e = r.find("r").unwrap();
        let w = whole(100, 9);
        r.inject(e, 0, frag(&w, 0, 40, true));
        r.inject(e, 0, frag(&w, 32, 48, true)); // overlap
        r.inject(e, 0, frag(&w, 0, 40, true)); // duplicate
        r.inject(e, 0, frag(&w, 40, 45, true)); // not a multiple of 8
        r.inject(e, 0, frag(&w, 40, 40, true)); // empty
        r.inject(e, 0, frag(&w, 80, 90, false));
        r.inject(e, 0, frag(&w, 88, 96, true)); // past the end
        r.inject(e, 0, frag(&w, 40, 80, true));
        r.inject(e, 0, Packet::from_slice(&[0x45, 0, 0xff]));
        let mut far = frag(&w, 0, 40, true).data().to_vec();
        ip::put16(&mut far, 6, ip::OFFMASK);
        r.inject(e, 0, Packet::from_slice(&far)); // past 65535
        assert_eq!(r.read("r.drops").unwrap(), "7");
        // The datagram ended at 90; it completes without the bad pieces.
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.len(), 110);
        assert_eq!(&got[0].1[20..], &w[20..110]);
    }

    #[test]
    fn memory_is_bounded_and_datagrams_expire() {
        let r = setup("MAX_MEMORY 1, TIMEOUT 5s");
        let e = r.find("r").unwrap();
        for id in 0..40u16 {
            let w = whole(600, id);
            r.inject(e, 0, frag(&w, 0, 96, true));
            let mem: usize = r.read("r.memory").unwrap().parse().unwrap();
            assert!(mem <= 1024, "{mem}");
        }
        assert!(r.read("r.expired").unwrap().parse::<u64>().unwrap() >= 30);
        // A tiny fragment far out would need more than the bound: dropped.
        let w = whole(8, 99);
        let mut b = frag(&w, 0, 8, true).data().to_vec();
        ip::put16(&mut b, 6, 1000);
        r.inject(e, 0, Packet::from_slice(&b));
        assert!(r.read("r.memory").unwrap().parse::<usize>().unwrap() <= 1024);
        // With nothing else arriving, the timer frees everything.
        r.run_until_idle();
        assert_eq!(r.read("r.memory").unwrap(), "0");
        assert!(sink_contents(&r, "s").is_empty());
        for bad in ["MAX_MEMORY 0", "TIMEOUT 0", "TIMEOUT x"] {
            let src = alloc::format!("Idle -> IPReassembler({bad}) -> Idle;");
            assert!(build_from_source(&src).is_err(), "{bad}");
        }
    }
}

//! `CheckIPHeader([OFFSET, KEYWORDS])`: checks IPv4 headers, sets the IP
//! header and destination annotations, trims link-level padding.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! The IP header starts `OFFSET` bytes into the packet. A packet is bad,
//! checked in this order, if it has fewer than 20 bytes there ("tiny
//! packet"), version is not 4 ("bad IP version"), IHL is below 5 ("bad IP
//! header length"), the total length exceeds the bytes present or is below
//! the header length ("bad IP length"), the header checksum is wrong ("bad
//! IP checksum", unless `CHECKSUM false`), or the source is a bad address
//! and the destination is not one of ours ("bad source address"). Bad
//! packets leave on output 1, or are dropped if output 1 is not connected;
//! the first one (every one with `VERBOSE`) is reported on the console.
//!
//! A good packet gets its IP header annotation (and transport header just
//! after it) and its destination IP annotation set, is shortened to the IP
//! total length (dropping Ethernet padding), and leaves on output 0.
//!
//! The old syntax `CheckIPHeader(BADSRC2 [, OFFSET])` is accepted: a
//! space-separated address list like `BADSRC` plus 0.0.0.0 and
//! 255.255.255.255.
//!
//! # Keywords
//! * `OFFSET` (integer, default 0): where the IP header starts.
//! * `INTERFACES` (space-separated `ADDR/LEN` list): this router's
//!   interfaces; bad sources are their broadcast addresses, 0.0.0.0 and
//!   255.255.255.255, and the interface addresses are the good
//!   destinations.
//! * `BADSRC` (space-separated addresses): bad source addresses.
//! * `GOODDST` (space-separated addresses): destinations exempt from the
//!   source check.
//! * `CHECKSUM` (bool, default true): verify the header checksum.
//! * `VERBOSE` (bool, default false): report every bad packet.
//! * `DETAILS` (bool, default false): count drops per reason.
//!
//! # Handlers
//! * `drops` (read): bad packets seen.
//! * `drop_details` (read, only with `DETAILS true`): one line per reason,
//!   `COUNT<TAB>REASON`, in the order above.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14)
//!   -> c :: CheckIPHeader(INTERFACES 10.0.0.254/24, DETAILS true) -> Discard;
//! c[1] -> Discard;
//! ```

use crate::error::{ConfigError, ErrorKind};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::batch::Batch;
use crate::confparse::{split_words, Args, Ipv4, Ipv4Prefix};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::net::ip::{self, HeaderError};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `CheckIPHeader` class.
pub static CLASS: ElementClass = ElementClass {
    name: "CheckIPHeader",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| Ok(Box::new(CheckIpHeader::configure(args, true)?)),
};

/// Click's reason texts, indexed by [`Reason`].
pub const REASONS: [&str; 6] = [
    "tiny packet",
    "bad IP version",
    "bad IP header length",
    "bad IP length",
    "bad IP checksum",
    "bad source address",
];

/// Why a packet was rejected (index into [`REASONS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Fewer than 20 bytes.
    Tiny = 0,
    /// Version not 4.
    Version = 1,
    /// IHL below 5.
    HeaderLen = 2,
    /// Total length out of range.
    Length = 3,
    /// Bad checksum.
    Checksum = 4,
    /// Bad source address.
    BadSource = 5,
}

impl From<HeaderError> for Reason {
    fn from(e: HeaderError) -> Self {
        match e {
            HeaderError::Tiny => Reason::Tiny,
            HeaderError::Version => Reason::Version,
            HeaderError::HeaderLen => Reason::HeaderLen,
            HeaderError::Length => Reason::Length,
            HeaderError::Checksum => Reason::Checksum,
        }
    }
}

fn addr_list(key: &str, v: &str) -> Result<Vec<[u8; 4]>, ConfigError> {
    split_words(v)
        .iter()
        .map(|w| {
            Ipv4::parse(w)
                .map(|a| a.0)
                .ok_or_else(|| ConfigError::bad_value(key, "a list of IP addresses", w))
        })
        .collect()
}

/// Checks IPv4 headers (also the engine of `CheckIPHeader2`).
pub struct CheckIpHeader {
    offset: usize,
    checksum: bool,
    verbose: bool,
    bad_src: Vec<[u8; 4]>,
    good_dst: Vec<[u8; 4]>,
    drops: u64,
    /// Per-reason counts, when `DETAILS` is on.
    details: Option<[u64; 6]>,
}

impl CheckIpHeader {
    /// Reads the arguments; `checksum` is the `CHECKSUM` default.
    pub fn configure(args: &mut Args, checksum: bool) -> Result<CheckIpHeader, ConfigError> {
        let mut bad_src = Vec::new();
        let mut good_dst = Vec::new();
        if let Some(v) = args.keyword::<String>("INTERFACES")? {
            for w in split_words(&v) {
                let p = Ipv4Prefix::parse(&w).ok_or_else(|| {
                    ConfigError::bad_value("INTERFACES", "a list of IP prefixes", &w)
                })?;
                bad_src.push(p.broadcast().0);
                good_dst.push(p.addr.0);
            }
            bad_src.push([0; 4]);
            bad_src.push([255; 4]);
        }
        if let Some(v) = args.keyword::<String>("BADSRC")? {
            bad_src = addr_list("BADSRC", &v)?;
        }
        if let Some(v) = args.keyword::<String>("GOODDST")? {
            good_dst = addr_list("GOODDST", &v)?;
        }
        let checksum = args.keyword_or("CHECKSUM", checksum)?;
        let verbose = args.keyword_or("VERBOSE", false)?;
        let details = args.keyword_or("DETAILS", false)?;
        let mut offset = args.keyword::<usize>("OFFSET")?;
        let pos = args.rest_positional();
        let parse_offset = |s: &str| {
            crate::confparse::values::parse_u64(s)
                .map(|v| v as usize)
                .ok_or_else(|| ConfigError::bad_value("OFFSET", "an unsigned integer", s))
        };
        match pos.as_slice() {
            [] => {}
            [o] if crate::confparse::values::parse_u64(o).is_some() => {
                offset = Some(parse_offset(o)?)
            }
            [bad, rest @ ..] if rest.len() <= 1 => {
                bad_src = addr_list("BADSRC2", bad)?;
                bad_src.push([0; 4]);
                bad_src.push([255; 4]);
                if let Some(o) = rest.first() {
                    offset = Some(parse_offset(o)?);
                }
            }
            _ => {
                let e = format!("too many arguments (unexpected '{}')", pos[2]);
                return Err(ConfigError::new(ErrorKind::TooMany, e));
            }
        }
        Ok(CheckIpHeader {
            offset: offset.unwrap_or(0),
            checksum,
            verbose,
            bad_src,
            good_dst,
            drops: 0,
            details: details.then_some([0; 6]),
        })
    }

    /// Checks `p` and, when it is good, annotates and trims it.
    #[inline(always)]
    fn check(&self, p: &mut Packet) -> Result<(), Reason> {
        let off = self.offset;
        let data = p.data().get(off..).ok_or(Reason::Tiny)?;
        let (hlen, len) = ip::check(data, self.checksum)?;
        let plen = data.len();
        // `ip::check` saw at least 20 bytes.
        let dst = [data[16], data[17], data[18], data[19]];
        if !self.bad_src.is_empty() {
            let src = [data[12], data[13], data[14], data[15]];
            if self.bad_src.contains(&src) && !self.good_dst.contains(&dst) {
                return Err(Reason::BadSource);
            }
        }
        p.set_ip_header(off, hlen);
        p.take(plen - len);
        p.set_dst_ip_anno(dst);
        Ok(())
    }

    fn note_drop(&mut self, cx: &Ctx, r: Reason) {
        if self.drops == 0 || self.verbose {
            cx.log(&format!("IP header check failed: {}", REASONS[r as usize]));
        }
        self.drops += 1;
        if let Some(d) = &mut self.details {
            d[r as usize] += 1;
        }
    }

    /// Click's `simple_action`: the good packet, or `None` after sending a
    /// bad one to output 1.
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        match self.check(&mut p) {
            Ok(()) => Some(p),
            Err(r) => {
                self.note_drop(cx, r);
                cx.push(1, p);
                None
            }
        }
    }
}

impl CheckIpHeader {
    /// The rest of [`Element::push_batch`] once packet `bad` (rejected for
    /// `why`) is found: the packets before it passed, those after it are
    /// still to check.
    #[cold]
    fn push_batch_mixed(&mut self, cx: &Ctx, mut b: Batch, bad: usize, why: Reason) {
        let mut rejected = Batch::default();
        let mut at = 0;
        b.retain(
            |p| {
                at += 1;
                match at - 1 {
                    k if k < bad => true,
                    k if k == bad => {
                        self.note_drop(cx, why);
                        false
                    }
                    _ => match self.check(p) {
                        Ok(()) => true,
                        Err(r) => {
                            self.note_drop(cx, r);
                            false
                        }
                    },
                }
            },
            |p| {
                if let Err(p) = rejected.push(p) {
                    cx.push(1, p);
                }
            },
        );
        if !rejected.is_empty() {
            cx.push_batch(1, rejected);
        }
        if !b.is_empty() {
            cx.push_batch(0, b);
        }
    }
}

impl Element for CheckIpHeader {
    simple_action!();

    fn push_batch(&mut self, cx: &Ctx, _port: usize, mut b: Batch) {
        // Usually every packet is good and the batch leaves whole.
        let mut first_bad = None;
        for (i, p) in b.iter_mut().enumerate() {
            if let Err(r) = self.check(p) {
                first_bad = Some((i, r));
                break;
            }
        }
        match first_bad {
            None => cx.push_batch(0, b),
            Some((i, r)) => self.push_batch_mixed(cx, b, i, r),
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const PLAIN: &[HandlerDecl] = &[HandlerDecl::read("drops")];
        const DETAILED: &[HandlerDecl] = &[
            HandlerDecl::read("drops"),
            HandlerDecl::read("drop_details"),
        ];
        if self.details.is_some() {
            DETAILED
        } else {
            PLAIN
        }
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match (name, &self.details) {
            ("drop_details", Some(d)) => {
                let mut s = String::new();
                for (n, text) in d.iter().zip(REASONS) {
                    s.push_str(&format!("{n}\t{text}\n"));
                }
                s
            }
            _ => self.drops.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::ip::build;
    use crate::packet::Packet;
    use crate::testing::{build as build_router, flat, router, sink_contents};

    fn setup(class: &str, cfg: &str, bad_port: bool) -> crate::router::Router {
        let mut conns = alloc::vec![(0, 0, 1, 0), (3, 0, 0, 0)];
        // The "bad" sink is fed by Idle when output 1 stays unconnected.
        conns.push(if bad_port { (0, 1, 2, 0) } else { (3, 1, 2, 0) });
        let (r, _) = router(flat(
            &[
                ("c", class, cfg),
                ("ok", "TestSink", ""),
                ("bad", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &conns,
        ));
        r
    }

    fn good() -> Vec<u8> {
        build([10, 0, 0, 1], [10, 0, 0, 254], 17, 64, &[0; 8])
    }

    /// One packet per drop reason, in Click's order, plus a good one.
    fn broken() -> Vec<Vec<u8>> {
        let g = good();
        let mut version = g.clone();
        version[0] = 0x65;
        let mut hl = g.clone();
        hl[0] = 0x44;
        let mut long = g.clone();
        long[3] = 100;
        let mut short = g.clone();
        short[3] = 19;
        let mut sum = g.clone();
        sum[11] ^= 1;
        let badsrc = build([10, 0, 0, 255], [10, 0, 0, 7], 17, 64, &[0; 8]);
        alloc::vec![g[..19].to_vec(), version, hl, long, short, sum, badsrc]
    }

    #[test]
    fn every_drop_reason_and_details_text() {
        let r = setup(
            "CheckIPHeader",
            "INTERFACES 10.0.0.254/24 172.20.0.1/16, DETAILS true",
            true,
        );
        for b in broken() {
            r.inject(0, 0, Packet::from_slice(&b));
        }
        r.inject(0, 0, Packet::from_slice(&good()));
        assert_eq!(sink_contents(&r, "bad").len(), 7);
        assert_eq!(sink_contents(&r, "ok").len(), 1);
        assert_eq!(r.read("c.drops").unwrap(), "7");
        assert_eq!(
            r.read("c.drop_details").unwrap(),
            "1\ttiny packet\n1\tbad IP version\n1\tbad IP header length\n2\tbad IP length\n1\tbad IP checksum\n1\tbad source address\n"
        );
    }

    #[test]
    fn batches_match_one_by_one_pushes() {
        // Every mix of good and broken packets in a batch: same outputs,
        // order and counts as pushing them one by one.
        let cases = broken();
        for mask in 0u32..256 {
            let pkts: Vec<Vec<u8>> = (0..8)
                .map(|i| {
                    if mask & (1 << i) != 0 {
                        cases[i % cases.len()].clone()
                    } else {
                        build([10, 0, 0, i as u8], [10, 0, 0, 254], 17, 64, &[i as u8; 8])
                    }
                })
                .collect();
            let one = setup("CheckIPHeader", "INTERFACES 10.0.0.254/24", true);
            for d in &pkts {
                one.inject(0, 0, Packet::from_slice(d));
            }
            let batched = setup("CheckIPHeader", "INTERFACES 10.0.0.254/24", true);
            let mut b = crate::batch::Batch::new();
            for d in &pkts {
                b.push(Packet::from_slice(d)).unwrap();
            }
            batched.with_element(0, |e, cx| e.push_batch(cx, 0, b));
            for sink in ["ok", "bad"] {
                assert_eq!(
                    sink_contents(&one, sink),
                    sink_contents(&batched, sink),
                    "{mask:08b} {sink}"
                );
            }
            assert_eq!(one.read("c.drops"), batched.read("c.drops"));
        }
    }

    #[test]
    fn bad_sources_follow_interfaces_unless_for_us() {
        let r = setup(
            "CheckIPHeader",
            "INTERFACES 10.0.0.254/24 172.20.0.1/16",
            true,
        );
        let cases = [
            ([10, 0, 0, 255], [10, 0, 0, 7], false),
            ([172, 20, 255, 255], [10, 0, 0, 7], false),
            ([0, 0, 0, 0], [10, 0, 0, 7], false),
            ([255, 255, 255, 255], [1, 2, 3, 4], false),
            ([0, 0, 0, 0], [10, 0, 0, 254], true),
            ([255, 255, 255, 255], [172, 20, 0, 1], true),
            ([10, 0, 0, 254], [10, 0, 0, 7], true),
        ];
        for (src, dst, _) in cases {
            r.inject(0, 0, Packet::from_slice(&build(src, dst, 6, 9, &[])));
        }
        let oks: Vec<[u8; 4]> = sink_contents(&r, "ok")
            .iter()
            .map(|(_, b)| [b[12], b[13], b[14], b[15]])
            .collect();
        let want: Vec<[u8; 4]> = cases.iter().filter(|c| c.2).map(|c| c.0).collect();
        assert_eq!(oks, want);
        // No DETAILS: no drop_details handler.
        assert!(r.read("c.drop_details").is_err());
        assert_eq!(r.read("c.drops").unwrap(), "4");
    }

    #[test]
    fn trims_annotates_and_honours_offset() {
        let r = setup(
            "CheckIPHeader",
            "OFFSET 14, BADSRC 192.0.2.66 255.255.255.255, GOODDST 10.0.0.254, CHECKSUM false",
            true,
        );
        let mut frame = alloc::vec![0u8; 14];
        frame.extend(good());
        frame.extend([0xee; 10]); // Ethernet padding
        frame[14 + 11] ^= 0xff; // bad checksum, not checked
        r.inject(0, 0, Packet::from_slice(&frame));
        r.inject(0, 0, Packet::from_slice(&[0; 30]));
        r.with_element(1, |e, _| {
            let s = e.downcast_ref::<crate::testing::TestSink>().unwrap();
            let p = &s.got[0].1;
            assert_eq!(p.len(), 14 + 28);
            assert_eq!(p.network_header_offset(), Some(14));
            assert_eq!(p.transport_header_offset(), Some(34));
            assert_eq!(p.dst_ip_anno(), [10, 0, 0, 254]);
        });
        assert_eq!(sink_contents(&r, "bad").len(), 1);
    }

    #[test]
    fn checkipheader2_skips_checksum_and_unconnected_drops() {
        let r = setup("CheckIPHeader2", "DETAILS true", false);
        for b in broken() {
            r.inject(0, 0, Packet::from_slice(&b));
        }
        // The bad checksum and the bad source pass: no checksum check, no
        // address lists.
        assert_eq!(sink_contents(&r, "ok").len(), 2);
        assert_eq!(r.read("c.drops").unwrap(), "5");
        assert!(r
            .read("c.drop_details")
            .unwrap()
            .contains("0\tbad IP checksum\n"));
    }

    #[test]
    fn logs_first_error_only_and_old_syntax() {
        let (r, host) = router(flat(
            &[
                ("c", "CheckIPHeader", "10.0.0.255, 0"),
                ("ok", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (2, 0, 0, 0)],
        ));
        r.inject(0, 0, Packet::from_slice(&[1]));
        r.inject(0, 0, Packet::from_slice(&[2]));
        r.inject(
            0,
            0,
            Packet::from_slice(&build([0, 0, 0, 0], [1, 1, 1, 1], 6, 1, &[])),
        );
        assert_eq!(r.read("c.drops").unwrap(), "3");
        let logs = host.logs.borrow();
        assert_eq!(logs.len(), 1);
        assert!(
            logs[0].ends_with("IP header check failed: tiny packet"),
            "{}",
            logs[0]
        );
        for cfg in ["INTERFACES x", "BADSRC 1.2.3", "1, 2, 3", "OFFSET -1"] {
            assert!(
                build_router(flat(&[("c", "CheckIPHeader", cfg)], &[])).is_err(),
                "{cfg}"
            );
        }
    }
}

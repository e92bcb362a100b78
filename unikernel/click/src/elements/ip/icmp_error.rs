//! `ICMPError(SRC, TYPE [, CODE, BADADDRS, KEYWORDS])`: builds an ICMP
//! error message about each packet it receives.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Needs the IP header annotation. For each packet it makes a new IP/ICMP
//! packet from `SRC` to the packet's source: TOS 0, TTL 200, no fragment
//! flags, IP ID from one counter shared by every ICMPError in the process
//! (starting at 1), then `TYPE`/`CODE` and the original datagram (header
//! and as much payload as fits in `MTU` bytes). The new packet has its IP
//! header, destination IP (and, unless `SET_FIX_ANNO false`, fix-IP-source)
//! annotations set and the current time as timestamp; the original is
//! dropped.
//!
//! No error is made (the packet is just dropped) for ICMP errors, IP or
//! link-level broadcast and multicast destinations, `BADADDRS`, invalid
//! sources (0/8, 127/8, class E, broadcast, multicast), and fragments
//! other than the first. Parameter problems with code 0 take the pointer
//! from the packet's ICMP parameter-problem annotation, redirects the
//! gateway from its destination IP annotation, "needfrag" unreachables the
//! next-hop MTU from `PMTU`. A source route in the original is reversed
//! into the error (and redirects for source-routed packets are not sent).
//!
//! # Keywords
//! * `SRC` (IP address): the error's source.
//! * `TYPE` (ICMP error type, number or name: `unreachable`,
//!   `sourcequench`, `redirect`, `timeexceeded`, `parameterproblem`).
//! * `CODE` (number or name such as `port`, `needfrag`, `transit`; default 0).
//! * `BADADDRS` (space-separated addresses): never answer these.
//! * `MTU` (integer, default 576): largest error packet.
//! * `PMTU` (integer, default 0): next-hop MTU for "needfrag".
//! * `SET_FIX_ANNO` (bool, default true): set the fix-IP-source annotation.
//!
//! # Handlers
//! * `src` (read/write): the `SRC` address.
//! * `mtu`, `pmtu` (read/write): the `MTU` and `PMTU` settings.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> t :: DecIPTTL -> Discard;
//! t[1] -> ICMPError(10.0.0.254, timeexceeded)
//!   -> EtherEncap(0x0800, 02:00:00:00:00:fe, 02:00:00:00:00:01) -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::confparse::{parse_written, split_words, Ipv4, Word};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::net::{checksum, icmp, ip};
use crate::packet::{anno, Packet, PacketType};
use crate::router::Ctx;

/// Rejects an MTU too small for the headers and the 40 bytes of the
/// original an error carries.
fn check_mtu(mtu: usize) -> Result<usize, ConfigError> {
    if mtu < ip::MIN_HEADER_LEN + icmp::HEADER_LEN + 40 {
        return Err(ConfigError::out_of_range(format!("MTU {mtu} is too small")));
    }
    Ok(mtu)
}

/// The `ICMPError` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ICMPError",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let src: Ipv4 = args.required("SRC")?;
        let ty: Word = args.required("TYPE")?;
        let ty = icmp::parse_type(&ty.0)
            .ok_or_else(|| ConfigError::bad_value("TYPE", "an ICMP type", &ty.0))?;
        if !icmp::is_error_type(ty) {
            return Err(ConfigError::out_of_range(format!(
                "ICMP type {ty} is not an error type"
            )));
        }
        let code = match args.optional::<Word>("CODE")? {
            Some(c) => icmp::parse_code(ty, &c.0).ok_or_else(|| {
                let what = format!("an ICMP code (0-255 or a name for type {ty})");
                ConfigError::bad_value("CODE", &what, &c.0)
            })?,
            None => 0,
        };
        let bad_addrs = match args.optional::<String>("BADADDRS")? {
            Some(v) => split_words(&v)
                .iter()
                .map(|w| {
                    Ipv4::parse(w)
                        .map(|a| a.0)
                        .ok_or_else(|| ConfigError::bad_value("BADADDRS", "IP addresses", w))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let mtu = check_mtu(args.keyword_or("MTU", 576usize)?)?;
        let pmtu = args.keyword_or("PMTU", 0u16)?;
        let fix_anno = args.keyword_or("SET_FIX_ANNO", true)?;
        Ok(Box::new(IcmpError {
            src: src.0,
            ty,
            code,
            bad_addrs,
            mtu,
            pmtu,
            fix_anno,
        }))
    },
};

/// Click's function-static IP ID: one counter for every ICMPError in the
/// process, starting at 1.
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// IP options that matter here.
const IPOPT_EOL: u8 = 0;
const IPOPT_NOP: u8 = 1;
const IPOPT_LSRR: u8 = 131;
const IPOPT_SSRR: u8 = 137;

/// Makes ICMP errors.
pub struct IcmpError {
    src: [u8; 4],
    ty: u8,
    code: u8,
    bad_addrs: Vec<[u8; 4]>,
    mtu: usize,
    pmtu: u16,
    fix_anno: bool,
}

/// The offset of a usable source-route option in header `h` (`hlen`
/// bytes, all present), as Click's `valid_source_route`.
fn source_route(h: &[u8], hlen: usize) -> Option<usize> {
    let mut i = ip::MIN_HEADER_LEN;
    while i < hlen {
        match h[i] {
            IPOPT_NOP => i += 1,
            IPOPT_EOL => return None,
            t => {
                let xlen = *h.get(i + 1).filter(|_| i + 1 < hlen)? as usize;
                if xlen < 2 || i + xlen > hlen {
                    return None;
                }
                let ptr = if xlen >= 3 { h[i + 2] as usize } else { 0 };
                if (t == IPOPT_LSRR || t == IPOPT_SSRR)
                    && ptr >= 4
                    && ptr % 4 == 0
                    && ptr <= xlen + 1
                {
                    return Some(i);
                }
                i += xlen;
            }
        }
    }
    None
}

impl IcmpError {
    fn unicast(&self, a: [u8; 4]) -> bool {
        a != [255; 4] && !ip::is_multicast(a) && !self.bad_addrs.contains(&a)
    }

    fn valid_source(&self, a: [u8; 4]) -> bool {
        self.unicast(a) && a[0] != 0 && a[0] != 127 && a[0] & 0xF0 != 0xF0
    }

    /// The error message about `p`, if one should be sent.
    fn make(&self, cx: &Ctx, p: &Packet) -> Option<Packet> {
        let nh = p.network_header()?;
        let h = ip::Ipv4Header::new(nh)?;
        let hlen = h.header_len();
        if h.protocol() == ip::PROTO_ICMP {
            let t = p.transport_header().unwrap_or(&[]);
            if hlen + 4 > p.len() || t.first().is_none_or(|&ty| icmp::is_error_type(ty)) {
                return None;
            }
        }
        if !self.unicast(h.dst())
            || matches!(
                p.anno().packet_type,
                PacketType::Broadcast | PacketType::Multicast
            )
            || !self.valid_source(h.src())
            || !h.is_first_fragment()
        {
            return None;
        }
        // Options are only looked at when the whole header is present.
        let mut route = if hlen <= nh.len() {
            source_route(nh, hlen)
        } else {
            None
        };
        if route.is_some() {
            if self.ty == icmp::REDIRECT {
                return None;
            }
            let ptr = p.anno_u8(anno::ICMP_PARAMPROB).unwrap_or(0) as usize;
            if let Some(r) = route {
                if self.ty == icmp::PARAM_PROB
                    && self.code == icmp::PARAMPROB_ERRATPTR
                    && r <= ptr
                    && ptr < r + nh[r + 1] as usize
                {
                    route = None;
                }
            }
        }

        let mut q = cx.alloc(self.mtu)?;
        let b = q.data_mut();
        let nhl = match route {
            Some(r) => {
                let sr = &nh[r..];
                let olen = sr[2] as usize - 1;
                let nhl = (ip::MIN_HEADER_LEN + olen + 3) & !3;
                b[ip::MIN_HEADER_LEN..nhl].fill(0);
                let o = &mut b[ip::MIN_HEADER_LEN..];
                o[0] = sr[0];
                o[1] = olen as u8;
                o[2] = 4;
                o[olen] = IPOPT_EOL;
                // The recorded hops, last first.
                let mut at = 3;
                let mut from = sr[2] as isize - 5;
                while from >= 3 {
                    let f = from as usize;
                    o[at..at + 4].copy_from_slice(&sr[f..f + 4]);
                    at += 4;
                    from -= 4;
                }
                nhl
            }
            None => ip::MIN_HEADER_LEN,
        };
        b[0] = 0x40 | (nhl >> 2) as u8;
        b[1] = 0;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed) as u16;
        ip::put16(b, 4, id);
        ip::put16(b, 6, 0);
        b[ip::TTL_OFF] = 200;
        b[9] = ip::PROTO_ICMP;
        b[ip::SRC_OFF..ip::SRC_OFF + 4].copy_from_slice(&self.src);
        b[ip::DST_OFF..ip::DST_OFF + 4].copy_from_slice(&h.src());

        let t = &mut b[nhl..];
        t[0] = self.ty;
        t[1] = self.code;
        t[2..8].fill(0);
        if self.ty == icmp::PARAM_PROB && self.code == icmp::PARAMPROB_ERRATPTR {
            t[4] = p.anno_u8(anno::ICMP_PARAMPROB).unwrap_or(0);
        }
        if self.ty == icmp::REDIRECT {
            t[4..8].copy_from_slice(&p.dst_ip_anno());
        }
        if self.ty == icmp::UNREACH && self.code == icmp::UNREACH_NEEDFRAG {
            ip::put16(t, 6, self.pmtu);
        }
        let xlen = (t.len() - icmp::HEADER_LEN).min(nh.len());
        t[icmp::HEADER_LEN..icmp::HEADER_LEN + xlen].copy_from_slice(&nh[..xlen]);
        let csum = checksum::checksum(&t[..icmp::HEADER_LEN + xlen]);
        ip::put16(t, 2, csum);
        let total = nhl + icmp::HEADER_LEN + xlen;
        ip::put16(b, 2, total as u16);
        ip::set_checksum(b, nhl);

        q.set_len(total);
        q.set_ip_header(0, nhl);
        q.set_dst_ip_anno(h.src());
        if self.fix_anno {
            q.set_anno_u8(anno::FIX_IP_SRC, 1);
        }
        q.set_timestamp(cx.now());
        Some(q)
    }

    fn action(&self, cx: &Ctx, p: Packet) -> Option<Packet> {
        let q = self.make(cx, &p);
        cx.kill(p);
        q
    }
}

impl Element for IcmpError {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::rw("src"),
            HandlerDecl::rw("mtu"),
            HandlerDecl::rw("pmtu"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "src" => Ipv4(self.src).to_string(),
            "mtu" => self.mtu.to_string(),
            _ => self.pmtu.to_string(),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "src" => self.src = parse_written::<Ipv4>(value)?.0,
            "mtu" => self.mtu = check_mtu(parse_written(value)?)?,
            _ => self.pmtu = parse_written(value)?,
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use alloc::vec::Vec;

    use crate::net::{checksum, ip};
    use crate::packet::{anno, Packet, PacketType};
    use crate::router::Router;
    use crate::testing::{build, flat, router, sink_contents};

    /// Serializes tests that make ICMP errors, so the shared IP ID counter
    /// advances predictably inside each of them.
    pub(crate) static ID_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn setup(cfgs: &[&str]) -> Router {
        let mut els = Vec::new();
        let mut conns = Vec::new();
        let names = ["e0", "e1"];
        for (k, cfg) in cfgs.iter().enumerate() {
            els.push((names[k], "ICMPError", *cfg));
        }
        let n = cfgs.len();
        els.push(("s", "TestSink", ""));
        els.push(("i", "Idle", ""));
        for k in 0..n {
            conns.push((k, 0, n, k));
            conns.push((n + 1, k, k, 0));
        }
        router(flat(&els, &conns)).0
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn marked(b: &[u8]) -> Packet {
        let mut p = Packet::from_slice(b);
        p.set_ip_header(0, ((b[0] & 15) as usize) * 4);
        p
    }

    #[test]
    fn contents_match_click_and_ids_are_shared() {
        let _g = ID_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let r = setup(&["10.0.0.254, timeexceeded", "10.0.0.254, 11, transit"]);
        // Conformance case f_responders: the expiring TCP packet and the
        // error real Click made for it (its IP ID and checksum depend on
        // the shared counter and are checked separately).
        let orig =
            hex("45000028000100000106ee1c0a000001c0a8010a9c4b0050000003e8000000005002200023ac0000");
        let want = hex("4500004400010000c801ddb90a0000fe0a0000010b00c0cd00000000");
        r.inject(0, 0, marked(&orig));
        r.inject(1, 0, marked(&orig));
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 2);
        let (a, b) = (&got[0].1, &got[1].1);
        assert_eq!(a.len(), 68);
        assert_eq!(&a[..4], &want[..4]);
        assert_eq!(&a[6..10], &want[6..10]);
        assert_eq!(&a[12..28], &want[12..28]);
        assert_eq!(&a[28..], &orig[..]);
        assert_eq!(checksum::checksum(&a[..20]), 0);
        assert_eq!(ip::get16(b, 4), ip::get16(a, 4).wrapping_add(1));
        assert_eq!(&a[20..], &b[20..]);
        r.with_element(2, |e, cx| {
            let s = e.downcast_ref::<crate::testing::TestSink>().unwrap();
            let q = &s.got[0].1;
            assert_eq!(q.timestamp(), cx.now());
            assert_eq!(q.dst_ip_anno(), [10, 0, 0, 1]);
            assert_eq!(q.anno_u8(anno::FIX_IP_SRC), Some(1));
            assert_eq!(q.network_header_offset(), Some(0));
        });
    }

    #[test]
    fn quotes_up_to_mtu_and_skips_what_rfc1812_forbids() {
        let _g = ID_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let r = setup(&["10.0.0.254, unreachable, needfrag, 10.0.0.255, PMTU 1400"]);
        let big = ip::build([10, 0, 0, 1], [10, 0, 1, 1], 17, 9, &[7; 1000]);
        r.inject(0, 0, marked(&big));
        let got = sink_contents(&r, "s");
        assert_eq!(got[0].1.len(), 576);
        assert_eq!(ip::get16(&got[0].1, 2), 576);
        assert_eq!((got[0].1[20], got[0].1[21]), (3, 4));
        assert_eq!(ip::get16(&got[0].1, 26), 1400);
        assert_eq!(checksum::checksum(&got[0].1[20..]), 0);

        let pkt = |src: [u8; 4], dst: [u8; 4], proto: u8, body: &[u8]| {
            marked(&ip::build(src, dst, proto, 9, body))
        };
        let me = [10, 0, 0, 1];
        let mut frag = ip::build(me, [10, 0, 1, 1], 17, 9, &[0; 8]);
        ip::put16(&mut frag, 6, 0x0010);
        let mut linkbcast = pkt(me, [10, 0, 1, 1], 17, &[0; 8]);
        linkbcast.anno_mut().packet_type = PacketType::Broadcast;
        for p in [
            pkt(me, [255, 255, 255, 255], 17, &[0; 8]),
            pkt(me, [224, 0, 0, 1], 17, &[0; 8]),
            pkt(me, [10, 0, 0, 255], 17, &[0; 8]),
            pkt([0, 1, 2, 3], [10, 0, 1, 1], 17, &[0; 8]),
            pkt([127, 0, 0, 1], [10, 0, 1, 1], 17, &[0; 8]),
            pkt([240, 0, 0, 1], [10, 0, 1, 1], 17, &[0; 8]),
            pkt(me, [10, 0, 1, 1], 1, &[11, 0, 0, 0, 0, 0, 0, 0]),
            pkt(me, [10, 0, 1, 1], 1, &[3]),
            marked(&frag),
            linkbcast,
            Packet::from_slice(&ip::build(me, [10, 0, 1, 1], 17, 9, &[])),
        ] {
            r.inject(0, 0, p);
        }
        assert_eq!(sink_contents(&r, "s").len(), 1);
        // An echo request does get an error.
        r.inject(0, 0, pkt(me, [10, 0, 1, 1], 1, &[8, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(sink_contents(&r, "s").len(), 2);
    }

    #[test]
    fn reverses_source_routes() {
        let _g = ID_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let r = setup(&["10.0.0.254, parameterproblem, 1"]);
        // LSRR with two recorded hops (pointer 12) and one to go.
        let mut h = ip::build([10, 0, 0, 1], [10, 0, 1, 1], 17, 9, &[0; 8]);
        let opt = [131u8, 15, 12, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 0];
        h.splice(20..20, opt);
        h[0] = 0x49;
        let len = h.len() as u16;
        ip::put16(&mut h, 2, len);
        ip::set_checksum(&mut h, 36);
        r.inject(0, 0, marked(&h));
        let got = sink_contents(&r, "s");
        let q = &got[0].1;
        // Option: type, length 11, pointer 4, hops reversed, EOL; padded
        // to a 32-byte header.
        assert_eq!(q[0], 0x48);
        assert_eq!(&q[20..28], &[131, 11, 4, 2, 2, 2, 2, 1]);
        assert_eq!(&q[28..32], &[1, 1, 1, 0]);
        assert_eq!(checksum::checksum(&q[..32]), 0);
        assert_eq!(q[32], 12);
    }

    #[test]
    fn config_errors() {
        for cfg in [
            "10.0.0.1",
            "10.0.0.1, echo",
            "10.0.0.1, timeexceeded, port",
            "x, 11",
            "10.0.0.1, 11, MTU 20",
        ] {
            assert!(
                build(flat(&[("e", "ICMPError", cfg)], &[])).is_err(),
                "{cfg}"
            );
        }
    }
}

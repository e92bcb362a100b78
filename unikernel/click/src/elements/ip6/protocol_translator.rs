//! `ProtocolTranslator64()`: translates IPv6 packets between IPv4-mapped
//! addresses into IPv4 packets (stateless, RFC 7915).
//!
//! `ProtocolTranslator46()`: translates IPv4 packets into IPv6 packets
//! between the IPv4-mapped addresses (`::ffff:a.b.c.d`) of their source
//! and destination.
//!
//! # Ports
//! One input, one output; push.
//!
//! # Processing
//! The IP header is taken at the network header annotation (else at the
//! start of the data). `ProtocolTranslator64` takes an IPv6 packet whose
//! source and destination are both IPv4-mapped and sends on an IPv4
//! packet between the embedded addresses: traffic class to TOS, hop limit
//! to TTL, don't-fragment set, next header to protocol. TCP and UDP
//! checksums are recomputed over the IPv4 pseudo-header; an ICMPv6 echo
//! request or reply becomes an ICMP echo request or reply; an ICMPv6
//! error becomes the ICMP error of RFC 7915 section 5.2 (unreachable,
//! fragmentation needed with the MTU minus 20, time exceeded, parameter
//! problem), its quoted IPv6 header translated likewise.
//!
//! `ProtocolTranslator46` does the reverse: TOS to traffic class, TTL to
//! hop limit, ICMP echo to ICMPv6 echo, ICMP errors to the ICMPv6 errors
//! of RFC 7915 section 4.2 (fragmentation needed becomes packet too big
//! with the MTU plus 20, at least 1280) with the quoted IPv4 header
//! translated; IPv4 options are dropped.
//!
//! Both set the IP header and destination address annotations of what
//! they send. They drop (as Click does) packets with an address that is
//! not IPv4-mapped, and also malformed headers, fragments, and ICMP types
//! RFC 7915 does not translate. Hop limits are not decremented.
//!
//! In Click these are usually preceded by `AddressTranslator`, which maps
//! IPv6 hosts to IPv4-mapped addresses.
//!
//! `ProtocolTranslator()`: Click 1.1's combined translator, both of the
//! above in one element (compatibility).
//!
//! # Compatibility
//! `ProtocolTranslator` (Click 1.1, commit 1c2c892dc, 2000; split into
//! the two above in ed25be1a6, 2001) has two inputs and two outputs:
//! IPv6 packets on input 0 leave on output 0 as `ProtocolTranslator64`
//! makes them, IPv4 packets on input 1 leave on output 1 as
//! `ProtocolTranslator46` does. Its IPv6 side uses IPv4-mapped addresses
//! (`::ffff:a.b.c.d`) both ways, as Click 1.1's did.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! ... -> CheckIP6Header -> pt64 :: ProtocolTranslator64 -> CheckIPHeader -> ...;
//! ... -> CheckIPHeader -> pt46 :: ProtocolTranslator46 -> CheckIP6Header -> ...;
//! pt :: ProtocolTranslator; v6 -> [0]pt[0] -> v4out; v4 -> [1]pt[1] -> v6out;
//! ```

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::element::{Element, ElementClass};
use crate::elements::nat::xlat::{self, ECHO4, ECHO6, ECHO_REPLY4, ECHO_REPLY6};
use crate::net::{ip, ip6};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `ProtocolTranslator64` class.
pub static CLASS64: ElementClass = ElementClass {
    name: "ProtocolTranslator64",
    ports: "1/1",
    processing: "h/h",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(ProtocolTranslator { dir: Dir::To4 })),
};

/// The `ProtocolTranslator46` class.
pub static CLASS46: ElementClass = ElementClass {
    name: "ProtocolTranslator46",
    ports: "1/1",
    processing: "h/h",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(ProtocolTranslator { dir: Dir::To6 })),
};

/// The `ProtocolTranslator` class (Click 1.1's, both directions).
pub static CLASS: ElementClass = ElementClass {
    name: "ProtocolTranslator",
    ports: "2/2",
    processing: "h/h",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(ProtocolTranslator { dir: Dir::Both })),
};

/// Longest transport payload quoted in a translated ICMP error (RFC 1812's
/// 576-byte ICMPv4 error, RFC 4443's 1280-byte ICMPv6 one).
const QUOTE4: usize = 576 - 20 - 8 - 20;
const QUOTE6: usize = 1280 - 40 - 8 - 40;

/// `::ffff:a.b.c.d` for `a`.
pub fn mapped(a: [u8; 4]) -> ip6::Addr {
    let mut x = [0u8; 16];
    x[10] = 0xFF;
    x[11] = 0xFF;
    x[12..].copy_from_slice(&a);
    x
}

/// The IPv4 address embedded in an IPv4-mapped IPv6 address.
pub fn unmapped(a: &ip6::Addr) -> Option<[u8; 4]> {
    (a[..10] == [0; 10] && a[10..12] == [0xFF, 0xFF]).then(|| [a[12], a[13], a[14], a[15]])
}

/// The offset of the IP header: the network header annotation, else 0.
fn header_offset(p: &Packet) -> Option<usize> {
    match p.network_header_offset() {
        Some(o) => usize::try_from(o).ok(),
        None => Some(0),
    }
}

/// Which way a translator works.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// IPv6 to IPv4.
    To4,
    /// IPv4 to IPv6.
    To6,
    /// Input 0 to IPv4 on output 0, input 1 to IPv6 on output 1.
    Both,
}

/// Stateless IPv4/IPv6 translator.
pub struct ProtocolTranslator {
    dir: Dir,
}

/// Recomputes the checksum of an echo message quoted whole (`whole`), as
/// IPv4 (`pseudo6` `None`) or IPv6 over `pseudo6`'s addresses; a truncated
/// quote keeps its checksum.
fn fix_quoted_echo(t: &mut [u8], whole: bool, pseudo6: Option<(&ip6::Addr, &ip6::Addr)>) {
    if !whole || t.len() < 8 {
        return;
    }
    match pseudo6 {
        None => xlat::set_sum(t, 2, 0, false),
        Some((s, d)) => ip6::set_upper_checksum(s, d, ip6::NXT_ICMP6, t, 2),
    }
}

/// The ICMP message for ICMPv6 message `m`, without its checksum.
fn icmp6_to_4(m: &[u8]) -> Option<Vec<u8>> {
    if m.len() < 8 {
        return None;
    }
    let (ty, code) = (m[0], m[1]);
    let mut out = m.to_vec();
    match ty {
        ECHO6 | ECHO_REPLY6 => {
            out[0] = if ty == ECHO6 { ECHO4 } else { ECHO_REPLY4 };
            return Some(out);
        }
        0..=127 => {}
        _ => return None,
    }
    let word = u32::from_be_bytes([m[4], m[5], m[6], m[7]]);
    let (ty4, code4, rest) = xlat::icmp6_error_to_4(ty, code, word)?;
    let inner = &m[8..];
    let ih = ip6::Ipv6Header::new(inner)?;
    let (src, dst) = (unmapped(&ih.src())?, unmapped(&ih.dst())?);
    let iproto = xlat::proto_of(ih.next_header());
    let il4 = &inner[ip6::HEADER_LEN..];
    let quoted = il4.len().min(QUOTE4);
    out.truncate(8);
    out[0] = ty4;
    out[1] = code4;
    out[4..8].copy_from_slice(&rest.to_be_bytes());
    out.resize(8 + 20, 0);
    let itotal = (20 + usize::from(ih.payload_len())).min(0xFFFF) as u16;
    xlat::write_ipv4(
        &mut out[8..],
        ih.traffic_class(),
        itotal,
        true,
        ih.hop_limit(),
        iproto,
        &src,
        &dst,
    );
    out.extend_from_slice(&il4[..quoted]);
    let t = &mut out[28..];
    if iproto == ip::PROTO_ICMP && t.len() >= 8 && matches!(t[0], ECHO6 | ECHO_REPLY6) {
        t[0] = if t[0] == ECHO6 { ECHO4 } else { ECHO_REPLY4 };
        fix_quoted_echo(t, quoted == usize::from(ih.payload_len()), None);
    }
    Some(out)
}

/// The ICMPv6 message for ICMP message `m`, without its checksum.
fn icmp4_to_6(m: &[u8]) -> Option<Vec<u8>> {
    if m.len() < 8 {
        return None;
    }
    let (ty, code) = (m[0], m[1]);
    let mut out = m.to_vec();
    if matches!(ty, ECHO4 | ECHO_REPLY4) {
        out[0] = if ty == ECHO4 { ECHO6 } else { ECHO_REPLY6 };
        return Some(out);
    }
    let (ty6, code6, word) = xlat::icmp4_error_to_6(ty, code, ip::get16(m, 6))?;
    let inner = &m[8..];
    let ih = ip::Ipv4Header::new(inner)?;
    let ihlen = ih.header_len();
    if ih.version() != 4 || ihlen < 20 || inner.len() < ihlen {
        return None;
    }
    let (src, dst) = (mapped(ih.src()), mapped(ih.dst()));
    let il4 = &inner[ihlen..];
    let quoted = il4.len().min(QUOTE6);
    let ipl = usize::from(ih.total_len()).saturating_sub(ihlen);
    out.truncate(8);
    out[0] = ty6;
    out[1] = code6;
    out[4..8].copy_from_slice(&word.to_be_bytes());
    out.resize(8 + ip6::HEADER_LEN, 0);
    let inxt = xlat::nxt_of(ih.protocol());
    xlat::write_ipv6(
        &mut out[8..],
        ipl as u16,
        inxt,
        ih.tos(),
        ih.ttl(),
        &src,
        &dst,
    );
    out.extend_from_slice(&il4[..quoted]);
    let t = &mut out[8 + ip6::HEADER_LEN..];
    if inxt == ip6::NXT_ICMP6 && t.len() >= 8 && matches!(t[0], ECHO4 | ECHO_REPLY4) {
        t[0] = if t[0] == ECHO4 { ECHO6 } else { ECHO_REPLY6 };
        fix_quoted_echo(t, quoted == ipl, Some((&src, &dst)));
    }
    Some(out)
}

impl ProtocolTranslator {
    /// IPv6 to IPv4.
    fn six_to_four(cx: &Ctx, p: &Packet) -> Option<Packet> {
        let b = p.data().get(header_offset(p)?..)?;
        let len = ip6::check(b).ok()?;
        let b = &b[..len];
        let t = ip6::transport(b).ok()?;
        if t.fragment.is_some() {
            return None;
        }
        let h = ip6::Ipv6Header::new(b)?;
        let (src, dst) = (unmapped(&h.src())?, unmapped(&h.dst())?);
        let proto = xlat::proto_of(t.proto);
        let l4 = &b[t.offset..];
        let icmp;
        let payload = if proto == ip::PROTO_ICMP {
            icmp = icmp6_to_4(l4)?;
            &icmp[..]
        } else {
            l4
        };
        let total = u16::try_from(20 + payload.len()).ok()?;
        let mut q = cx.alloc(usize::from(total))?;
        let d = q.data_mut();
        xlat::write_ipv4(
            d,
            h.traffic_class(),
            total,
            true,
            h.hop_limit(),
            proto,
            &src,
            &dst,
        );
        let m = &mut d[20..];
        m.copy_from_slice(payload);
        match proto {
            ip::PROTO_ICMP => xlat::set_sum(m, 2, 0, false),
            _ => {
                if let Some(off) = xlat::sum_off(proto) {
                    if m.len() < off + 2 {
                        cx.kill(q);
                        return None;
                    }
                    let pseudo = xlat::pseudo4(&src, &dst, proto, m.len());
                    xlat::set_sum(m, off, pseudo, proto == ip::PROTO_UDP);
                }
            }
        }
        q.set_ip_header(0, 20);
        q.set_dst_ip_anno(dst);
        q.set_timestamp(p.timestamp());
        Some(q)
    }

    /// IPv4 to IPv6.
    fn four_to_six(cx: &Ctx, p: &Packet) -> Option<Packet> {
        let b = p.data().get(header_offset(p)?..)?;
        let (hlen, len) = ip::check(b, true).ok()?;
        let b = &b[..len];
        let h = ip::Ipv4Header::new(b)?;
        if h.is_fragment() {
            return None;
        }
        let (src, dst) = (mapped(h.src()), mapped(h.dst()));
        let proto = h.protocol();
        let nxt = xlat::nxt_of(proto);
        let l4 = &b[hlen..];
        let icmp;
        let payload = if proto == ip::PROTO_ICMP {
            icmp = icmp4_to_6(l4)?;
            &icmp[..]
        } else {
            l4
        };
        let plen = u16::try_from(payload.len()).ok()?;
        let mut q = cx.alloc(ip6::HEADER_LEN + payload.len())?;
        let d = q.data_mut();
        xlat::write_ipv6(d, plen, nxt, h.tos(), h.ttl(), &src, &dst);
        let m = &mut d[ip6::HEADER_LEN..];
        m.copy_from_slice(payload);
        let off = match proto {
            ip::PROTO_ICMP => Some(2),
            _ => xlat::sum_off(proto),
        };
        if let Some(off) = off {
            if m.len() < off + 2 {
                cx.kill(q);
                return None;
            }
            ip6::set_upper_checksum(&src, &dst, nxt, m, off);
        }
        q.set_ip_header(0, ip6::HEADER_LEN);
        q.set_dst_ip6_anno(dst);
        q.set_timestamp(p.timestamp());
        Some(q)
    }
}

impl Element for ProtocolTranslator {
    fn push(&mut self, cx: &Ctx, port: usize, p: Packet) {
        let to4 = match self.dir {
            Dir::To4 => true,
            Dir::To6 => false,
            Dir::Both => port == 0,
        };
        let q = if to4 {
            Self::six_to_four(cx, &p)
        } else {
            Self::four_to_six(cx, &p)
        };
        cx.kill(p);
        if let Some(q) = q {
            cx.push(if self.dir == Dir::Both { port } else { 0 }, q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{mapped, unmapped};
    use crate::net::{checksum, ip, ip6};
    use crate::packet::Packet;
    use crate::testing::{router_from_source, sink_contents};

    fn setup() -> crate::router::Router {
        router_from_source(
            "Idle -> pt64 :: ProtocolTranslator64 -> v4 :: TestSink;
             Idle -> pt46 :: ProtocolTranslator46 -> v6 :: TestSink;",
        )
        .0
    }

    fn udp(sport: u16, dport: u16) -> alloc::vec::Vec<u8> {
        let mut u = alloc::vec![0u8; 12];
        ip::put16(&mut u, 0, sport);
        ip::put16(&mut u, 2, dport);
        ip::put16(&mut u, 4, 12);
        u[8..].copy_from_slice(b"data");
        u
    }

    #[test]
    fn mapped_addresses() {
        let m = mapped([10, 1, 2, 3]);
        assert_eq!(
            m,
            "::ffff:10.1.2.3"
                .parse::<core::net::Ipv6Addr>()
                .unwrap()
                .octets()
        );
        assert_eq!(unmapped(&m), Some([10, 1, 2, 3]));
        assert_eq!(unmapped(&[0; 16]), None);
        let mut compat = [0u8; 16];
        compat[15] = 1;
        assert_eq!(unmapped(&compat), None);
    }

    #[test]
    fn udp_round_trip_keeps_addresses_ports_and_checksums() {
        let r = setup();
        let (pt64, pt46) = (r.find("pt64").unwrap(), r.find("pt46").unwrap());
        let (s4, d4) = ([192, 0, 2, 1], [198, 51, 100, 7]);
        let mut u = udp(5000, 53);
        let v4 = ip::build(s4, d4, ip::PROTO_UDP, 33, &u);
        // Give the IPv4 packet a UDP checksum, then translate it.
        let pseudo = super::xlat::pseudo4(&s4, &d4, 17, u.len());
        super::xlat::set_sum(&mut u, 6, pseudo, true);
        let v4 = {
            let mut v = v4;
            v[20..].copy_from_slice(&u);
            v
        };
        r.inject(pt46, 0, Packet::from_slice(&v4));
        let v6 = sink_contents(&r, "v6")[0].1.clone();
        let h6 = ip6::Ipv6Header::new(&v6).unwrap();
        assert_eq!(
            (
                h6.src(),
                h6.dst(),
                h6.hop_limit(),
                h6.next_header(),
                h6.payload_len()
            ),
            (mapped(s4), mapped(d4), 33, 17, 12)
        );
        assert_eq!(ip6::check(&v6), Ok(52));
        assert_eq!(ip6::upper_checksum(&h6.src(), &h6.dst(), 17, &v6[40..]), 0);
        // And back: the IPv4 packet is the original one but for DF.
        r.inject(pt64, 0, Packet::from_slice(&v6));
        let back = sink_contents(&r, "v4")[0].1.clone();
        assert_eq!(ip::check(&back, true), Ok((20, 32)));
        let h = ip::Ipv4Header::new(&back).unwrap();
        assert_eq!((h.src(), h.dst(), h.ttl(), h.protocol()), (s4, d4, 33, 17));
        assert_eq!(&back[20..], &v4[20..]);
        let sum = checksum::finish(checksum::add(
            super::xlat::pseudo4(&s4, &d4, 17, 12),
            &back[20..],
        ));
        assert_eq!(sum, 0);
    }

    #[test]
    fn echo_and_errors_are_translated_both_ways() {
        let r = setup();
        let (pt64, pt46) = (r.find("pt64").unwrap(), r.find("pt46").unwrap());
        let (s4, d4) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        // ICMPv6 echo request -> ICMP echo request.
        let mut echo6 = alloc::vec![128, 0, 0, 0, 0x12, 0x34, 0, 1, b'h', b'i'];
        ip6::set_upper_checksum(&mapped(s4), &mapped(d4), 58, &mut echo6, 2);
        let p6 = ip6::build(&mapped(s4), &mapped(d4), ip6::NXT_ICMP6, 64, &echo6);
        r.inject(pt64, 0, Packet::from_slice(&p6));
        let v4 = sink_contents(&r, "v4")[0].1.clone();
        assert_eq!(ip::check(&v4, true), Ok((20, 30)));
        assert_eq!((v4[9], v4[20], ip::get16(&v4, 24)), (1, 8, 0x1234));
        assert_eq!(checksum::finish(checksum::add(0, &v4[20..])), 0);
        // An ICMP port unreachable quoting a UDP packet becomes ICMPv6
        // destination unreachable code 4, quoting it as IPv6.
        let quoted = ip::build(d4, s4, 17, 5, &udp(53, 5000));
        let mut err = alloc::vec![3, 3, 0, 0, 0, 0, 0, 0];
        err.extend_from_slice(&quoted);
        super::xlat::set_sum(&mut err, 2, 0, false);
        let e4 = ip::build(s4, d4, 1, 60, &err);
        r.inject(pt46, 0, Packet::from_slice(&e4));
        let e6 = sink_contents(&r, "v6")[0].1.clone();
        let h6 = ip6::Ipv6Header::new(&e6).unwrap();
        assert_eq!(h6.next_header(), 58);
        assert_eq!((e6[40], e6[41]), (1, 4));
        assert_eq!(ip6::upper_checksum(&h6.src(), &h6.dst(), 58, &e6[40..]), 0);
        let inner = ip6::Ipv6Header::new(&e6[48..]).unwrap();
        assert_eq!(
            (
                inner.src(),
                inner.dst(),
                inner.next_header(),
                inner.payload_len()
            ),
            (mapped(d4), mapped(s4), 17, 12)
        );
        assert_eq!(&e6[88..], &udp(53, 5000)[..]);
        // And that error back to IPv4: destination unreachable, port.
        r.inject(pt64, 0, Packet::from_slice(&e6));
        let b4 = sink_contents(&r, "v4")[1].1.clone();
        assert_eq!(ip::check(&b4, true), Ok((20, e4.len())));
        assert_eq!((b4[20], b4[21]), (3, 3));
        assert_eq!(checksum::finish(checksum::add(0, &b4[20..])), 0);
        assert_eq!(ip::check(&b4[28..], true), Ok((20, 32)));
        // Packet too big <-> fragmentation needed adjusts the MTU by 20.
        let mut tb = alloc::vec![2, 0, 0, 0, 0, 0, 0x05, 0xDC];
        tb.extend_from_slice(&ip6::build(&mapped(d4), &mapped(s4), 17, 5, &udp(1, 2)));
        ip6::set_upper_checksum(&mapped(s4), &mapped(d4), 58, &mut tb, 2);
        let t6 = ip6::build(&mapped(s4), &mapped(d4), 58, 64, &tb);
        r.inject(pt64, 0, Packet::from_slice(&t6));
        let f4 = sink_contents(&r, "v4")[2].1.clone();
        assert_eq!((f4[20], f4[21], ip::get16(&f4, 26)), (3, 4, 1480));
    }

    /// Click 1.1's ProtocolTranslator, as gnat01/gnat02.click wire it:
    /// IPv6 on input 0 leaves as IPv4 on output 0, IPv4 on input 1 as
    /// IPv6 on output 1; the wrong version on an input is dropped.
    #[test]
    fn click11_combined_translator() {
        let (r, _) = crate::testing::router_from_source(
            "Idle -> [0]pt :: ProtocolTranslator; Idle -> [1]pt;
             pt[0] -> s :: TestSink; pt[1] -> [1]s;",
        );
        let pt = r.find("pt").unwrap();
        let (s4, d4) = ([18, 26, 4, 125], [18, 26, 4, 60]);
        let v4 = ip::build(s4, d4, ip::PROTO_UDP, 64, &udp(1300, 53));
        let v6 = ip6::build(&mapped(s4), &mapped(d4), 17, 64, &udp(1300, 53));
        r.inject(pt, 0, Packet::from_slice(&v6));
        r.inject(pt, 1, Packet::from_slice(&v4));
        r.inject(pt, 0, Packet::from_slice(&v4));
        r.inject(pt, 1, Packet::from_slice(&v6));
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 0);
        let h = ip::Ipv4Header::new(&got[0].1).unwrap();
        assert_eq!((h.src(), h.dst(), h.protocol()), (s4, d4, 17));
        assert_eq!(got[1].0, 1);
        let h6 = ip6::Ipv6Header::new(&got[1].1).unwrap();
        assert_eq!((h6.src(), h6.dst()), (mapped(s4), mapped(d4)));
        assert_eq!(&got[1].1[40..44], &[0x05, 0x14, 0, 53]);
    }

    #[test]
    fn untranslatable_packets_are_dropped() {
        let r = setup();
        let (pt64, pt46) = (r.find("pt64").unwrap(), r.find("pt46").unwrap());
        let native: [u8; 16] = "2001:db8::1"
            .parse::<core::net::Ipv6Addr>()
            .unwrap()
            .octets();
        let p6 = ip6::build(&native, &mapped([10, 0, 0, 2]), 17, 64, &udp(1, 2));
        r.inject(pt64, 0, Packet::from_slice(&p6));
        r.inject(pt64, 0, Packet::from_slice(&p6[..30]));
        r.inject(pt64, 0, Packet::from_slice(&[]));
        // ICMP redirect has no ICMPv6 counterpart; a fragment is not reassembled.
        let redirect = ip::build(
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            1,
            64,
            &[5, 0, 0, 0, 0, 0, 0, 0],
        );
        r.inject(pt46, 0, Packet::from_slice(&redirect));
        let mut frag = ip::build([10, 0, 0, 1], [10, 0, 0, 2], 17, 64, &udp(1, 2));
        ip::put16(&mut frag, 6, 0x2000);
        ip::set_checksum(&mut frag, 20);
        r.inject(pt46, 0, Packet::from_slice(&frag));
        r.inject(pt46, 0, Packet::from_slice(&[0x45; 10]));
        assert!(sink_contents(&r, "v4").is_empty());
        assert!(sink_contents(&r, "v6").is_empty());
    }

    /// Valid outer headers around random ICMP and transport messages
    /// (random quoted headers included): nothing panics, and whatever
    /// leaves is a well-formed packet of the other version.
    #[test]
    fn random_messages_never_panic() {
        let r = setup();
        let (pt64, pt46) = (r.find("pt64").unwrap(), r.find("pt46").unwrap());
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (a, b) = (mapped([10, 0, 0, 1]), mapped([10, 0, 0, 2]));
        for i in 0..4000 {
            let len = (next() % 120) as usize;
            let mut m: alloc::vec::Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if len >= 2 {
                // Mostly the types that get translated.
                m[0] = [1, 2, 3, 4, 128, 129, 0, 3, 8, 11, 12][(next() % 11) as usize];
                m[1] %= 5;
            }
            if len >= 48 && i % 2 == 0 {
                m[8] = if i % 4 == 0 { 0x60 } else { 0x45 };
            }
            let proto = [1u8, 6, 17, 58][(next() % 4) as usize];
            let p6 = ip6::build(&a, &b, proto, 64, &m);
            r.inject(pt64, 0, Packet::from_slice(&p6));
            let p4 = ip::build([10, 0, 0, 1], [10, 0, 0, 2], proto, 64, &m);
            r.inject(pt46, 0, Packet::from_slice(&p4));
        }
        let (out4, out6) = (sink_contents(&r, "v4"), sink_contents(&r, "v6"));
        assert!(
            out4.len() > 100 && out6.len() > 100,
            "{} {}",
            out4.len(),
            out6.len()
        );
        for (_, v4) in out4 {
            assert!(ip::check(&v4, true).is_ok());
        }
        for (_, v6) in out6 {
            assert_eq!(ip6::check(&v6), Ok(v6.len()));
        }
    }
}

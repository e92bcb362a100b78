//! `ICMP6Error(SRC, TYPE, CODE [, MTU])`: makes an ICMPv6 error message
//! about each input packet.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Input packets are IPv6 packets with the IPv6 header annotation (else
//! the header is taken to start the packet). Each becomes an IPv6/ICMPv6
//! packet from SRC to the packet's source, hop limit 255, with TYPE and
//! CODE, carrying as much of the packet as fits in the IPv6 minimum MTU
//! (1280 bytes in all, RFC 4443); the input packet is consumed. Packet
//! too big (type 2) carries MTU; parameter problem (type 4) carries the
//! pointer from the `ICMP_PARAMPROB` annotation. The result gets the IPv6
//! header annotation, the destination IPv6 annotation (its destination)
//! and the `FIX_IP_SRC` annotation.
//!
//! RFC 4443 section 2.4(e): no error is made about an ICMPv6 error
//! message or a packet whose header chain cannot be read, about a packet
//! whose source is not a unicast address (`::`, `::1`, multicast), nor
//! about a packet to a multicast address or one that arrived as a
//! link-level broadcast or multicast, except packet too big and parameter
//! problem code 2 (unrecognized option), which RFC 4443 allows for path
//! MTU discovery. Such packets are dropped and counted. Click's
//! ICMP6Error has no rate limit either; put a `RatedSplitter` after it.
//! Unlike Click, the MTU is written in network byte order and the error
//! check looks at the ICMPv6 header rather than the IPv6 header.
//!
//! # Keywords
//! * `SRC` (IPv6 address): the error's source.
//! * `TYPE` (1-4, or `unreachable`, `packettoobig`, `timeexceeded`,
//!   `parameterproblem`): the ICMPv6 type.
//! * `CODE` (0-255): the ICMPv6 code.
//! * `MTU` (integer, default 1500): the MTU a packet-too-big message
//!   reports.
//!
//! # Handlers
//! * `drops` (read): packets no error was made for.
//!
//! # Example
//! ```text
//! ... -> dh :: DecIP6HLIM -> ...;
//! dh[1] -> ICMP6Error(fd00::1, timeexceeded, 0) -> ...;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::confparse::{Ipv6, Word};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::ip6;
use crate::packet::{anno, Packet, PacketType};
use crate::router::Ctx;

/// The `ICMP6Error` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ICMP6Error",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let src = args.required::<Ipv6>("SRC")?;
        let ty = args.required::<Word>("TYPE")?;
        let ty = match ty.0.as_str() {
            "unreachable" => UNREACH,
            "packettoobig" => TOO_BIG,
            "timeexceeded" => TIME_EXCEEDED,
            "parameterproblem" => PARAM_PROB,
            t => match crate::confparse::parse_written::<u8>(t) {
                Ok(n @ 1..=4) => n,
                _ => {
                    return Err(ConfigError::bad_value(
                        "TYPE",
                        "an ICMPv6 error type (1-4)",
                        &ty.0,
                    ))
                }
            },
        };
        let code = args.required::<u8>("CODE")?;
        let mtu = args.optional::<u32>("MTU")?.unwrap_or(1500);
        if src.is_unspecified() {
            return Err(ConfigError::bad_value(
                "SRC",
                "a unicast IPv6 address",
                "::",
            ));
        }
        Ok(Box::new(Icmp6Error {
            src: src.0,
            ty,
            code,
            mtu,
            drops: 0,
        }))
    },
};

/// Destination unreachable.
pub const UNREACH: u8 = 1;
/// Packet too big.
pub const TOO_BIG: u8 = 2;
/// Time exceeded.
pub const TIME_EXCEEDED: u8 = 3;
/// Parameter problem.
pub const PARAM_PROB: u8 = 4;
/// The largest error message (RFC 4443 2.4(c): the IPv6 minimum MTU).
const MAX_LEN: usize = 1280;
/// IPv6 and ICMPv6 headers.
const HEADERS: usize = ip6::HEADER_LEN + 8;

/// Makes ICMPv6 errors.
pub struct Icmp6Error {
    src: [u8; 16],
    ty: u8,
    code: u8,
    mtu: u32,
    drops: u64,
}

impl Icmp6Error {
    /// True if RFC 4443 allows an error about the IPv6 packet `b` that
    /// arrived as link-level `kind`.
    fn allowed(&self, b: &[u8], kind: PacketType) -> bool {
        let Some(h) = ip6::Ipv6Header::new(b) else {
            return false;
        };
        let Ok(t) = ip6::transport(b) else {
            return false;
        };
        // Error messages are types 0-127; an unreadable type counts as one.
        if t.proto == ip6::NXT_ICMP6 && t.is_first() && b.get(t.offset).is_none_or(|&ty| ty < 128) {
            return false;
        }
        let src = h.src();
        let mut lo = [0u8; 16];
        lo[15] = 1;
        if ip6::is_unspecified(&src) || ip6::is_multicast(&src) || src == lo {
            return false;
        }
        let exempt = self.ty == TOO_BIG || (self.ty == PARAM_PROB && self.code == 2);
        let multicast = ip6::is_multicast(&h.dst())
            || matches!(kind, PacketType::Broadcast | PacketType::Multicast);
        exempt || !multicast
    }

    fn action(&mut self, cx: &Ctx, p: Packet) -> Option<Packet> {
        let off = match p.network_header_offset() {
            Some(o) => usize::try_from(o).unwrap_or(usize::MAX),
            None => 0,
        };
        let b = p.data().get(off..).unwrap_or(&[]);
        if !self.allowed(b, p.anno().packet_type) {
            self.drops += 1;
            cx.kill(p);
            return None;
        }
        let quoted = b.len().min(MAX_LEN - HEADERS);
        let Some(mut q) = cx.alloc(HEADERS + quoted) else {
            cx.kill(p);
            return None;
        };
        let dst = ip6::Ipv6Header::new(b).map(|h| h.src()).unwrap_or_default();
        let d = q.data_mut();
        d.fill(0);
        ip6::write_header(d, (8 + quoted) as u16, ip6::NXT_ICMP6, 255, &self.src, &dst);
        let m = &mut d[ip6::HEADER_LEN..];
        m[0] = self.ty;
        m[1] = self.code;
        match self.ty {
            TOO_BIG => m[4..8].copy_from_slice(&self.mtu.to_be_bytes()),
            PARAM_PROB => {
                let ptr = p.anno_u8(anno::ICMP_PARAMPROB).unwrap_or(0);
                m[4..8].copy_from_slice(&u32::from(ptr).to_be_bytes());
            }
            _ => {}
        }
        m[8..].copy_from_slice(&b[..quoted]);
        ip6::set_upper_checksum(&self.src, &dst, ip6::NXT_ICMP6, m, 2);
        q.set_ip_header(0, ip6::HEADER_LEN);
        q.set_dst_ip6_anno(dst);
        q.set_anno_u8(anno::FIX_IP_SRC, 1);
        q.set_timestamp(p.timestamp());
        cx.kill(p);
        Some(q)
    }
}

impl Element for Icmp6Error {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("drops")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.drops.to_string()
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::ip6;
    use crate::packet::{Packet, PacketType};
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    fn a(s: &str) -> [u8; 16] {
        s.parse::<core::net::Ipv6Addr>().unwrap().octets()
    }

    fn errors(cfg: &str, packets: Vec<Packet>) -> (Vec<Vec<u8>>, String) {
        let (r, _) = router_from_source(&alloc::format!(
            "Idle -> e :: ICMP6Error({cfg}) -> s :: TestSink;"
        ));
        let e = r.find("e").unwrap();
        for p in packets {
            r.inject(e, 0, p);
        }
        (
            sink_contents(&r, "s").into_iter().map(|(_, b)| b).collect(),
            r.read("e.drops").unwrap(),
        )
    }

    use alloc::string::String;

    #[test]
    fn time_exceeded_quotes_the_packet() {
        let udp = ip6::build(
            &a("fd00::9"),
            &a("fd01::1"),
            ip6::NXT_UDP,
            1,
            &[0, 1, 0, 2, 0, 8, 0, 0],
        );
        let (out, drops) = errors("fd00::1, 3, 0", alloc::vec![Packet::from_slice(&udp)]);
        assert_eq!(drops, "0");
        let e = &out[0];
        assert_eq!(e.len(), 40 + 8 + udp.len());
        let h = ip6::Ipv6Header::new(e).unwrap();
        assert_eq!(
            (h.src(), h.dst(), h.next_header(), h.hop_limit()),
            (a("fd00::1"), a("fd00::9"), 58, 255)
        );
        assert_eq!(e[40..42], [3, 0]);
        assert_eq!(e[48..], udp[..]);
        assert_eq!(ip6::upper_checksum(&h.src(), &h.dst(), 58, &e[40..]), 0);
    }

    #[test]
    fn rfc4443_rules() {
        let big = ip6::build(&a("fd00::9"), &a("fd01::1"), ip6::NXT_UDP, 64, &[0; 1600]);
        let err = ip6::build(
            &a("fd00::9"),
            &a("fd01::1"),
            ip6::NXT_ICMP6,
            64,
            &[1, 0, 0, 0, 0, 0, 0, 0],
        );
        let echo = ip6::build(
            &a("fd00::9"),
            &a("fd01::1"),
            ip6::NXT_ICMP6,
            64,
            &[128, 0, 0, 0, 0, 0, 0, 0],
        );
        let mc = ip6::build(&a("fd00::9"), &a("ff02::1"), ip6::NXT_UDP, 64, &[0; 8]);
        let from_any = ip6::build(&a("::"), &a("fd01::1"), ip6::NXT_UDP, 64, &[0; 8]);
        let mut bcast = Packet::from_slice(&echo);
        bcast.anno_mut().packet_type = PacketType::Broadcast;
        let all = || {
            alloc::vec![
                Packet::from_slice(&big),
                Packet::from_slice(&err),
                Packet::from_slice(&echo),
                Packet::from_slice(&mc),
                Packet::from_slice(&from_any),
                bcast.clone(),
            ]
        };
        let (out, drops) = errors("fd00::1, unreachable, 4", all());
        assert_eq!((out.len(), drops.as_str()), (2, "4"));
        assert_eq!(out[0].len(), 1280);
        // Packet too big goes to multicast and broadcast senders too.
        let (out, drops) = errors("fd00::1, packettoobig, 0, 1400", all());
        assert_eq!((out.len(), drops.as_str()), (4, "2"));
        assert_eq!(out[0][44..48], 1400u32.to_be_bytes());
        assert!(build_from_source("Idle -> ICMP6Error(fd00::1, 128, 0) -> Discard;").is_err());
        assert!(build_from_source("Idle -> ICMP6Error(::, 3, 0) -> Discard;").is_err());
    }
}

//! `UDPIPEncap(SRC, SPORT, DST, DPORT [, CHECKSUM])`: prepends UDP and IP headers.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Pushes a 20-byte IP header and an 8-byte UDP header onto the front of
//! each packet: version 4, TOS 0, no fragment flags, TTL 250, protocol
//! UDP, an IP ID that counts up from 0 per element, the header checksum,
//! and the UDP ports, length and (with `CHECKSUM true`) checksum. The IP
//! header annotation and the destination address annotation are set.
//! Packets that would exceed 65535 bytes are dropped.
//!
//! # Keywords
//! * `SRC`, `DST` (IP addresses): source and destination.
//! * `SPORT`, `DPORT` (0-65535): source and destination UDP ports.
//! * `CHECKSUM` (bool, default true): whether to compute the UDP checksum
//!   (else it is 0, "none").
//!
//! # Handlers
//! * `src`, `dst` (read/write): the addresses.
//! * `sport`, `dport` (read/write): the ports.
//!
//! # Example
//! ```text
//! InfiniteSource(LENGTH 64, LIMIT 5)
//!   -> UDPIPEncap(10.0.0.1, 1234, 10.0.0.2, 5678)
//!   -> EtherEncap(0x0800, 02:00:00:00:00:01, 02:00:00:00:00:02) -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use super::set_tcp_checksum::pseudo_header_sum;
use crate::confparse::{parse_written, Ipv4};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::{checksum, ip};
use crate::packet::Packet;
use crate::router::Ctx;

/// IP plus UDP header bytes.
const HEADERS: usize = ip::MIN_HEADER_LEN + 8;

/// The `UDPIPEncap` class.
pub static CLASS: ElementClass = ElementClass {
    name: "UDPIPEncap",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let src = args.required::<Ipv4>("SRC")?;
        let sport = args.required::<u16>("SPORT")?;
        let dst = args.required::<Ipv4>("DST")?;
        let dport = args.required::<u16>("DPORT")?;
        let checksum = args.optional("CHECKSUM")?.unwrap_or(true);
        Ok(Box::new(UdpIpEncap {
            src,
            sport,
            dst,
            dport,
            checksum,
            id: 0,
        }))
    },
};

/// Wraps packets in UDP/IP.
pub struct UdpIpEncap {
    src: Ipv4,
    sport: u16,
    dst: Ipv4,
    dport: u16,
    checksum: bool,
    id: u16,
}

impl UdpIpEncap {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let total = p.len() + HEADERS;
        if total > usize::from(u16::MAX) {
            cx.kill(p);
            return None;
        }
        p.push(HEADERS);
        let d = &mut p.data_mut()[..total];
        let (h, udp) = d.split_at_mut(ip::MIN_HEADER_LEN);
        h[0] = 0x45;
        h[1] = 0;
        ip::put16(h, 2, total as u16);
        ip::put16(h, 4, self.id);
        self.id = self.id.wrapping_add(1);
        ip::put16(h, 6, 0);
        h[ip::TTL_OFF] = 250;
        h[9] = ip::PROTO_UDP;
        h[ip::SRC_OFF..ip::SRC_OFF + 4].copy_from_slice(&self.src.0);
        h[ip::DST_OFF..ip::DST_OFF + 4].copy_from_slice(&self.dst.0);
        ip::set_checksum(h, ip::MIN_HEADER_LEN);
        let ulen = (total - ip::MIN_HEADER_LEN) as u16;
        ip::put16(udp, 0, self.sport);
        ip::put16(udp, 2, self.dport);
        ip::put16(udp, 4, ulen);
        ip::put16(udp, 6, 0);
        if self.checksum {
            let acc = pseudo_header_sum(h, ip::PROTO_UDP, ulen);
            let sum = checksum::finish(checksum::add(acc, udp));
            ip::put16(udp, 6, if sum == 0 { 0xFFFF } else { sum });
        }
        p.set_ip_header(0, ip::MIN_HEADER_LEN);
        p.set_dst_ip_anno(self.dst.0);
        Some(p)
    }
}

impl Element for UdpIpEncap {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::rw("src"),
            HandlerDecl::rw("sport"),
            HandlerDecl::rw("dst"),
            HandlerDecl::rw("dport"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "src" => self.src.to_string(),
            "sport" => self.sport.to_string(),
            "dst" => self.dst.to_string(),
            _ => self.dport.to_string(),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "src" => self.src = parse_written(value)?,
            "sport" => self.sport = parse_written(value)?,
            "dst" => self.dst = parse_written(value)?,
            _ => self.dport = parse_written(value)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::set_tcp_checksum::tests::l4_ok;
    use crate::net::{checksum, ip};
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    #[test]
    fn encapsulates() {
        let (r, _) = router_from_source(
            "AddressInfo(me 10.0.0.1);\
             Idle -> u :: UDPIPEncap(me, 1234, 10.0.0.2, 53) -> s :: TestSink;\
             Idle -> n :: UDPIPEncap(1.2.3.4, 1, 5.6.7.8, 2, false) -> t :: TestSink;",
        );
        let u = r.find("u").unwrap();
        r.inject(u, 0, Packet::from_slice(b"hello"));
        r.inject(u, 0, Packet::from_slice(b""));
        let got = sink_contents(&r, "s");
        let b = &got[0].1;
        assert_eq!(b.len(), 33);
        assert_eq!(
            &b[..12],
            &[0x45, 0, 0, 33, 0, 0, 0, 0, 250, 17, b[10], b[11]]
        );
        assert_eq!(&b[12..20], &[10, 0, 0, 1, 10, 0, 0, 2]);
        assert_eq!(&b[20..26], &[0x04, 0xd2, 0, 53, 0, 13]);
        assert_eq!(&b[28..], b"hello");
        assert_eq!(checksum::checksum(&b[..20]), 0);
        assert!(l4_ok(b));
        assert_eq!(ip::get16(&got[1].1, 4), 1);
        assert!(l4_ok(&got[1].1));
        r.write("u.dport", "99").unwrap();
        assert_eq!(r.read("u.dport").unwrap(), "99");
        assert_eq!(r.read("u.src").unwrap(), "10.0.0.1");
        assert!(r.write("u.dst", "10.0.0").is_err());
        r.inject(r.find("n").unwrap(), 0, Packet::from_slice(b"x"));
        assert_eq!(ip::get16(&sink_contents(&r, "t")[0].1, 26), 0);
        // Too long for an IP datagram.
        r.inject(u, 0, Packet::from_slice(&alloc::vec![0; 65535 - 27]));
        assert_eq!(sink_contents(&r, "s").len(), 2);
    }

    #[test]
    fn argument_errors() {
        for bad in [
            "1.2.3.4, 1, 5.6.7.8",
            "1.2.3.4, 70000, 5.6.7.8, 1",
            "x, 1, 5.6.7.8, 1",
        ] {
            let src = alloc::format!("Idle -> UDPIPEncap({bad}) -> Idle;");
            assert!(build_from_source(&src).is_err(), "{bad}");
        }
    }
}

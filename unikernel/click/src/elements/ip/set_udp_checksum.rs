//! `SetUDPChecksum`: sets the UDP checksum of UDP-in-IP packets.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Reads the IP header at the IP header annotation (or the start of the
//! packet when it is unset), computes the UDP checksum over the IP
//! pseudo-header and the datagram (`IP length - header length` bytes) and
//! stores it; a computed zero is stored as `0xFFFF`, since zero means "no
//! checksum". Packets that are not UDP, are fragments, whose IP header is
//! malformed, or whose datagram is shorter than a UDP header or runs past
//! the packet are dropped (the first with a console message) and counted.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `drops` (read): packets dropped as malformed.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> MarkIPHeader -> SetUDPChecksum -> Discard;
//! ```

use alloc::boxed::Box;

use super::set_tcp_checksum::SetL4Checksum;
use crate::element::ElementClass;
use crate::net::ip;

/// The `SetUDPChecksum` class.
pub static CLASS: ElementClass = ElementClass {
    name: "SetUDPChecksum",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |_args, _cx| {
        Ok(Box::new(SetL4Checksum {
            proto: ip::PROTO_UDP,
            fixoff: false,
            drops: 0,
        }))
    },
};

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::super::set_tcp_checksum::tests::{l4_ok, setup};
    use crate::net::ip;
    use crate::packet::Packet;
    use crate::testing::sink_contents;

    fn udp(payload: &[u8]) -> Vec<u8> {
        let mut d = alloc::vec![0u8; 8];
        d[0..4].copy_from_slice(&[0x30, 0x39, 0x00, 0x35]);
        ip::put16(&mut d, 4, (8 + payload.len()) as u16);
        d.extend_from_slice(payload);
        ip::build([192, 168, 1, 1], [8, 8, 8, 8], ip::PROTO_UDP, 64, &d)
    }

    #[test]
    fn sets_udp_checksums_and_drops_malformed() {
        let r = setup("SetUDPChecksum");
        let c = r.find("c").unwrap();
        for n in [0usize, 1, 7, 64] {
            let payload: Vec<u8> = (0..n as u8).map(|x| x.wrapping_mul(37)).collect();
            r.inject(c, 0, Packet::from_slice(&udp(&payload)));
        }
        let mut tcp = udp(b"x");
        tcp[9] = ip::PROTO_TCP;
        let short = ip::build([1, 1, 1, 1], [2, 2, 2, 2], ip::PROTO_UDP, 9, &[0; 7]);
        let mut frag = udp(b"x");
        ip::put16(&mut frag, 6, 3);
        for b in [tcp, short, frag] {
            r.inject(c, 0, Packet::from_slice(&b));
        }
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 4);
        assert!(got.iter().all(|(_, b)| l4_ok(b) && ip::get16(b, 26) != 0));
        assert_eq!(r.read("c.drops").unwrap(), "3");
    }

    #[test]
    fn zero_sum_becomes_all_ones() {
        // Find a payload word making the computed checksum zero.
        let r = setup("SetUDPChecksum");
        let c = r.find("c").unwrap();
        let base = udp(&[0, 0]);
        let hlen = 20;
        let acc = super::super::set_tcp_checksum::pseudo_header_sum(&base, 17, 10);
        let rest = crate::net::checksum::add(acc, &base[hlen..]);
        // Make the sum of everything 0xFFFF: the checksum is then 0.
        let need = crate::net::checksum::finish(rest);
        let mut b = base.clone();
        ip::put16(&mut b, 28, need);
        r.inject(c, 0, Packet::from_slice(&b));
        let got = sink_contents(&r, "s");
        assert_eq!(ip::get16(&got[0].1, 26), 0xFFFF);
        assert!(l4_ok(&got[0].1));
    }
}

//! `SetTCPChecksum([FIXOFF])`: sets the TCP checksum of TCP-in-IP packets.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Reads the IP header at the IP header annotation (or the start of the
//! packet when it is unset), computes the TCP checksum over the IP
//! pseudo-header and the segment (`IP length - header length` bytes) and
//! stores it. Packets that are not TCP, are fragments, whose IP header is
//! malformed, or whose segment is shorter than a TCP header or runs past
//! the packet are dropped (the first with a console message) and counted.
//!
//! # Keywords
//! * `FIXOFF` (bool, default true): a TCP data offset below 5 words or
//!   past the segment is set to 5 before the checksum is computed; when
//!   false such packets are dropped.
//!
//! # Handlers
//! * `drops` (read): packets dropped as malformed.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> MarkIPHeader -> SetTCPChecksum -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::net::{checksum, ip};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `SetTCPChecksum` class.
pub static CLASS: ElementClass = ElementClass {
    name: "SetTCPChecksum",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let fixoff = args.optional("FIXOFF")?.unwrap_or(true);
        Ok(Box::new(SetL4Checksum {
            proto: ip::PROTO_TCP,
            fixoff,
            drops: 0,
        }))
    },
};

/// Sets TCP or UDP checksums (`SetTCPChecksum`, `SetUDPChecksum`).
pub struct SetL4Checksum {
    /// `PROTO_TCP` or `PROTO_UDP`.
    pub(super) proto: u8,
    /// TCP only: repair a bad data offset instead of dropping.
    pub(super) fixoff: bool,
    pub(super) drops: u64,
}

/// The one's-complement sum of the IPv4 pseudo-header of `h` for an L4
/// length of `len`, to be continued over the L4 bytes.
pub(crate) fn pseudo_header_sum(h: &[u8], proto: u8, len: u16) -> u32 {
    let mut ph = [0u8; 12];
    ph[..8].copy_from_slice(&h[ip::SRC_OFF..ip::SRC_OFF + 8]);
    ph[9] = proto;
    ph[10..12].copy_from_slice(&len.to_be_bytes());
    checksum::add(0, &ph)
}

impl SetL4Checksum {
    /// Computes and stores the checksum; `false` for a packet to drop.
    fn set(&self, p: &mut Packet) -> bool {
        let Some(h) = super::ip_header_mut(p) else {
            return false;
        };
        let hlen = ((h[0] & 0x0F) as usize) << 2;
        let total = ip::get16(h, 2) as usize;
        let frag = ip::get16(h, 6);
        if h[9] != self.proto
            || hlen < ip::MIN_HEADER_LEN
            || total < hlen
            || total > h.len()
            || frag & (ip::MF | ip::OFFMASK) != 0
        {
            return false;
        }
        let (iph, l4) = h[..total].split_at_mut(hlen);
        let (sum_off, min) = if self.proto == ip::PROTO_TCP {
            (16, 20)
        } else {
            (6, 8)
        };
        if l4.len() < min {
            return false;
        }
        if self.proto == ip::PROTO_TCP {
            let off = ((l4[12] >> 4) as usize) << 2;
            if off < 20 || off > l4.len() {
                if !self.fixoff {
                    return false;
                }
                l4[12] = (l4[12] & 0x0F) | 0x50;
            }
        }
        ip::put16(l4, sum_off, 0);
        let acc = pseudo_header_sum(iph, self.proto, l4.len() as u16);
        let mut sum = checksum::finish(checksum::add(acc, l4));
        // UDP: zero means "no checksum", so a computed zero is sent as all ones.
        if sum == 0 && self.proto == ip::PROTO_UDP {
            sum = 0xFFFF;
        }
        ip::put16(l4, sum_off, sum);
        true
    }

    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        if self.set(&mut p) {
            return Some(p);
        }
        self.drops += 1;
        if self.drops == 1 {
            cx.log("bad input packet");
        }
        cx.kill(p);
        None
    }
}

impl Element for SetL4Checksum {
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
pub(super) mod tests {
    use alloc::vec::Vec;

    use crate::net::{checksum, ip};
    use crate::packet::Packet;
    use crate::router::Router;
    use crate::testing::{router_from_source, sink_contents};

    /// True when the L4 checksum of the IP packet `b` verifies.
    pub fn l4_ok(b: &[u8]) -> bool {
        let hlen = ((b[0] & 0x0F) as usize) << 2;
        let l4 = &b[hlen..];
        let acc = super::pseudo_header_sum(b, b[9], l4.len() as u16);
        checksum::finish(checksum::add(acc, l4)) == 0
    }

    pub fn setup(class: &str) -> Router {
        let src = alloc::format!("Idle -> c :: {class} -> s :: TestSink;");
        router_from_source(&src).0
    }

    fn tcp(payload: &[u8]) -> Vec<u8> {
        let mut seg = alloc::vec![0u8; 20];
        seg[0..4].copy_from_slice(&[0x04, 0xd2, 0x00, 0x50]);
        seg[12] = 0x50;
        seg[16] = 0xAB;
        seg.extend_from_slice(payload);
        ip::build([10, 0, 0, 1], [10, 0, 0, 2], ip::PROTO_TCP, 64, &seg)
    }

    #[test]
    fn sets_tcp_checksums() {
        let r = setup("SetTCPChecksum");
        let c = r.find("c").unwrap();
        for n in [0usize, 1, 2, 3, 100] {
            let payload: Vec<u8> = (0..n as u8).collect();
            r.inject(c, 0, Packet::from_slice(&tcp(&payload)));
        }
        // Behind an Ethernet header, found through the annotation.
        let mut framed = alloc::vec![0u8; 14];
        framed.extend(tcp(b"hi"));
        let mut p = Packet::from_slice(&framed);
        p.set_ip_header(14, 20);
        r.inject(c, 0, p);
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 6);
        for (_, b) in &got[..5] {
            assert!(l4_ok(b));
            assert_ne!(ip::get16(b, 36), 0xAB00);
        }
        assert!(l4_ok(&got[5].1[14..]));
        assert_eq!(r.read("c.drops").unwrap(), "0");
    }

    #[test]
    fn drops_malformed_and_fixes_offset() {
        let r = setup("SetTCPChecksum");
        let c = r.find("c").unwrap();
        let good = tcp(b"data");
        let mut udp = good.clone();
        udp[9] = ip::PROTO_UDP;
        let mut frag = good.clone();
        frag[6] = 0x20;
        let mut long = good.clone();
        ip::put16(&mut long, 2, 200);
        let short = ip::build([1, 1, 1, 1], [2, 2, 2, 2], ip::PROTO_TCP, 9, &[0; 19]);
        let mut ihl = good.clone();
        ihl[0] = 0x44;
        for b in [&udp, &frag, &long, &short, &ihl, &good[..10].to_vec()] {
            r.inject(c, 0, Packet::from_slice(b));
        }
        assert_eq!(r.read("c.drops").unwrap(), "6");
        assert!(sink_contents(&r, "s").is_empty());
        let mut badoff = good.clone();
        badoff[32] = 0xF0;
        r.inject(c, 0, Packet::from_slice(&badoff));
        let got = sink_contents(&r, "s");
        assert_eq!(got[0].1[32], 0x50);
        assert!(l4_ok(&got[0].1));
        let r = setup("SetTCPChecksum(false)");
        let c = r.find("c").unwrap();
        r.inject(c, 0, Packet::from_slice(&badoff));
        assert_eq!(r.read("c.drops").unwrap(), "1");
        assert!(
            crate::testing::build_from_source("Idle -> SetTCPChecksum(maybe) -> Idle;").is_err()
        );
    }
}

//! `FixIPSrc(IPADDR)`: sets the IP source address of packets marked for
//! it (ICMP errors this router made).
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Needs the IP header annotation (else the IP header is taken to start
//! the packet). A packet whose fix-IP-source annotation (`FIX_IP_SRC`,
//! set by `ICMPError`) is set gets IPADDR as its source address and a
//! recomputed header checksum, and the annotation is cleared. Other
//! packets pass untouched; a marked packet too short for its header is
//! dropped.
//!
//! # Keywords
//! * `IPADDR` (IP address): the source address to write.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! ... -> ICMPError(10.0.0.1, timeexceeded) -> FixIPSrc(10.0.0.1) -> ...
//! ```

use alloc::boxed::Box;

use crate::confparse::Ipv4;
use crate::element::{simple_action, Element, ElementClass};
use crate::net::{checksum, ip};
use crate::packet::{anno, Packet};
use crate::router::Ctx;

/// The `FixIPSrc` class.
pub static CLASS: ElementClass = ElementClass {
    name: "FixIPSrc",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| Ok(Box::new(FixIpSrc(args.required::<Ipv4>("IPADDR")?))),
};

/// Rewrites marked sources.
pub struct FixIpSrc(Ipv4);

impl FixIpSrc {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        if p.anno_u8(anno::FIX_IP_SRC).unwrap_or(0) == 0 {
            return Some(p);
        }
        p.set_anno_u8(anno::FIX_IP_SRC, 0);
        let src = self.0 .0;
        let fixed = super::ip_header_mut(&mut p).and_then(|h| {
            let hlen = usize::from(h[0] & 0x0f) * 4;
            let h = h.get_mut(..hlen).filter(|_| hlen >= ip::MIN_HEADER_LEN)?;
            h[12..16].copy_from_slice(&src);
            ip::put16(h, ip::SUM_OFF, 0);
            let sum = checksum::checksum(h);
            ip::put16(h, ip::SUM_OFF, sum);
            Some(())
        });
        match fixed {
            Some(()) => Some(p),
            None => {
                cx.kill(p);
                None
            }
        }
    }
}

impl Element for FixIpSrc {
    simple_action!();
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::checksum;
    use crate::packet::{anno, Packet};
    use crate::testing::{router_from_source, sink_contents};

    fn header() -> Vec<u8> {
        let mut h = alloc::vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
        let s = checksum::checksum(&h);
        h[10..12].copy_from_slice(&s.to_be_bytes());
        h
    }

    #[test]
    fn rewrites_only_marked_packets() {
        let (r, _) = router_from_source("Idle -> f :: FixIPSrc(10.0.0.1) -> s :: TestSink;");
        let f = r.find("f").unwrap();
        r.inject(f, 0, Packet::from_slice(&header()));
        let mut marked = Packet::from_slice(&header());
        marked.set_anno_u8(anno::FIX_IP_SRC, 1);
        r.inject(f, 0, marked);
        let mut short = Packet::from_slice(&[0x45, 0, 0]);
        short.set_anno_u8(anno::FIX_IP_SRC, 1);
        r.inject(f, 0, short);
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, header());
        assert_eq!(got[1].1[12..16], [10, 0, 0, 1]);
        assert_eq!(checksum::checksum(&got[1].1), 0);
    }
}

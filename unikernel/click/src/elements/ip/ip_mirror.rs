//! `IPMirror([DST_ANNO])`: swaps the source and destination of IP packets.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Swaps the IP source and destination addresses and, in the first
//! fragment of a TCP or UDP packet, the source and destination ports.
//! Checksums stay valid (a swap keeps their sums). Packets whose IP
//! header is missing or truncated pass unchanged. Expects the IP header
//! annotation, or an IP header at the start of the packet.
//!
//! # Keywords
//! * `DST_ANNO` (bool, default true): also set the destination IP
//!   annotation to the new destination.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> IPMirror -> Discard;
//! ```

use alloc::boxed::Box;

use super::ip_header_mut;
use crate::element::{in_place_action, Element, ElementClass};
use crate::net::ip;
use crate::packet::Packet;

/// The `IPMirror` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPMirror",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        Ok(Box::new(IpMirror(
            args.optional("DST_ANNO")?.unwrap_or(true),
        )))
    },
};

/// Swaps addresses and ports; `.0`: set the annotation.
pub struct IpMirror(bool);

fn mirror(p: &mut Packet, dst_anno: bool) {
    let Some(h) = ip_header_mut(p) else {
        return;
    };
    let hl = usize::from(h[0] & 0x0f) * 4;
    let (src, dst) = h[ip::SRC_OFF..ip::SRC_OFF + 8].split_at_mut(4);
    src.swap_with_slice(dst);
    let new_dst = [h[16], h[17], h[18], h[19]];
    let first_frag = u16::from_be_bytes([h[6], h[7]]) & 0x1fff == 0;
    if first_frag && matches!(h[9], 6 | 17) && hl >= ip::MIN_HEADER_LEN && h.len() >= hl + 4 {
        let (sp, dp) = h[hl..hl + 4].split_at_mut(2);
        sp.swap_with_slice(dp);
    }
    if dst_anno {
        p.set_dst_ip_anno(new_dst);
    }
}

impl Element for IpMirror {
    in_place_action!(|el, p| mirror(p, el.0));
}

#[cfg(test)]
mod tests {
    use crate::net::checksum;
    use crate::packet::Packet;
    use crate::testing::{router_from_source, TestSink};

    #[test]
    fn swaps_addresses_and_ports_keeping_checksums() {
        let mut f = [0u8; 28];
        f[0] = 0x45;
        f[3] = 28;
        f[8] = 64;
        f[9] = 17;
        f[12..20].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f[20..24].copy_from_slice(&[0x12, 0x34, 0, 53]);
        let c = checksum::checksum(&f[..20]);
        f[10..12].copy_from_slice(&c.to_be_bytes());
        let (r, _) = router_from_source("Idle -> m :: IPMirror -> s :: TestSink;");
        r.inject(r.find("m").unwrap(), 0, Packet::from_slice(&f));
        r.with_element(r.find("s").unwrap(), |e, _| {
            let p = &e.downcast_ref::<TestSink>().unwrap().got[0].1;
            let d = p.data();
            assert_eq!(&d[12..20], &[10, 0, 0, 2, 10, 0, 0, 1]);
            assert_eq!(&d[20..24], &[0, 53, 0x12, 0x34]);
            assert_eq!(checksum::checksum(&d[..20]), 0);
            assert_eq!(p.dst_ip_anno(), [10, 0, 0, 1]);
        });
        // A truncated packet passes unchanged.
        r.inject(r.find("m").unwrap(), 0, Packet::from_slice(&[0x45, 0]));
        r.with_element(r.find("s").unwrap(), |e, _| {
            assert_eq!(
                e.downcast_ref::<TestSink>().unwrap().got[1].1.data(),
                &[0x45, 0]
            );
        });
    }
}

//! `IP6Mirror`: swaps IPv6 source and destination addresses (and TCP/UDP
//! ports).
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Needs the IPv6 header annotation (else the header is taken to start
//! the packet). Swaps the source and destination addresses; when the
//! packet carries a TCP or UDP header (after any extension headers, not a
//! later fragment), swaps its ports too. Checksums stay valid: the
//! swapped fields are summed in the same words. Packets too short for an
//! IPv6 header pass unchanged.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIP6Header -> IP6Mirror -> Discard;
//! ```

use alloc::boxed::Box;

use crate::element::{in_place_action, Element, ElementClass};
use crate::net::ip6;
/// The `IP6Mirror` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IP6Mirror",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(Ip6Mirror)),
};

/// Mirrors IPv6 packets.
pub struct Ip6Mirror;

/// Swaps the addresses (and ports) of the IPv6 packet at the start of `b`.
pub(crate) fn mirror(b: &mut [u8]) {
    if b.len() < ip6::HEADER_LEN {
        return;
    }
    for i in 0..16 {
        b.swap(ip6::SRC_OFF + i, ip6::DST_OFF + i);
    }
    if let Ok(t) = ip6::transport(b) {
        if matches!(t.proto, ip6::NXT_TCP | ip6::NXT_UDP) && t.is_first() && b.len() >= t.offset + 4
        {
            let o = t.offset;
            b.swap(o, o + 2);
            b.swap(o + 1, o + 3);
        }
    }
}

impl Element for Ip6Mirror {
    in_place_action!(|_el, p| {
        if let Some(off) = super::ip6_offset(p) {
            mirror(&mut p.data_mut()[off..]);
        }
    });
}

#[cfg(test)]
mod tests {
    use crate::net::ip6;
    use crate::packet::Packet;
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn swaps_addresses_and_ports_keeping_the_checksum() {
        let (r, _) = router_from_source("Idle -> m :: IP6Mirror -> s :: TestSink;");
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        a[15] = 1;
        b[15] = 2;
        let udp = [0x10, 0x01, 0x00, 0x35, 0, 10, 0, 0, 7, 7];
        let p = ip6::build(&a, &b, ip6::NXT_UDP, 64, &udp);
        r.inject(r.find("m").unwrap(), 0, Packet::from_slice(&p));
        let got = &sink_contents(&r, "s")[0].1;
        assert_eq!((got[23], got[39]), (2, 1));
        assert_eq!(got[40..44], [0x00, 0x35, 0x10, 0x01]);
        assert_eq!(ip6::upper_checksum(&b, &a, ip6::NXT_UDP, &got[40..]), 0);
    }
}

//! Neighbour-discovery messages (RFC 4861) for `IP6NDSolicitor` and
//! `IP6NDAdvertiser`: building solicitations and advertisements as whole
//! Ethernet frames, and checking received ones. The ICMPv6 part (message
//! layout, options, checksum) is smoltcp's `wire` module; the Ethernet and
//! IPv6 headers around it are ours (see `net::ip6`).

use alloc::vec::Vec;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv6Packet, Icmpv6Repr, Ipv6Address, NdiscNeighborFlags, NdiscRepr, RawHardwareAddress,
};

use crate::net::ip6::{self, Addr};

/// ICMPv6 type of a neighbour solicitation.
pub const SOLICIT: u8 = 135;
/// ICMPv6 type of a neighbour advertisement.
pub const ADVERT: u8 = 136;

/// A received solicitation or advertisement that passed RFC 4861's
/// checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// The ICMPv6 type.
    pub kind: u8,
    /// The IPv6 source.
    pub src: Addr,
    /// The target address.
    pub target: Addr,
    /// The link-layer address option (source for solicitations, target
    /// for advertisements), if present.
    pub lladdr: Option<[u8; 6]>,
    /// The Ethernet source.
    pub ether_src: [u8; 6],
    /// The advertisement flags byte (0 for a solicitation).
    pub flags: u8,
}

/// Parses the Ethernet frame `f` as a neighbour solicitation or
/// advertisement: Ethernet type IPv6, no extension headers, hop limit
/// 255, ICMPv6 code 0, a correct checksum, a unicast target, well-formed
/// options. `None` for anything else.
pub fn parse(f: &[u8]) -> Option<Message> {
    if f.get(12..14)? != [0x86, 0xDD] {
        return None;
    }
    let ip = &f[14..];
    let len = ip6::check(ip).ok()?;
    let ip = &ip[..len];
    let h = ip6::Ipv6Header::new(ip)?;
    if h.next_header() != ip6::NXT_ICMP6 || h.hop_limit() != 255 {
        return None;
    }
    // smoltcp checks the length for the type, the checksum, code 0 and
    // every option's length; RFC 4861's hop limit and unicast target are
    // checks of the receiver, so they stay here.
    let icmp = Icmpv6Packet::new_checked(&ip[ip6::HEADER_LEN..]).ok()?;
    let repr = Icmpv6Repr::parse(
        &Ipv6Address::from(h.src()),
        &Ipv6Address::from(h.dst()),
        &icmp,
        &ChecksumCapabilities::default(),
    )
    .ok()?;
    let (kind, target, lladdr, flags) = match repr {
        Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target_addr,
            lladdr,
        }) => (SOLICIT, target_addr, lladdr, 0),
        Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
            flags,
            target_addr,
            lladdr,
        }) => (ADVERT, target_addr, lladdr, flags.bits()),
        _ => return None,
    };
    if target.is_multicast() {
        return None;
    }
    let mut ether_src = [0u8; 6];
    ether_src.copy_from_slice(&f[6..12]);
    Some(Message {
        kind,
        src: h.src(),
        target: target.octets(),
        lladdr: lladdr.and_then(|a| a.as_bytes().try_into().ok()),
        ether_src,
        flags,
    })
}

/// A whole Ethernet frame: Ethernet and IPv6 headers (hop limit 255,
/// next header ICMPv6) around the ND message `nd`.
fn frame(eth_dst: [u8; 6], eth_src: [u8; 6], src: &Addr, dst: &Addr, nd: NdiscRepr) -> Vec<u8> {
    let msg = Icmpv6Repr::Ndisc(nd);
    let len = msg.buffer_len();
    let mut f = alloc::vec![0u8; 14 + ip6::HEADER_LEN + len];
    f[..6].copy_from_slice(&eth_dst);
    f[6..12].copy_from_slice(&eth_src);
    f[12..14].copy_from_slice(&[0x86, 0xDD]);
    ip6::write_header(&mut f[14..], len as u16, ip6::NXT_ICMP6, 255, src, dst);
    msg.emit(
        &Ipv6Address::from(*src),
        &Ipv6Address::from(*dst),
        &mut Icmpv6Packet::new_unchecked(&mut f[14 + ip6::HEADER_LEN..]),
        &ChecksumCapabilities::default(),
    );
    f
}

/// A solicitation from `my_ip`/`my_eth` for `target`, to its
/// solicited-node multicast group.
pub fn solicitation(my_ip: &Addr, my_eth: [u8; 6], target: &Addr) -> Vec<u8> {
    let group = ip6::solicited_node(target);
    frame(
        ip6::multicast_ether(&group),
        my_eth,
        my_ip,
        &group,
        NdiscRepr::NeighborSolicit {
            target_addr: Ipv6Address::from(*target),
            lladdr: Some(RawHardwareAddress::from_bytes(&my_eth)),
        },
    )
}

/// An advertisement of `target` at `eth`, answering a solicitation from
/// `to_ip` (`::` for duplicate-address detection: then to all nodes,
/// unsolicited) at Ethernet address `to_eth`.
pub fn advertisement(to_eth: [u8; 6], to_ip: &Addr, target: &Addr, eth: [u8; 6]) -> Vec<u8> {
    let (dst, flags) = if ip6::is_unspecified(to_ip) {
        let mut all = [0u8; 16];
        all[..2].copy_from_slice(&[0xFF, 0x02]);
        all[15] = 1;
        (all, NdiscNeighborFlags::ROUTER)
    } else {
        (
            *to_ip,
            NdiscNeighborFlags::ROUTER | NdiscNeighborFlags::SOLICITED,
        )
    };
    let eth_dst = if ip6::is_multicast(&dst) {
        ip6::multicast_ether(&dst)
    } else {
        to_eth
    };
    frame(
        eth_dst,
        eth,
        target,
        &dst,
        NdiscRepr::NeighborAdvert {
            flags,
            target_addr: Ipv6Address::from(*target),
            lladdr: Some(RawHardwareAddress::from_bytes(&eth)),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicitation_and_advertisement_round_trip() {
        let mut me = [0u8; 16];
        me[..2].copy_from_slice(&[0xfd, 0]);
        me[15] = 1;
        let mut them = me;
        them[15] = 2;
        let eth = [2, 0, 0, 0, 0, 1];
        let ns = solicitation(&me, eth, &them);
        assert_eq!(ns.len(), 86);
        assert_eq!(ns[..6], [0x33, 0x33, 0xff, 0, 0, 2]);
        let m = parse(&ns).unwrap();
        assert_eq!(
            (m.kind, m.src, m.target, m.lladdr),
            (SOLICIT, me, them, Some(eth))
        );
        let na = advertisement(eth, &me, &them, [2, 0, 0, 0, 0, 2]);
        let m = parse(&na).unwrap();
        assert_eq!(
            (m.kind, m.target, m.lladdr),
            (ADVERT, them, Some([2, 0, 0, 0, 0, 2]))
        );
        assert_eq!(m.flags, 0x80 | 0x40, "router and solicited");
        // The layout Click writes: type, code, checksum, flags and three
        // zero bytes, the target, one 8-byte target link-layer option; the
        // checksum agrees with our own pseudo-header sum.
        let icmp = &na[14 + 40..];
        assert_eq!(icmp.len(), 32);
        assert_eq!(icmp[..2], [ADVERT, 0]);
        assert_eq!(icmp[4..8], [0xC0, 0, 0, 0]);
        assert_eq!(icmp[8..24], them);
        assert_eq!(icmp[24..32], [2, 1, 2, 0, 0, 0, 0, 2]);
        assert_eq!(ip6::upper_checksum(&them, &me, ip6::NXT_ICMP6, icmp), 0);
        assert_eq!(ns[14 + 40 + 24..14 + 40 + 26], [1, 1], "source ll option");
        // Bad checksum, hop limit, option length: refused.
        for (at, v) in [(14 + 40 + 3, 0x55), (14 + 7, 64), (14 + 40 + 25, 0)] {
            let mut bad = ns.clone();
            bad[at] = v;
            assert_eq!(parse(&bad), None, "byte {at}");
        }
        assert_eq!(parse(&ns[..60]), None);
        let dad = advertisement(eth, &[0; 16], &them, eth);
        assert_eq!(dad[..6], [0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(parse(&dad).unwrap().flags, 0x80, "router only");
    }
}

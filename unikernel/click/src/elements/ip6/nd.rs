//! Neighbour-discovery messages (RFC 4861) for `IP6NDSolicitor` and
//! `IP6NDAdvertiser`: building solicitations and advertisements as whole
//! Ethernet frames, and checking received ones.

use alloc::vec::Vec;

use crate::net::ip6::{self, Addr};

/// ICMPv6 type of a neighbour solicitation.
pub const SOLICIT: u8 = 135;
/// ICMPv6 type of a neighbour advertisement.
pub const ADVERT: u8 = 136;
/// Option: source link-layer address.
const OPT_SOURCE_LL: u8 = 1;
/// Option: target link-layer address.
const OPT_TARGET_LL: u8 = 2;
/// Advertisement flags: router.
pub const FLAG_ROUTER: u8 = 0x80;
/// Advertisement flags: solicited.
pub const FLAG_SOLICITED: u8 = 0x40;
/// Length of a solicitation or advertisement with one link-layer option.
const MSG_LEN: usize = 32;

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
    let m = &ip[ip6::HEADER_LEN..];
    if m.len() < 24 || !matches!(m[0], SOLICIT | ADVERT) || m[1] != 0 {
        return None;
    }
    if ip6::upper_checksum(&h.src(), &h.dst(), ip6::NXT_ICMP6, m) != 0 {
        return None;
    }
    let mut target = [0u8; 16];
    target.copy_from_slice(&m[8..24]);
    if ip6::is_multicast(&target) {
        return None;
    }
    let want = if m[0] == SOLICIT {
        OPT_SOURCE_LL
    } else {
        OPT_TARGET_LL
    };
    let mut lladdr = None;
    let mut opts = &m[24..];
    while !opts.is_empty() {
        let olen = *opts.get(1)? as usize * 8;
        if olen == 0 || olen > opts.len() {
            return None;
        }
        if opts[0] == want && olen >= 8 {
            lladdr = Some([opts[2], opts[3], opts[4], opts[5], opts[6], opts[7]]);
        }
        opts = &opts[olen..];
    }
    let mut ether_src = [0u8; 6];
    ether_src.copy_from_slice(&f[6..12]);
    Some(Message {
        kind: m[0],
        src: h.src(),
        target,
        lladdr,
        ether_src,
        flags: if m[0] == ADVERT { m[4] } else { 0 },
    })
}

/// A whole Ethernet frame: Ethernet and IPv6 headers (hop limit 255,
/// next header ICMPv6) around an ND message of `kind` with `flags`,
/// `target` and one link-layer option `opt` of type `opt_kind`.
#[allow(clippy::too_many_arguments)]
fn frame(
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    src: &Addr,
    dst: &Addr,
    kind: u8,
    flags: u8,
    target: &Addr,
    opt_kind: u8,
    opt: [u8; 6],
) -> Vec<u8> {
    let mut f = alloc::vec![0u8; 14 + ip6::HEADER_LEN + MSG_LEN];
    f[..6].copy_from_slice(&eth_dst);
    f[6..12].copy_from_slice(&eth_src);
    f[12..14].copy_from_slice(&[0x86, 0xDD]);
    ip6::write_header(&mut f[14..], MSG_LEN as u16, ip6::NXT_ICMP6, 255, src, dst);
    let m = &mut f[14 + ip6::HEADER_LEN..];
    m[0] = kind;
    m[4] = flags;
    m[8..24].copy_from_slice(target);
    m[24] = opt_kind;
    m[25] = 1;
    m[26..32].copy_from_slice(&opt);
    ip6::set_upper_checksum(src, dst, ip6::NXT_ICMP6, m, 2);
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
        SOLICIT,
        0,
        target,
        OPT_SOURCE_LL,
        my_eth,
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
        (all, FLAG_ROUTER)
    } else {
        (*to_ip, FLAG_ROUTER | FLAG_SOLICITED)
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
        ADVERT,
        flags,
        target,
        OPT_TARGET_LL,
        eth,
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
        assert_eq!(m.flags, FLAG_ROUTER | FLAG_SOLICITED);
        // Bad checksum, hop limit, option length: refused.
        for (at, v) in [(14 + 40 + 3, 0x55), (14 + 7, 64), (14 + 40 + 25, 0)] {
            let mut bad = ns.clone();
            bad[at] = v;
            assert_eq!(parse(&bad), None, "byte {at}");
        }
        assert_eq!(parse(&ns[..60]), None);
        let dad = advertisement(eth, &[0; 16], &them, eth);
        assert_eq!(dad[..6], [0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(parse(&dad).unwrap().flags, FLAG_ROUTER);
    }
}

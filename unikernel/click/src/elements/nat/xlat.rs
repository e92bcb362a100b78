//! IPv4/IPv6 header translation pieces (RFC 7915) shared by `NAT64` and
//! the stateless `ProtocolTranslator46`/`64`: ICMP type and code
//! mappings, header writers and transport checksums.

use crate::net::{checksum, ip, ip6};

/// ICMP echo request and reply (IPv4), and ICMPv6's.
pub const ECHO4: u8 = 8;
/// ICMP echo reply.
pub const ECHO_REPLY4: u8 = 0;
/// ICMPv6 echo request.
pub const ECHO6: u8 = 128;
/// ICMPv6 echo reply.
pub const ECHO_REPLY6: u8 = 129;

/// The ICMPv6 error (type, code, fourth word) RFC 7915 section 4.2 gives
/// for ICMP error `ty`/`code` whose second 16-bit word of the rest of
/// header is `rest` (the next-hop MTU of fragmentation needed); `None`
/// for errors it drops.
pub fn icmp4_error_to_6(ty: u8, code: u8, rest: u16) -> Option<(u8, u8, u32)> {
    Some(match (ty, code) {
        (3, 0 | 1 | 5..=8 | 11 | 12) => (1, 0, 0),
        (3, 9 | 10 | 13 | 15) => (1, 1, 0),
        (3, 3) => (1, 4, 0),
        (3, 2) => (4, 1, 6),
        (3, 4) => (2, 0, u32::from(rest).saturating_add(20).max(1280)),
        (11, c) => (3, c, 0),
        (12, 0 | 2) => (4, 0, 0),
        _ => return None,
    })
}

/// The ICMP error (type, code, rest-of-header word) RFC 7915 section 5.2
/// gives for ICMPv6 error `ty`/`code` with fourth word `word` (the MTU of
/// packet too big); `None` for errors it drops.
pub fn icmp6_error_to_4(ty: u8, code: u8, word: u32) -> Option<(u8, u8, u32)> {
    Some(match (ty, code) {
        (1, 0 | 2 | 3) => (3, 1, 0),
        (1, 1) => (3, 10, 0),
        (1, 4) => (3, 3, 0),
        (2, _) => (3, 4, word.saturating_sub(20).min(0xFFFF)),
        (3, c) => (11, c, 0),
        (4, 1) => (3, 2, 0),
        _ => return None,
    })
}

/// Writes a 20-byte IPv4 header (with checksum) at the start of `d`, as
/// RFC 7915 builds one from an IPv6 header: identification 0, don't
/// fragment set when `df`.
#[allow(clippy::too_many_arguments)]
pub fn write_ipv4(
    d: &mut [u8],
    tos: u8,
    total: u16,
    df: bool,
    ttl: u8,
    proto: u8,
    src: &[u8; 4],
    dst: &[u8; 4],
) {
    d[..20].fill(0);
    d[0] = 0x45;
    d[1] = tos;
    ip::put16(d, 2, total);
    if df {
        ip::put16(d, 6, 0x4000);
    }
    d[ip::TTL_OFF] = ttl;
    d[9] = proto;
    d[ip::SRC_OFF..ip::SRC_OFF + 4].copy_from_slice(src);
    d[ip::DST_OFF..ip::DST_OFF + 4].copy_from_slice(dst);
    ip::set_checksum(d, 20);
}

/// Writes a 40-byte IPv6 header at the start of `d` with traffic class
/// `tos` (the IPv4 TOS byte), flow label 0.
pub fn write_ipv6(
    d: &mut [u8],
    plen: u16,
    nxt: u8,
    tos: u8,
    hlim: u8,
    src: &ip6::Addr,
    dst: &ip6::Addr,
) {
    ip6::write_header(d, plen, nxt, hlim, src, dst);
    d[0] = 0x60 | (tos >> 4);
    d[1] = tos << 4;
}

/// The one's-complement sum of the IPv4 pseudo-header.
pub fn pseudo4(src: &[u8; 4], dst: &[u8; 4], proto: u8, len: usize) -> u32 {
    let s = checksum::add(0, src);
    let s = checksum::add(s, dst);
    checksum::add(s, &[0, proto, (len >> 8) as u8, len as u8])
}

/// Stores the checksum of transport message `m` (field at `off`) with
/// pseudo-header sum `pseudo` (0 for ICMPv4, which has none).
pub fn set_sum(m: &mut [u8], off: usize, pseudo: u32, udp: bool) {
    if m.len() < off + 2 {
        return;
    }
    m[off..off + 2].copy_from_slice(&[0, 0]);
    let mut c = checksum::finish(checksum::add(pseudo, m));
    if c == 0 && udp {
        c = 0xFFFF;
    }
    m[off..off + 2].copy_from_slice(&c.to_be_bytes());
}

/// Where a transport protocol keeps its checksum.
pub fn sum_off(proto: u8) -> Option<usize> {
    match proto {
        ip::PROTO_TCP => Some(16),
        ip::PROTO_UDP => Some(6),
        _ => None,
    }
}

/// The IPv6 next header for IPv4 protocol `proto` (ICMP becomes ICMPv6).
pub fn nxt_of(proto: u8) -> u8 {
    if proto == ip::PROTO_ICMP {
        ip6::NXT_ICMP6
    } else {
        proto
    }
}

/// The IPv4 protocol for IPv6 next header `nxt` (ICMPv6 becomes ICMP).
pub fn proto_of(nxt: u8) -> u8 {
    if nxt == ip6::NXT_ICMP6 {
        ip::PROTO_ICMP
    } else {
        nxt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_error_mappings_follow_rfc_7915() {
        assert_eq!(icmp4_error_to_6(3, 1, 0), Some((1, 0, 0)));
        assert_eq!(icmp4_error_to_6(3, 3, 0), Some((1, 4, 0)));
        assert_eq!(icmp4_error_to_6(3, 4, 1400), Some((2, 0, 1420)));
        assert_eq!(icmp4_error_to_6(3, 4, 500), Some((2, 0, 1280)));
        assert_eq!(icmp4_error_to_6(11, 0, 0), Some((3, 0, 0)));
        assert_eq!(icmp4_error_to_6(5, 0, 0), None);
        assert_eq!(icmp6_error_to_4(1, 4, 0), Some((3, 3, 0)));
        assert_eq!(icmp6_error_to_4(2, 0, 1500), Some((3, 4, 1480)));
        assert_eq!(icmp6_error_to_4(4, 1, 0), Some((3, 2, 0)));
        assert_eq!(icmp6_error_to_4(4, 0, 0), None);
    }

    #[test]
    fn ipv4_header_checksums_and_ipv6_carries_tos() {
        let mut d = [0u8; 20];
        let (src, dst) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        write_ipv4(&mut d, 0x10, 20, true, 64, 6, &src, &dst);
        assert_eq!(ip::check(&d, true), Ok((20, 20)));
        assert_eq!(checksum::finish(checksum::add(0, &d)), 0);
        assert_eq!(ip::get16(&d, 6), 0x4000);
        let mut h = [0u8; 40];
        write_ipv6(&mut h, 8, 17, 0xB8, 9, &[1; 16], &[2; 16]);
        assert_eq!(ip6::Ipv6Header::new(&h).unwrap().traffic_class(), 0xB8);
        assert_eq!(nxt_of(1), 58);
        assert_eq!(proto_of(58), 1);
    }
}

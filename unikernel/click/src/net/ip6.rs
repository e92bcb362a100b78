//! IPv6 header fields (RFC 8200) on a byte slice that starts at the header:
//! the fixed header, the extension-header chain up to the transport header
//! (with a bound on its length), fragment headers, the pseudo-header
//! checksum (RFC 8200 section 8.1), and the address classes and mappings
//! the ICMPv6 and neighbour-discovery elements need.
//!
//! Every function checks lengths, so a short or malformed packet gives an
//! error, never an index past the slice.
//!
//! # What smoltcp does and what stays ours
//! Neighbour solicitations and advertisements (`elements/ip6/nd.rs`, for
//! `IP6NDAdvertiser` and `IP6NDSolicitor`) are parsed and built with
//! smoltcp's `wire` module (`Icmpv6Repr::Ndisc`: length per type, options,
//! code, checksum); those run once per neighbour, not per packet, and
//! smoltcp's emitter writes the same bytes as Click (the `nd6` golden case
//! checks it). The rest is ours:
//! * the header checks, the extension-header walk, `DecIP6HLIM`, the
//!   classifier and the rewriters run on every packet and edit it in
//!   place (an incremental checksum update, one byte of hop limit),
//!   where smoltcp's `Repr`s parse into a copy and emit a whole header;
//! * `ICMP6PingResponder` turns the request into the reply in place with
//!   an incremental checksum update, where `Icmpv6Repr` would copy the
//!   payload and sum it all again;
//! * `ICMP6Error` quotes the offending packet byte for byte, as Click
//!   does, where smoltcp's error `Repr`s re-emit the quoted IPv6 header
//!   from an `Ipv6Repr` (losing traffic class and flow label) and write
//!   code 0 into every packet too big, whatever `CODE` says;
//! * the pseudo-header checksum here also serves TCP, UDP and NAT64's
//!   translations, which smoltcp's `Repr`s would re-serialize.

use super::checksum;

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = 40;
/// Byte offset of the payload length.
pub const PLEN_OFF: usize = 4;
/// Byte offset of the next-header field.
pub const NXT_OFF: usize = 6;
/// Byte offset of the hop limit.
pub const HLIM_OFF: usize = 7;
/// Byte offset of the source address.
pub const SRC_OFF: usize = 8;
/// Byte offset of the destination address.
pub const DST_OFF: usize = 24;
/// Ethernet type of IPv6.
pub const ETHERTYPE: u16 = 0x86DD;

/// Next header: hop-by-hop options.
pub const NXT_HOPOPTS: u8 = 0;
/// Next header: TCP.
pub const NXT_TCP: u8 = 6;
/// Next header: UDP.
pub const NXT_UDP: u8 = 17;
/// Next header: routing header.
pub const NXT_ROUTING: u8 = 43;
/// Next header: fragment header.
pub const NXT_FRAGMENT: u8 = 44;
/// Next header: authentication header.
pub const NXT_AH: u8 = 51;
/// Next header: ICMPv6.
pub const NXT_ICMP6: u8 = 58;
/// Next header: no next header.
pub const NXT_NONE: u8 = 59;
/// Next header: destination options.
pub const NXT_DSTOPTS: u8 = 60;

/// How many extension headers [`transport`] walks before it gives up
/// (RFC 8200 allows each kind once, destination options twice: a chain
/// longer than this is an attack or garbage).
pub const MAX_EXT_HEADERS: usize = 8;

/// An IPv6 address as 16 bytes.
pub type Addr = [u8; 16];

/// The unspecified address `::`.
pub const UNSPECIFIED: Addr = [0; 16];

fn be16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

fn addr(b: &[u8], off: usize) -> Addr {
    let mut a = [0; 16];
    a.copy_from_slice(&b[off..off + 16]);
    a
}

/// A read-only view of an IPv6 header at least 40 bytes long.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Header<'a>(&'a [u8]);

impl<'a> Ipv6Header<'a> {
    /// A view of `b`, or `None` if it is shorter than 40 bytes.
    pub fn new(b: &'a [u8]) -> Option<Self> {
        (b.len() >= HEADER_LEN).then_some(Ipv6Header(b))
    }
    /// Version field.
    pub fn version(&self) -> u8 {
        self.0[0] >> 4
    }
    /// Traffic class.
    pub fn traffic_class(&self) -> u8 {
        (self.0[0] << 4) | (self.0[1] >> 4)
    }
    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        u32::from_be_bytes([0, self.0[1] & 0x0F, self.0[2], self.0[3]])
    }
    /// Payload length field.
    pub fn payload_len(&self) -> u16 {
        be16(self.0, PLEN_OFF)
    }
    /// Next header.
    pub fn next_header(&self) -> u8 {
        self.0[NXT_OFF]
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.0[HLIM_OFF]
    }
    /// Source address.
    pub fn src(&self) -> Addr {
        addr(self.0, SRC_OFF)
    }
    /// Destination address.
    pub fn dst(&self) -> Addr {
        addr(self.0, DST_OFF)
    }
}

/// Why an IPv6 packet is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than 40 bytes.
    Tiny,
    /// Version is not 6.
    Version,
    /// Payload length beyond the packet.
    Length,
    /// An extension header runs past the end of the packet.
    Truncated,
    /// More than [`MAX_EXT_HEADERS`] extension headers, or a hop-by-hop
    /// header anywhere but first.
    Chain,
}

/// Checks the fixed header the way Click's CheckIP6Header does: returns
/// the packet's length by its payload-length field (header included).
#[inline]
pub fn check(b: &[u8]) -> Result<usize, HeaderError> {
    let Some(h) = b.first_chunk::<HEADER_LEN>() else {
        return Err(HeaderError::Tiny);
    };
    if h[0] >> 4 != 6 {
        return Err(HeaderError::Version);
    }
    let len = HEADER_LEN + u16::from_be_bytes([h[4], h[5]]) as usize;
    if len > b.len() {
        return Err(HeaderError::Length);
    }
    Ok(len)
}

/// A fragment header's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Offset of this fragment's data in the original payload, in bytes.
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
    /// Identification.
    pub id: u32,
}

/// Where the transport header is, after the extension headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transport {
    /// The protocol of the header at `offset` (the last next-header value).
    pub proto: u8,
    /// Offset of the transport header from the start of the IPv6 header.
    pub offset: usize,
    /// The fragment header, if the packet has one.
    pub fragment: Option<Fragment>,
    /// Offset of the next-header byte that holds `proto` (6 for a packet
    /// without extension headers), for ICMPv6 parameter-problem pointers.
    pub nxt_at: usize,
}

impl Transport {
    /// True when the transport header itself is in this packet (not a
    /// non-first fragment).
    pub fn is_first(&self) -> bool {
        self.fragment.is_none_or(|f| f.offset == 0)
    }
}

/// True for the next-header values [`transport`] walks over.
pub fn is_extension(nxt: u8) -> bool {
    matches!(
        nxt,
        NXT_HOPOPTS | NXT_ROUTING | NXT_FRAGMENT | NXT_AH | NXT_DSTOPTS
    )
}

/// Walks the extension headers of the IPv6 packet `b` (which must hold at
/// least the fixed header) to the transport header. A non-first fragment
/// stops at its fragment header (the rest is data); so does an ESP or
/// no-next-header value, or any protocol this does not know as an
/// extension. A chain that runs past the end of `b` is `Truncated`, as is
/// a first fragment whose chain does not fit in it (RFC 7112); more than
/// [`MAX_EXT_HEADERS`] headers is `Chain`.
pub fn transport(b: &[u8]) -> Result<Transport, HeaderError> {
    if b.len() < HEADER_LEN {
        return Err(HeaderError::Tiny);
    }
    let mut nxt = b[NXT_OFF];
    let mut nxt_at = NXT_OFF;
    let mut off = HEADER_LEN;
    let mut fragment = None;
    let mut count = 0;
    while is_extension(nxt) {
        if count == MAX_EXT_HEADERS || (nxt == NXT_HOPOPTS && count > 0) {
            return Err(HeaderError::Chain);
        }
        count += 1;
        let Some(h) = b.get(off..off + 8) else {
            return Err(HeaderError::Truncated);
        };
        let len = match nxt {
            NXT_FRAGMENT => 8,
            NXT_AH => (h[1] as usize + 2) * 4,
            _ => (h[1] as usize + 1) * 8,
        };
        if off + len > b.len() {
            return Err(HeaderError::Truncated);
        }
        let this = nxt;
        nxt_at = off;
        nxt = h[0];
        off += len;
        if this == NXT_FRAGMENT {
            let fo = be16(h, 2);
            let f = Fragment {
                offset: fo & !7,
                more: fo & 1 != 0,
                id: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
            };
            fragment = Some(f);
            if f.offset != 0 {
                break;
            }
        }
    }
    Ok(Transport {
        proto: nxt,
        offset: off,
        fragment,
        nxt_at,
    })
}

/// The one's-complement sum of the IPv6 pseudo-header (source,
/// destination, upper-layer length, next header), to be added to the sum
/// of the upper-layer data.
pub fn pseudo_sum(src: &Addr, dst: &Addr, len: u32, nxt: u8) -> u32 {
    let s = checksum::add(0, src);
    let s = checksum::add(s, dst);
    let s = checksum::add(s, &len.to_be_bytes());
    checksum::add(s, &[0, 0, 0, nxt])
}

/// The transport checksum of `data` (an upper-layer header and payload,
/// its checksum field included) over the IPv6 pseudo-header: 0 when `data`
/// holds a correct checksum, else the value to store after zeroing the
/// field.
pub fn upper_checksum(src: &Addr, dst: &Addr, nxt: u8, data: &[u8]) -> u16 {
    checksum::finish(checksum::add(
        pseudo_sum(src, dst, data.len() as u32, nxt),
        data,
    ))
}

/// Stores the correct checksum of the upper-layer message `data` whose
/// checksum field is at `sum_off` (2 for ICMPv6, 16 for TCP, 6 for UDP,
/// where 0 becomes 0xFFFF as RFC 8200 requires).
pub fn set_upper_checksum(src: &Addr, dst: &Addr, nxt: u8, data: &mut [u8], sum_off: usize) {
    if data.len() < sum_off + 2 {
        return;
    }
    data[sum_off..sum_off + 2].copy_from_slice(&[0, 0]);
    let mut c = upper_checksum(src, dst, nxt, data);
    if c == 0 && nxt == NXT_UDP {
        c = 0xFFFF;
    }
    data[sum_off..sum_off + 2].copy_from_slice(&c.to_be_bytes());
}

/// True for multicast addresses (ff00::/8).
pub fn is_multicast(a: &Addr) -> bool {
    a[0] == 0xFF
}

/// True for `::`.
pub fn is_unspecified(a: &Addr) -> bool {
    *a == UNSPECIFIED
}

/// True for link-local unicast addresses (fe80::/10).
pub fn is_link_local(a: &Addr) -> bool {
    a[0] == 0xFE && a[1] & 0xC0 == 0x80
}

/// The solicited-node multicast address of `a` (ff02::1:ffXX:XXXX).
pub fn solicited_node(a: &Addr) -> Addr {
    let mut m = [0u8; 16];
    m[0] = 0xFF;
    m[1] = 0x02;
    m[11] = 0x01;
    m[12] = 0xFF;
    m[13..].copy_from_slice(&a[13..]);
    m
}

/// The Ethernet address a multicast IPv6 address maps to (RFC 2464:
/// 33:33 and its last four bytes).
pub fn multicast_ether(a: &Addr) -> [u8; 6] {
    [0x33, 0x33, a[12], a[13], a[14], a[15]]
}

/// Writes a fixed IPv6 header (version 6, traffic class and flow label 0)
/// into the first 40 bytes of `b`.
pub fn write_header(b: &mut [u8], plen: u16, nxt: u8, hlim: u8, src: &Addr, dst: &Addr) {
    b[..4].copy_from_slice(&[0x60, 0, 0, 0]);
    b[PLEN_OFF..PLEN_OFF + 2].copy_from_slice(&plen.to_be_bytes());
    b[NXT_OFF] = nxt;
    b[HLIM_OFF] = hlim;
    b[SRC_OFF..SRC_OFF + 16].copy_from_slice(src);
    b[DST_OFF..DST_OFF + 16].copy_from_slice(dst);
}

/// Builds an IPv6 packet around `payload`, with a correct upper-layer
/// checksum for ICMPv6, TCP and UDP payloads (for tests and elements that
/// originate packets).
pub fn build(src: &Addr, dst: &Addr, nxt: u8, hlim: u8, payload: &[u8]) -> alloc::vec::Vec<u8> {
    let mut v = alloc::vec![0u8; HEADER_LEN + payload.len()];
    write_header(&mut v, payload.len() as u16, nxt, hlim, src, dst);
    v[HEADER_LEN..].copy_from_slice(payload);
    let sum_off = match nxt {
        NXT_ICMP6 => Some(2),
        NXT_TCP => Some(16),
        NXT_UDP => Some(6),
        _ => None,
    };
    if let Some(o) = sum_off {
        set_upper_checksum(src, dst, nxt, &mut v[HEADER_LEN..], o);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(last: u8) -> Addr {
        let mut x = [0u8; 16];
        x[0] = 0xfd;
        x[15] = last;
        x
    }

    #[test]
    fn header_fields_and_check() {
        let p = build(
            &a(1),
            &a(2),
            NXT_UDP,
            64,
            &[0, 1, 0, 2, 0, 12, 0, 0, 9, 9, 9, 9],
        );
        let h = Ipv6Header::new(&p).unwrap();
        assert_eq!((h.version(), h.payload_len(), h.next_header()), (6, 12, 17));
        assert_eq!((h.hop_limit(), h.src(), h.dst()), (64, a(1), a(2)));
        assert_eq!((h.traffic_class(), h.flow_label()), (0, 0));
        assert_eq!(check(&p), Ok(52));
        assert_eq!(check(&p[..39]), Err(HeaderError::Tiny));
        assert_eq!(check(&p[..51]), Err(HeaderError::Length));
        let mut v4 = p.clone();
        v4[0] = 0x45;
        assert_eq!(check(&v4), Err(HeaderError::Version));
        assert_eq!(upper_checksum(&a(1), &a(2), NXT_UDP, &p[40..]), 0);
    }

    #[test]
    fn extension_chain_is_walked_and_bounded() {
        // hop-by-hop (8 bytes) -> fragment (first) -> TCP.
        let mut pl = alloc::vec![NXT_FRAGMENT, 0, 0, 0, 0, 0, 0, 0];
        pl.extend_from_slice(&[NXT_TCP, 0, 0, 1, 0, 0, 0, 7]);
        pl.extend_from_slice(&[0; 20]);
        let p = build(&a(1), &a(2), NXT_HOPOPTS, 64, &pl);
        let t = transport(&p).unwrap();
        assert_eq!((t.proto, t.offset, t.nxt_at), (NXT_TCP, 56, 48));
        let f = t.fragment.unwrap();
        assert_eq!((f.offset, f.more, f.id, t.is_first()), (0, true, 7, true));
        // A later fragment stops at its fragment header.
        let mut later = p.clone();
        later[50] = 0x05;
        later[51] = 0xa8;
        let t = transport(&later).unwrap();
        assert_eq!(
            (t.offset, t.is_first(), t.fragment.unwrap().offset),
            (56, false, 0x5a8)
        );
        // Truncated chain, hop-by-hop out of place, endless chain.
        assert_eq!(transport(&p[..50]), Err(HeaderError::Truncated));
        let dst_opts = [NXT_DSTOPTS, 0, 0, 0, 0, 0, 0, 0];
        let endless: alloc::vec::Vec<u8> = dst_opts.iter().copied().cycle().take(8 * 20).collect();
        let p = build(&a(1), &a(2), NXT_DSTOPTS, 64, &endless);
        assert_eq!(transport(&p), Err(HeaderError::Chain));
        let p = build(
            &a(1),
            &a(2),
            NXT_DSTOPTS,
            64,
            &[NXT_HOPOPTS, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        assert_eq!(transport(&p), Err(HeaderError::Chain));
        // A long header length byte pointing past the end.
        let p = build(
            &a(1),
            &a(2),
            NXT_ROUTING,
            64,
            &[NXT_TCP, 255, 0, 0, 0, 0, 0, 0],
        );
        assert_eq!(transport(&p), Err(HeaderError::Truncated));
    }

    #[test]
    fn multicast_mappings() {
        let x = a(0x42);
        let m = solicited_node(&x);
        assert!(is_multicast(&m) && !is_multicast(&x));
        assert_eq!(m[11..], [1, 0xff, 0, 0, 0x42]);
        assert_eq!(multicast_ether(&m), [0x33, 0x33, 0xff, 0, 0, 0x42]);
        let mut ll = [0u8; 16];
        ll[0] = 0xfe;
        ll[1] = 0x80;
        assert!(is_link_local(&ll) && !is_link_local(&x));
    }
}

//! IPv4 header fields (RFC 791) on a byte slice that starts at the header.
//!
//! Readers take `&[u8]` and return `None` when the slice is shorter than
//! the 20-byte fixed header, so callers cannot index past a short packet.

use super::checksum;

/// Length of the fixed IPv4 header.
pub const MIN_HEADER_LEN: usize = 20;
/// Protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// Protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// Protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// Fragment offset mask in the flags/offset field.
pub const OFFMASK: u16 = 0x1FFF;
/// More-fragments flag.
pub const MF: u16 = 0x2000;
/// Byte offset of the TTL field.
pub const TTL_OFF: usize = 8;
/// Byte offset of the header checksum.
pub const SUM_OFF: usize = 10;
/// Byte offset of the source address.
pub const SRC_OFF: usize = 12;
/// Byte offset of the destination address.
pub const DST_OFF: usize = 16;

/// A read-only view of an IPv4 header at least 20 bytes long.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Header<'a>(&'a [u8]);

fn be16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

fn addr(b: &[u8], off: usize) -> [u8; 4] {
    [b[off], b[off + 1], b[off + 2], b[off + 3]]
}

impl<'a> Ipv4Header<'a> {
    /// A view of `b`, or `None` if it is shorter than 20 bytes. Nothing
    /// else is checked (see [`check`] for that).
    pub fn new(b: &'a [u8]) -> Option<Self> {
        (b.len() >= MIN_HEADER_LEN).then_some(Ipv4Header(b))
    }
    /// The bytes from the header to the end of the packet.
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }
    /// Version field.
    pub fn version(&self) -> u8 {
        self.0[0] >> 4
    }
    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        ((self.0[0] & 0x0F) as usize) << 2
    }
    /// Type of service.
    pub fn tos(&self) -> u8 {
        self.0[1]
    }
    /// Total length field.
    pub fn total_len(&self) -> u16 {
        be16(self.0, 2)
    }
    /// Identification.
    pub fn id(&self) -> u16 {
        be16(self.0, 4)
    }
    /// Flags and fragment offset, as one field.
    pub fn frag_field(&self) -> u16 {
        be16(self.0, 6)
    }
    /// True unless this is a non-first fragment (offset 0).
    pub fn is_first_fragment(&self) -> bool {
        self.frag_field() & OFFMASK == 0
    }
    /// True for any fragment (offset nonzero or more-fragments set).
    pub fn is_fragment(&self) -> bool {
        self.frag_field() & (OFFMASK | MF) != 0
    }
    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.0[TTL_OFF]
    }
    /// Protocol.
    pub fn protocol(&self) -> u8 {
        self.0[9]
    }
    /// Header checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.0, SUM_OFF)
    }
    /// Source address.
    pub fn src(&self) -> [u8; 4] {
        addr(self.0, SRC_OFF)
    }
    /// Destination address.
    pub fn dst(&self) -> [u8; 4] {
        addr(self.0, DST_OFF)
    }
    /// The transport header and payload after the header (empty when the
    /// header length exceeds the bytes present).
    pub fn payload(&self) -> &'a [u8] {
        self.0.get(self.header_len()..).unwrap_or(&[])
    }
}

/// True for class D (multicast) addresses.
pub fn is_multicast(a: [u8; 4]) -> bool {
    a[0] & 0xF0 == 0xE0
}

/// Why an IPv4 header is invalid, in Click's CheckIPHeader order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than 20 bytes.
    Tiny,
    /// Version is not 4.
    Version,
    /// IHL below 5.
    HeaderLen,
    /// Total length beyond the packet or below the header length.
    Length,
    /// Header checksum wrong.
    Checksum,
}

/// Checks an IPv4 header the way Click's CheckIPHeader does (without the
/// address checks): returns the header length and total length.
#[inline]
pub fn check(b: &[u8], verify_checksum: bool) -> Result<(usize, usize), HeaderError> {
    let Some(h) = b.first_chunk::<MIN_HEADER_LEN>() else {
        return Err(HeaderError::Tiny);
    };
    if h[0] >> 4 != 4 {
        return Err(HeaderError::Version);
    }
    let hlen = ((h[0] & 0x0F) as usize) << 2;
    if hlen < MIN_HEADER_LEN {
        return Err(HeaderError::HeaderLen);
    }
    let len = u16::from_be_bytes([h[2], h[3]]) as usize;
    if len > b.len() || len < hlen {
        return Err(HeaderError::Length);
    }
    if verify_checksum {
        // `len >= hlen` and `len <= b.len()`: the header is present. The
        // usual 20-byte header gets a fixed-length (unrolled) sum.
        let sum = if hlen == MIN_HEADER_LEN {
            checksum::sum20(h)
        } else {
            checksum::sum(&b[..hlen])
        };
        if sum != 0xFFFF {
            return Err(HeaderError::Checksum);
        }
    }
    Ok((hlen, len))
}

/// Recomputes the header checksum of the `hlen`-byte header at the start
/// of `b` (which must hold it).
pub fn set_checksum(b: &mut [u8], hlen: usize) {
    b[SUM_OFF..SUM_OFF + 2].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&b[..hlen]);
    b[SUM_OFF..SUM_OFF + 2].copy_from_slice(&c.to_be_bytes());
}

/// Writes a 16-bit field at `off`.
pub fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

/// Reads a 16-bit field at `off` (0 if out of range).
pub fn get16(b: &[u8], off: usize) -> u16 {
    match b.get(off..off + 2) {
        Some(x) => u16::from_be_bytes([x[0], x[1]]),
        None => 0,
    }
}

/// Builds a valid 20-byte-header IPv4 packet around `payload` (for tests
/// and elements that originate packets).
#[cfg(test)]
pub fn build(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    ttl: u8,
    payload: &[u8],
) -> alloc::vec::Vec<u8> {
    let mut v = alloc::vec![0u8; MIN_HEADER_LEN + payload.len()];
    v[0] = 0x45;
    put16(&mut v, 2, (MIN_HEADER_LEN + payload.len()) as u16);
    put16(&mut v, 4, 0x1234);
    v[TTL_OFF] = ttl;
    v[9] = proto;
    v[SRC_OFF..SRC_OFF + 4].copy_from_slice(&src);
    v[DST_OFF..DST_OFF + 4].copy_from_slice(&dst);
    v[MIN_HEADER_LEN..].copy_from_slice(payload);
    set_checksum(&mut v, MIN_HEADER_LEN);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_checks() {
        let p = build([10, 0, 0, 1], [224, 0, 0, 5], PROTO_UDP, 64, &[1, 2, 3, 4]);
        let h = Ipv4Header::new(&p).unwrap();
        assert_eq!((h.version(), h.header_len(), h.total_len()), (4, 20, 24));
        assert_eq!(
            (h.src(), h.dst(), h.protocol()),
            ([10, 0, 0, 1], [224, 0, 0, 5], 17)
        );
        assert!(is_multicast(h.dst()) && !is_multicast(h.src()));
        assert_eq!(h.payload(), &[1, 2, 3, 4]);
        assert_eq!(check(&p, true), Ok((20, 24)));
        assert_eq!(check(&p[..19], true), Err(HeaderError::Tiny));
        assert_eq!(check(&p[..23], true), Err(HeaderError::Length));
        let mut bad = p.clone();
        bad[1] = 1;
        assert_eq!(check(&bad, true), Err(HeaderError::Checksum));
        assert_eq!(check(&bad, false), Ok((20, 24)));
        bad[0] = 0x44;
        assert_eq!(check(&bad, true), Err(HeaderError::HeaderLen));
        bad[0] = 0x65;
        assert_eq!(check(&bad, true), Err(HeaderError::Version));
        assert_eq!(get16(&p, 23), 0);
    }
}

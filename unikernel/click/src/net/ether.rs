//! Ethernet II header layout and Click's address text format.

use alloc::string::String;

/// Length of an Ethernet header.
pub const HEADER_LEN: usize = 14;
/// EtherType of IPv4.
pub const ETHERTYPE_IP: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// The broadcast address.
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// Destination address field range.
pub const DST: core::ops::Range<usize> = 0..6;
/// Source address field range.
pub const SRC: core::ops::Range<usize> = 6..12;

/// The EtherType of a frame, if it is long enough.
pub fn ethertype(frame: &[u8]) -> Option<u16> {
    frame.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Writes a whole header into the first 14 bytes of `buf` (which must hold
/// them).
pub fn write_header(buf: &mut [u8], dst: &[u8; 6], src: &[u8; 6], ethertype: u16) {
    buf[DST].copy_from_slice(dst);
    buf[SRC].copy_from_slice(src);
    buf[12..14].copy_from_slice(&ethertype.to_be_bytes());
}

/// True for group (multicast or broadcast) addresses.
pub fn is_group(a: &[u8; 6]) -> bool {
    a[0] & 1 != 0
}

/// Click's text form of an Ethernet address (`EtherAddress::unparse`):
/// upper-case hex separated by dashes, `00-1F-0A-00-00-01`.
pub fn unparse(a: &[u8; 6]) -> String {
    alloc::format!(
        "{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}",
        a[0],
        a[1],
        a[2],
        a[3],
        a[4],
        a[5]
    )
}

/// The Ethernet multicast address of an IPv4 multicast group (RFC 1112:
/// 01-00-5E plus the group's low 23 bits).
pub fn ip_multicast(ip: [u8; 4]) -> [u8; 6] {
    [0x01, 0x00, 0x5E, ip[1] & 0x7F, ip[2], ip[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_text() {
        let mut b = [0u8; 16];
        write_header(&mut b, &BROADCAST, &[2, 0, 0, 0, 0, 0xfe], ETHERTYPE_ARP);
        assert_eq!(ethertype(&b), Some(0x0806));
        assert_eq!(ethertype(&b[..13]), None);
        assert_eq!(unparse(&[2, 0, 0, 0, 0, 0xfe]), "02-00-00-00-00-FE");
        assert!(is_group(&BROADCAST) && !is_group(&[2, 0, 0, 0, 0, 1]));
        assert_eq!(ip_multicast([239, 200, 1, 2]), [0x01, 0, 0x5e, 0x48, 1, 2]);
    }
}

//! Test frames: Ethernet/IPv4 with UDP, TCP or ICMP, checksums included,
//! and the accessors tests check rewritten frames with.

/// MAC of the harness's side of NIC `i`'s wire (the guest's is `mac(i)`).
pub const PEER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];

/// IP protocol numbers.
pub const UDP: u8 = 17;
/// TCP.
pub const TCP: u8 = 6;
/// ICMP.
pub const ICMP: u8 = 1;

/// The Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet/IPv4 frame carrying a UDP, TCP or ICMP packet with
/// `payload`, ports ignored for ICMP (echo request).
pub fn ipv4(
    proto: u8,
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let l4_len = match proto {
        UDP => 8,
        TCP => 20,
        _ => 8,
    } + payload.len();
    let mut f = Vec::new();
    f.extend_from_slice(&[0x52, 0x54, 0x00, 0x12, 0x34, 0x02]);
    f.extend_from_slice(&PEER);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + l4_len) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut l4 = Vec::new();
    match proto {
        UDP => {
            l4.extend_from_slice(&sport.to_be_bytes());
            l4.extend_from_slice(&dport.to_be_bytes());
            l4.extend_from_slice(&(l4_len as u16).to_be_bytes());
            l4.extend_from_slice(&[0, 0]);
        }
        TCP => {
            l4.extend_from_slice(&sport.to_be_bytes());
            l4.extend_from_slice(&dport.to_be_bytes());
            l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        }
        _ => l4.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, 1]),
    }
    l4.extend_from_slice(payload);
    let sum = l4_checksum(proto, &src, &dst, &l4);
    let at = match proto {
        UDP => 6,
        TCP => 16,
        _ => 2,
    };
    l4[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&l4);
    f
}

fn l4_checksum(proto: u8, src: &[u8], dst: &[u8], l4: &[u8]) -> u16 {
    if proto == ICMP {
        return checksum(l4);
    }
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(src);
    pseudo.extend_from_slice(dst);
    pseudo.extend_from_slice(&[0, proto]);
    pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(l4);
    checksum(&pseudo)
}

/// Source and destination (address, port) of an Ethernet/IPv4 frame.
pub fn endpoints(f: &[u8]) -> (([u8; 4], u16), ([u8; 4], u16)) {
    let ip = &f[14..];
    let hl = usize::from(ip[0] & 15) * 4;
    let l4 = &ip[hl..];
    let a = |o: usize| [ip[o], ip[o + 1], ip[o + 2], ip[o + 3]];
    let p = |o: usize| u16::from_be_bytes([l4[o], l4[o + 1]]);
    ((a(12), p(0)), (a(16), p(2)))
}

/// True if the IP header checksum and the TCP/UDP/ICMP checksum verify.
pub fn checksums_ok(f: &[u8]) -> bool {
    let ip = &f[14..];
    let hl = usize::from(ip[0] & 15) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if checksum(&ip[..hl]) != 0 {
        return false;
    }
    let l4 = &ip[hl..total];
    if ip[9] == UDP && l4[6..8] == [0, 0] {
        return true;
    }
    let mut pseudo = Vec::new();
    if ip[9] != ICMP {
        pseudo.extend_from_slice(&ip[12..20]);
        pseudo.extend_from_slice(&[0, ip[9]]);
        pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    }
    pseudo.extend_from_slice(l4);
    checksum(&pseudo) == 0
}

/// An Ethernet frame of `len` bytes (at least 14) from the guest's second
/// NIC to its first, with a test ethertype and a payload that counts up
/// from `tag`, so each frame is recognisable when it comes out.
pub fn tagged(tag: u8, len: usize) -> Vec<u8> {
    let mut f = vec![
        0x52, 0x54, 0x00, 0x12, 0x34, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x01, 0x88, 0xb5,
    ];
    f.extend((0..len - 14).map(|i| tag.wrapping_add(i as u8)));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_frames_verify() {
        for proto in [UDP, TCP, ICMP] {
            let f = ipv4(proto, [10, 0, 0, 1], 1000, [10, 0, 0, 2], 53, b"hello");
            assert!(checksums_ok(&f), "proto {proto}");
            let mut bad = f.clone();
            let n = bad.len();
            bad[n - 1] ^= 1;
            assert!(!checksums_ok(&bad), "proto {proto}");
        }
        let f = ipv4(UDP, [10, 0, 0, 1], 1000, [10, 0, 0, 2], 53, b"");
        assert_eq!(endpoints(&f), (([10, 0, 0, 1], 1000), ([10, 0, 0, 2], 53)));
    }
}

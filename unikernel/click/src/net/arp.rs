//! ARP over Ethernet for IPv4 (RFC 826): the 28-byte body after the
//! Ethernet header.

use super::ether;

/// Length of an Ethernet/IPv4 ARP body.
pub const BODY_LEN: usize = 28;
/// Length of a whole ARP frame without padding (14 + 28).
pub const FRAME_LEN: usize = ether::HEADER_LEN + BODY_LEN;
/// Hardware type Ethernet.
pub const HRD_ETHER: u16 = 1;
/// Operation: request.
pub const OP_REQUEST: u16 = 1;
/// Operation: reply.
pub const OP_REPLY: u16 = 2;

/// The fields of an Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// Operation (request or reply).
    pub op: u16,
    /// Sender hardware address.
    pub sha: [u8; 6],
    /// Sender protocol address.
    pub spa: [u8; 4],
    /// Target hardware address.
    pub tha: [u8; 6],
    /// Target protocol address.
    pub tpa: [u8; 4],
}

fn arr<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&s[..N]);
    a
}

impl Arp {
    /// Parses a whole frame (Ethernet header included). `None` unless it is
    /// long enough, has EtherType ARP, hardware type Ethernet and protocol
    /// IPv4 (the checks Click's ARP elements make; the length fields are
    /// not checked, as in Click).
    pub fn parse_frame(f: &[u8]) -> Option<Arp> {
        if f.len() < FRAME_LEN || ether::ethertype(f)? != ether::ETHERTYPE_ARP {
            return None;
        }
        let b = &f[ether::HEADER_LEN..];
        let hrd = u16::from_be_bytes([b[0], b[1]]);
        let pro = u16::from_be_bytes([b[2], b[3]]);
        if hrd != HRD_ETHER || pro != ether::ETHERTYPE_IP {
            return None;
        }
        Some(Arp {
            op: u16::from_be_bytes([b[6], b[7]]),
            sha: arr(&b[8..]),
            spa: arr(&b[14..]),
            tha: arr(&b[18..]),
            tpa: arr(&b[24..]),
        })
    }

    /// Writes a whole frame into the first [`FRAME_LEN`] bytes of `buf`,
    /// from `src` to `dst` at the Ethernet level.
    pub fn write_frame(&self, buf: &mut [u8], dst: &[u8; 6], src: &[u8; 6]) {
        ether::write_header(buf, dst, src, ether::ETHERTYPE_ARP);
        let b = &mut buf[ether::HEADER_LEN..FRAME_LEN];
        b[0..2].copy_from_slice(&HRD_ETHER.to_be_bytes());
        b[2..4].copy_from_slice(&ether::ETHERTYPE_IP.to_be_bytes());
        b[4] = 6;
        b[5] = 4;
        b[6..8].copy_from_slice(&self.op.to_be_bytes());
        b[8..14].copy_from_slice(&self.sha);
        b[14..18].copy_from_slice(&self.spa);
        b[18..24].copy_from_slice(&self.tha);
        b[24..28].copy_from_slice(&self.tpa);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let a = Arp {
            op: OP_REQUEST,
            sha: [2, 0, 0, 0, 0, 1],
            spa: [10, 0, 0, 1],
            tha: [0; 6],
            tpa: [10, 0, 0, 254],
        };
        let mut f = [0u8; 60];
        a.write_frame(&mut f, &ether::BROADCAST, &a.sha);
        assert_eq!(Arp::parse_frame(&f), Some(a));
        assert_eq!(Arp::parse_frame(&f[..41]), None);
        f[15] = 6; // hardware type 6 (IEEE 802)
        assert_eq!(Arp::parse_frame(&f), None);
    }
}

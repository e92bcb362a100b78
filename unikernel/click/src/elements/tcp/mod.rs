//! TCP endpoint elements: Click's toy TCP client and web load generator.

use crate::element::ElementClass;
use crate::elements::classify::compile::names::PORTS;
use crate::elements::ip::set_tcp_checksum::pseudo_header_sum;
use crate::net::{checksum, ip};
use crate::packet::Packet;

pub mod toytcp;
pub mod webgen;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[&toytcp::CLASS, &webgen::CLASS];

/// Room left before packets these elements make, for link headers.
pub const HEADROOM: usize = 34;

/// TCP header flags.
pub const FIN: u8 = 0x01;
/// SYN.
pub const SYN: u8 = 0x02;
/// RST.
pub const RST: u8 = 0x04;
/// PSH.
pub const PSH: u8 = 0x08;
/// ACK.
pub const ACK: u8 = 0x10;

/// The minimal TCP header's length.
pub const HEADER_LEN: usize = 20;

/// A TCP port: a number or a service name (`www`, `smtp`).
pub fn parse_port(text: &str) -> Option<u16> {
    let t = text.trim();
    t.parse::<u16>().ok().or_else(|| {
        PORTS
            .iter()
            .find(|(n, _)| *n == t)
            .and_then(|&(_, v)| u16::try_from(v).ok())
    })
}

/// A TCP header's fields, for writing one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Header {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags.
    pub flags: u8,
    /// Window.
    pub win: u16,
}

impl Header {
    /// Writes a 20-byte header (checksum and urgent pointer zero) at the
    /// start of `b`.
    pub fn write(&self, b: &mut [u8]) {
        let h = &mut b[..HEADER_LEN];
        h.fill(0);
        h[0..2].copy_from_slice(&self.sport.to_be_bytes());
        h[2..4].copy_from_slice(&self.dport.to_be_bytes());
        h[4..8].copy_from_slice(&self.seq.to_be_bytes());
        h[8..12].copy_from_slice(&self.ack.to_be_bytes());
        h[12] = (HEADER_LEN as u8 / 4) << 4;
        h[13] = self.flags;
        h[14..16].copy_from_slice(&self.win.to_be_bytes());
    }

    /// Reads the fixed part of a TCP header; `None` if `b` is shorter.
    pub fn read(b: &[u8]) -> Option<Header> {
        let h = b.get(..HEADER_LEN)?;
        let g16 = |o: usize| u16::from_be_bytes([h[o], h[o + 1]]);
        let g32 = |o: usize| u32::from_be_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        Some(Header {
            sport: g16(0),
            dport: g16(2),
            seq: g32(4),
            ack: g32(8),
            flags: h[13],
            win: g16(14),
        })
    }
}

/// A TCP/IP packet from `src` to `dst`: a 20-byte IP header (TTL 250, ID
/// `id`), TCP header `h`, then `payload`, both checksums set, the IP
/// header and destination annotations set. `None` when out of memory.
pub fn ip_tcp_packet(
    src: [u8; 4],
    dst: [u8; 4],
    id: u16,
    h: &Header,
    payload: &[u8],
) -> Option<Packet> {
    let tcp_len = HEADER_LEN + payload.len();
    let total = ip::MIN_HEADER_LEN + tcp_len;
    let mut p = Packet::try_with_room(HEADROOM, total, 0)?;
    let b = p.data_mut();
    b.fill(0);
    b[0] = 0x45;
    ip::put16(b, 2, total as u16);
    ip::put16(b, 4, id);
    b[ip::TTL_OFF] = 250;
    b[9] = ip::PROTO_TCP;
    b[ip::SRC_OFF..ip::SRC_OFF + 4].copy_from_slice(&src);
    b[ip::DST_OFF..ip::DST_OFF + 4].copy_from_slice(&dst);
    ip::set_checksum(b, ip::MIN_HEADER_LEN);
    let (iph, t) = b.split_at_mut(ip::MIN_HEADER_LEN);
    h.write(t);
    t[HEADER_LEN..].copy_from_slice(payload);
    let acc = pseudo_header_sum(iph, ip::PROTO_TCP, tcp_len as u16);
    let sum = checksum::finish(checksum::add(acc, t));
    t[16..18].copy_from_slice(&sum.to_be_bytes());
    p.set_ip_header(0, ip::MIN_HEADER_LEN);
    p.set_dst_ip_anno(dst);
    Some(p)
}

/// A checked IPv4 TCP packet at the start of `b`: its IP header, TCP
/// header and payload (within the IP length). `None` for anything else.
pub fn parse_ip_tcp(b: &[u8]) -> Option<(&[u8], Header, &[u8])> {
    let (hl, total) = ip::check(b, false).ok()?;
    if b[9] != ip::PROTO_TCP || ip::get16(b, 6) & ip::OFFMASK != 0 {
        return None;
    }
    let t = &b[hl..total];
    let off = usize::from(t.get(12)? >> 4) * 4;
    if off < HEADER_LEN || off > t.len() {
        return None;
    }
    Some((&b[..hl], Header::read(t)?, &t[off..]))
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::router::{Router, Step};
    use crate::time::Timestamp;

    /// Runs `r` on its simulated clock until `until` (timers fire as
    /// they fall due).
    pub fn run_to(r: &Router, until: Timestamp) {
        loop {
            match r.step() {
                Step::Stopped => return,
                Step::Worked => {}
                Step::Idle(Some(t)) if t <= until => {
                    r.clock().advance_to(t);
                }
                Step::Idle(_) => {
                    r.clock().advance_to(until);
                    return;
                }
            }
        }
    }
}

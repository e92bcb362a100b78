//! TCP endpoint elements: Click's toy TCP client, its web load
//! generator, and its experimental TCP building blocks (`test-tcp.click`):
//! CheckTCPHeader, TCPDemux, TCPConn, TCPAck, TCPBuffer, BufferConverter,
//! CopyFlowID, CopyTCPSeq.

use crate::element::ElementClass;
use alloc::vec::Vec;

use crate::elements::classify::compile::names::PORTS;
use crate::elements::ip::set_tcp_checksum::pseudo_header_sum;
use crate::net::{checksum, ip};
use crate::packet::Packet;
use crate::router::Router;

pub mod bufferconverter;
pub mod checktcpheader;
pub mod copyflowid;
pub mod copytcpseq;
pub mod tcpack;
pub mod tcpbuffer;
pub mod tcpconn;
pub mod tcpdemux;
pub mod toytcp;
pub mod webgen;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[
    &bufferconverter::CLASS,
    &checktcpheader::CLASS,
    &copyflowid::CLASS,
    &copytcpseq::CLASS,
    &tcpack::CLASS,
    &tcpbuffer::CLASS,
    &tcpconn::CLASS,
    &tcpdemux::CLASS,
    &toytcp::CLASS,
    &webgen::CLASS,
];

/// `a` before `b` in sequence space.
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// The TCP header of a packet with its IP header annotation set.
pub fn tcp_header(p: &Packet) -> Option<Header> {
    Header::read(p.transport_header()?)
}

/// The sequence space a TCP/IP packet takes: its payload within the IP
/// length, plus one for SYN and one for FIN (Click's TCPBuffer counts
/// one for either). 0 for anything else.
pub fn seq_len(p: &Packet) -> u32 {
    let (Some(iph), Some(t)) = (p.network_header(), p.transport_header()) else {
        return 0;
    };
    if iph.len() < ip::MIN_HEADER_LEN || t.len() < HEADER_LEN {
        return 0;
    }
    let hl = usize::from(iph[0] & 0x0f) * 4;
    let off = usize::from(t[12] >> 4) * 4;
    let data = usize::from(ip::get16(iph, 2)).saturating_sub(hl + off) as u32;
    data + u32::from(t[13] & (SYN | FIN) != 0)
}

/// The elements of class `class` nearest to port `port` of `eid`,
/// following connections downstream (from an output) or upstream (to an
/// input) through every port of the elements between, as Click's
/// flow-based router context does.
pub fn nearest(r: &Router, eid: usize, port: usize, down: bool, class: &str) -> Vec<usize> {
    let conns = &r.flat_config().connections;
    let mut found = Vec::new();
    let mut seen = alloc::vec![eid];
    let mut stack = alloc::vec![(eid, Some(port))];
    while let Some((e, port)) = stack.pop() {
        for c in conns {
            let (here, here_port, next) = if down {
                (c.from, c.from_port, c.to)
            } else {
                (c.to, c.to_port, c.from)
            };
            if here != e || port.is_some_and(|p| p != here_port) || seen.contains(&next) {
                continue;
            }
            seen.push(next);
            if r.info(next).class.name == class {
                found.push(next);
            } else {
                stack.push((next, None));
            }
        }
    }
    found
}

/// A bare TCP/IP segment as Click's TCP building blocks make them (no
/// addresses or ports yet; TCPConn and CopyFlowID add them): TOS 0x10,
/// DF, TTL 255, window 32120, checksums left to SetIPChecksum and
/// SetTCPChecksum, the IP header annotation set.
pub fn bare_segment(flags: u8, seq: u32, ack: u32, payload: &[u8]) -> Option<Packet> {
    let h = Header {
        flags,
        seq,
        ack,
        win: 32120,
        ..Header::default()
    };
    let mut p = unaddressed(&h, payload)?;
    let b = p.data_mut();
    b[1] = 0x10;
    ip::put16(b, 6, 0x4000);
    b[ip::TTL_OFF] = 255;
    Some(p)
}

/// An IPv4 TCP segment with zero addresses and checksums, TTL and TOS
/// zero, the IP header annotation set: what the makers above fill in.
fn unaddressed(h: &Header, payload: &[u8]) -> Option<Packet> {
    let total = ip::MIN_HEADER_LEN + HEADER_LEN + payload.len();
    let mut p = Packet::try_with_room(HEADROOM, total, 0)?;
    let b = p.data_mut();
    b.fill(0);
    b[0] = 0x45;
    ip::put16(b, 2, total as u16);
    b[9] = ip::PROTO_TCP;
    h.write(&mut b[ip::MIN_HEADER_LEN..]);
    b[ip::MIN_HEADER_LEN + HEADER_LEN..].copy_from_slice(payload);
    p.set_ip_header(0, ip::MIN_HEADER_LEN);
    Some(p)
}

/// A TCP/IP flow: source and destination addresses and ports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flow {
    /// Source address.
    pub saddr: [u8; 4],
    /// Source port.
    pub sport: u16,
    /// Destination address.
    pub daddr: [u8; 4],
    /// Destination port.
    pub dport: u16,
}

impl Flow {
    /// The flow of a packet with its IP header annotation set.
    pub fn of(p: &Packet) -> Option<Flow> {
        let iph = p.network_header()?;
        let t = p.transport_header()?;
        if iph.len() < ip::MIN_HEADER_LEN || t.len() < 4 {
            return None;
        }
        Some(Flow {
            saddr: iph[12..16].try_into().ok()?,
            sport: ip::get16(t, 0),
            daddr: iph[16..20].try_into().ok()?,
            dport: ip::get16(t, 2),
        })
    }

    /// The other direction.
    pub fn reverse(self) -> Flow {
        Flow {
            saddr: self.daddr,
            sport: self.dport,
            daddr: self.saddr,
            dport: self.sport,
        }
    }

    /// Writes the flow's addresses and ports into a TCP/IP packet (IP
    /// header annotation set); false if it has no room for them.
    pub fn write_to(&self, p: &mut Packet) -> bool {
        let Some(iph) = p.network_header_mut() else {
            return false;
        };
        if iph.len() < ip::MIN_HEADER_LEN {
            return false;
        }
        iph[12..16].copy_from_slice(&self.saddr);
        iph[16..20].copy_from_slice(&self.daddr);
        let Some(t) = p.transport_header_mut().filter(|t| t.len() >= 4) else {
            return false;
        };
        ip::put16(t, 0, self.sport);
        ip::put16(t, 2, self.dport);
        true
    }
}

/// Writes a TCP/IP packet's sequence (`at` 4) or acknowledgement (`at`
/// 8) number; false if the header is not there.
pub fn set_seq_field(p: &mut Packet, at: usize, v: u32) -> bool {
    match p.transport_header_mut().filter(|t| t.len() >= HEADER_LEN) {
        Some(t) => {
            t[at..at + 4].copy_from_slice(&v.to_be_bytes());
            true
        }
        None => false,
    }
}

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
    let mut p = unaddressed(h, payload)?;
    let b = p.data_mut();
    ip::put16(b, 4, id);
    b[ip::TTL_OFF] = 250;
    b[ip::SRC_OFF..ip::SRC_OFF + 4].copy_from_slice(&src);
    b[ip::DST_OFF..ip::DST_OFF + 4].copy_from_slice(&dst);
    ip::set_checksum(b, ip::MIN_HEADER_LEN);
    let (iph, t) = b.split_at_mut(ip::MIN_HEADER_LEN);
    let acc = pseudo_header_sum(iph, ip::PROTO_TCP, t.len() as u16);
    let sum = checksum::finish(checksum::add(acc, t));
    t[16..18].copy_from_slice(&sum.to_be_bytes());
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
mod scenario_tests;

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

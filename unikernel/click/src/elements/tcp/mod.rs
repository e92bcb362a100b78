//! TCP endpoint elements: Click's toy TCP client and web load generator.

use crate::element::ElementClass;
use crate::elements::classify::compile::names::PORTS;

pub mod toytcp;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[&toytcp::CLASS];

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

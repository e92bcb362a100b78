//! `StoreIPAddress([ADDR,] OFFSET)`: writes an IP address into packets.
//!
//! # Ports
//! One input; one or two outputs; agnostic.
//!
//! # Processing
//! Writes ADDR (or, without ADDR, the destination IP annotation) at byte
//! OFFSET of the packet. OFFSET `src` or `dst` names the IP header's
//! source or destination field instead (the IP header annotation must be
//! set); the IP checksum and, in a first fragment, the TCP or UDP
//! checksum are updated to match. Without ADDR, a zero annotation is not
//! stored. Packets that are too short (or, for `src`/`dst`, have no IP
//! header) and packets it does not store into go to output 1 if it
//! exists, else are dropped.
//!
//! # Keywords
//! * `ADDR` (IP address): what to store.
//! * `OFFSET` (integer, or `src`/`dst`): where.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! ... -> MarkIPHeader -> StoreIPAddress(10.0.0.1, src) -> ...
//! ```

use alloc::boxed::Box;

use crate::confparse::{Args, Ipv4, Word};
use crate::element::{simple_action, Element, ElementClass};
use crate::error::ConfigError;
use crate::net::{checksum, ip};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `StoreIPAddress` class.
pub static CLASS: ElementClass = ElementClass {
    name: "StoreIPAddress",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| Ok(Box::new(StoreIpAddress::configure(args)?)),
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Offset {
    At(usize),
    /// A field of the IP header, with the checksums updated.
    Field(usize),
}

/// Stores an address.
pub struct StoreIpAddress {
    addr: Option<Ipv4>,
    offset: Offset,
}

impl StoreIpAddress {
    fn configure(args: &mut Args) -> Result<StoreIpAddress, ConfigError> {
        let addr = if args.len() > 1 {
            Some(args.required::<Ipv4>("ADDR")?)
        } else {
            None
        };
        let Word(w) = args.required("OFFSET")?;
        let offset = match w.to_ascii_lowercase().as_str() {
            "src" => Offset::Field(ip::SRC_OFF),
            "dst" => Offset::Field(ip::DST_OFF),
            _ => Offset::At(w.parse().map_err(|_| {
                ConfigError::bad_value("OFFSET", "an unsigned integer, src or dst", &w)
            })?),
        };
        Ok(StoreIpAddress { addr, offset })
    }

    fn store(&self, p: &mut Packet) -> bool {
        let a = match self.addr {
            Some(a) => a.0,
            None => p.dst_ip_anno(),
        };
        if self.addr.is_none() && a == [0; 4] {
            return false;
        }
        match self.offset {
            Offset::At(off) if off + 4 <= p.len() => {
                p.data_mut()[off..off + 4].copy_from_slice(&a);
                true
            }
            Offset::At(_) => false,
            Offset::Field(off) => store_field(p, off, a),
        }
    }

    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        if self.store(&mut p) {
            return Some(p);
        }
        if cx.noutputs() > 1 {
            cx.push(1, p);
        } else {
            cx.kill(p);
        }
        None
    }
}

/// Writes `a` into the IP header field at `off`, updating the checksums.
fn store_field(p: &mut Packet, off: usize, a: [u8; 4]) -> bool {
    let Some(h) = p.network_header_mut() else {
        return false;
    };
    let hl = usize::from(h.first().map_or(0, |b| b & 0x0f)) * 4;
    if hl < ip::MIN_HEADER_LEN || h.len() < hl {
        return false;
    }
    let old = [h[off], h[off + 1], h[off + 2], h[off + 3]];
    h[off..off + 4].copy_from_slice(&a);
    let sum = checksum::update32(u16::from_be_bytes([h[10], h[11]]), old, a);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    let first_frag = u16::from_be_bytes([h[6], h[7]]) & 0x1fff == 0;
    let at = match h[9] {
        6 if first_frag && h.len() >= hl + 20 => Some(hl + 16),
        // A zero UDP checksum means none.
        17 if first_frag && h.len() >= hl + 8 && h[hl + 6..hl + 8] != [0, 0] => Some(hl + 6),
        _ => None,
    };
    if let Some(c) = at {
        let sum = checksum::update32(u16::from_be_bytes([h[c], h[c + 1]]), old, a);
        h[c..c + 2].copy_from_slice(&sum.to_be_bytes());
    }
    true
}

impl Element for StoreIpAddress {
    simple_action!();
}

#[cfg(test)]
mod tests {
    use crate::net::checksum;
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, TestSink};

    fn got(r: &crate::router::Router) -> alloc::vec::Vec<(usize, alloc::vec::Vec<u8>)> {
        r.with_element(r.find("s").unwrap(), |e, _| {
            e.downcast_ref::<TestSink>()
                .unwrap()
                .got
                .iter()
                .map(|(i, p)| (*i, p.data().to_vec()))
                .collect()
        })
        .unwrap()
    }

    #[test]
    fn stores_at_an_offset_or_into_the_header() {
        let (r, _) = router_from_source(
            "Idle -> a :: StoreIPAddress(1.2.3.4, 2) -> s :: TestSink;\n\
             Idle -> b :: MarkIPHeader -> StoreIPAddress(10.0.0.9, src) -> s;\n\
             Idle -> c :: StoreIPAddress(0) -> s; c[1] -> [1] s;",
        );
        r.inject(r.find("a").unwrap(), 0, Packet::from_slice(&[9; 8]));
        let mut f = [0u8; 28];
        f[0] = 0x45;
        f[3] = 28;
        f[9] = 17;
        f[12..20].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f[26..28].copy_from_slice(&[0x55, 0x55]);
        let c = checksum::checksum(&f[..20]);
        f[10..12].copy_from_slice(&c.to_be_bytes());
        r.inject(r.find("b").unwrap(), 0, Packet::from_slice(&f));
        let mut p = Packet::from_slice(&[0; 4]);
        p.set_dst_ip_anno([5, 6, 7, 8]);
        r.inject(r.find("c").unwrap(), 0, p);
        r.inject(r.find("c").unwrap(), 0, Packet::from_slice(&[0; 4]));
        let g = got(&r);
        assert_eq!(g[0], (0, alloc::vec![9, 9, 1, 2, 3, 4, 9, 9]));
        assert_eq!(&g[1].1[12..16], &[10, 0, 0, 9]);
        assert_eq!(checksum::checksum(&g[1].1[..20]), 0);
        // The UDP checksum moved by as much as the address did.
        let d = u16::from_be_bytes([g[1].1[26], g[1].1[27]]);
        assert_eq!(d, checksum::update32(0x5555, [10, 0, 0, 1], [10, 0, 0, 9]));
        assert_eq!(g[2], (0, alloc::vec![5, 6, 7, 8]));
        // A zero annotation is not stored.
        assert_eq!(g[3], (1, alloc::vec![0; 4]));
        assert!(build_from_source("Idle -> StoreIPAddress(1.2.3.4, middle) -> Discard;").is_err());
    }
}

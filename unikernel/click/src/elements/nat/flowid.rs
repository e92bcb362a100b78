//! Flow identifiers: the (source, source port, destination, destination
//! port) quadruple a mapping is keyed by, as Click's `IPFlowID`.

use core::fmt;

/// A flow identifier. Ports are kept in wire order (the native-endian
/// reading of the two wire bytes), as Click keeps them, so keys built from
/// packets need no byte swapping and arithmetic on ping identifiers gives
/// Click's results.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Debug, Hash)]
pub struct FlowId {
    /// Source address.
    pub saddr: [u8; 4],
    /// Destination address.
    pub daddr: [u8; 4],
    /// Source port, wire order.
    pub sport: u16,
    /// Destination port, wire order.
    pub dport: u16,
}

/// Converts a host-order port to wire order.
#[inline]
pub const fn wire(port: u16) -> u16 {
    u16::from_ne_bytes(port.to_be_bytes())
}

/// Converts a wire-order port to host order.
#[inline]
pub const fn host(port: u16) -> u16 {
    u16::from_be_bytes(port.to_ne_bytes())
}

impl FlowId {
    /// From addresses and host-order ports.
    pub fn new(saddr: [u8; 4], sport: u16, daddr: [u8; 4], dport: u16) -> Self {
        FlowId {
            saddr,
            daddr,
            sport: wire(sport),
            dport: wire(dport),
        }
    }

    /// The flow of the other direction.
    #[inline]
    pub fn reverse(&self) -> FlowId {
        FlowId {
            saddr: self.daddr,
            daddr: self.saddr,
            sport: self.dport,
            dport: self.sport,
        }
    }

    /// Source port in host order.
    pub fn sport_host(&self) -> u16 {
        host(self.sport)
    }

    /// Destination port in host order.
    pub fn dport_host(&self) -> u16 {
        host(self.dport)
    }

    /// The six big-endian words Click sums for checksum deltas: source
    /// address, destination address, source port, destination port.
    pub fn words(&self) -> [u16; 6] {
        let s = self.saddr;
        let d = self.daddr;
        let sp = self.sport.to_ne_bytes();
        let dp = self.dport.to_ne_bytes();
        [
            u16::from_be_bytes([s[0], s[1]]),
            u16::from_be_bytes([s[2], s[3]]),
            u16::from_be_bytes([d[0], d[1]]),
            u16::from_be_bytes([d[2], d[3]]),
            u16::from_be_bytes(sp),
            u16::from_be_bytes(dp),
        ]
    }

    /// The flow of an IPv4 header `ip` whose transport header is `l4`
    /// (at least four bytes).
    #[inline]
    pub fn from_headers(ip: &[u8], l4: &[u8]) -> FlowId {
        // One bounds check per header, then fixed-size reads.
        let a: &[u8; 8] = ip[12..20].try_into().expect("8 bytes");
        let p: &[u8; 4] = l4[..4].try_into().expect("4 bytes");
        FlowId {
            saddr: [a[0], a[1], a[2], a[3]],
            daddr: [a[4], a[5], a[6], a[7]],
            sport: u16::from_ne_bytes([p[0], p[1]]),
            dport: u16::from_ne_bytes([p[2], p[3]]),
        }
    }

    /// Two words for hashing.
    #[inline]
    pub(crate) fn hash_words(&self) -> (u64, u64) {
        let a = u64::from(u32::from_ne_bytes(self.saddr))
            | (u64::from(u32::from_ne_bytes(self.daddr)) << 32);
        let b = u64::from(self.sport) | (u64::from(self.dport) << 16);
        (a, b)
    }
}

/// Click's `IPFlowID` text: `(SA, SP, DA, DP)`.
impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.saddr;
        let d = self.daddr;
        write!(
            f,
            "({}.{}.{}.{}, {}, {}.{}.{}.{}, {})",
            s[0],
            s[1],
            s[2],
            s[3],
            self.sport_host(),
            d[0],
            d[1],
            d[2],
            d[3],
            self.dport_host()
        )
    }
}

/// Dotted-quad text of an address.
pub struct Addr(pub [u8; 4]);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(f, "{}.{}.{}.{}", a[0], a[1], a[2], a[3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn display_and_reverse() {
        let f = FlowId::new([10, 0, 0, 1], 40001, [192, 168, 1, 10], 80);
        assert_eq!(format!("{f}"), "(10.0.0.1, 40001, 192.168.1.10, 80)");
        assert_eq!(f.reverse().reverse(), f);
        assert_eq!(f.reverse().sport_host(), 80);
        assert_eq!(f.words()[4], 40001);
    }
}

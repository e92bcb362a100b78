//! Typed argument values (Click's `IntArg`, `BoolArg`, `IPAddressArg`,
//! `EtherAddressArg`, `SecondsArg`, `BandwidthArg` ...).

use alloc::string::String;
use core::fmt;

use super::split::unquote;
use crate::error::ConfigError;
use crate::time::Timestamp;

/// A value that can be parsed from one configuration argument.
pub trait FromArg: Sized {
    /// What the argument should be, for "expected ..." messages.
    const EXPECTED: &'static str;
    /// Parses an (already keyword-stripped, trimmed) argument.
    fn from_arg(s: &str) -> Option<Self>;
}

/// Parses an unsigned integer in Click syntax: decimal, `0x` hex or `0`
/// octal, with optional `_` separators... (Click accepts none; we neither).
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || digits.starts_with('+') || digits.starts_with('-') {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Parses a signed integer in Click syntax.
pub fn parse_i64(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('-') {
        let v = parse_u64(rest)?;
        if v <= i64::MAX as u64 + 1 {
            Some((v as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        let v = parse_u64(s.strip_prefix('+').unwrap_or(s))?;
        i64::try_from(v).ok()
    }
}

macro_rules! unsigned_arg {
    ($($t:ty),*) => {$(
        impl FromArg for $t {
            const EXPECTED: &'static str = "an unsigned integer";
            fn from_arg(s: &str) -> Option<Self> {
                parse_u64(s).and_then(|v| <$t>::try_from(v).ok())
            }
        }
    )*};
}
unsigned_arg!(u8, u16, u32, u64, usize);

macro_rules! signed_arg {
    ($($t:ty),*) => {$(
        impl FromArg for $t {
            const EXPECTED: &'static str = "an integer";
            fn from_arg(s: &str) -> Option<Self> {
                parse_i64(s).and_then(|v| <$t>::try_from(v).ok())
            }
        }
    )*};
}
signed_arg!(i32, i64);

impl FromArg for bool {
    const EXPECTED: &'static str = "true or false";
    fn from_arg(s: &str) -> Option<Self> {
        match s.trim() {
            "true" | "yes" | "1" | "t" | "y" | "on" => Some(true),
            "false" | "no" | "0" | "f" | "n" | "off" => Some(false),
            _ => None,
        }
    }
}

impl FromArg for f64 {
    const EXPECTED: &'static str = "a real number";
    fn from_arg(s: &str) -> Option<Self> {
        s.trim().parse().ok()
    }
}

/// A string argument, unquoted (Click's `StringArg` accepts any text and
/// removes quotes).
impl FromArg for String {
    const EXPECTED: &'static str = "a string";
    fn from_arg(s: &str) -> Option<Self> {
        Some(unquote(s.trim()))
    }
}

/// A string argument as the bytes it stands for (`\<c0 ff>` is two
/// bytes, not their UTF-8 encoding): packet contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bytes(pub alloc::vec::Vec<u8>);

impl FromArg for Bytes {
    const EXPECTED: &'static str = "a string";
    fn from_arg(s: &str) -> Option<Self> {
        Some(Bytes(super::split::unquote_bytes(s.trim())))
    }
}

/// One word of text kept as written (Click's `WordArg`): no spaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word(pub String);

impl FromArg for Word {
    const EXPECTED: &'static str = "a word";
    fn from_arg(s: &str) -> Option<Self> {
        let u = unquote(s.trim());
        if u.is_empty() || u.chars().any(char::is_whitespace) {
            None
        } else {
            Some(Word(u))
        }
    }
}

/// An IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ipv4(pub [u8; 4]);

impl Ipv4 {
    /// As a host-order integer.
    pub fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }
    /// From a host-order integer.
    pub fn from_u32(v: u32) -> Self {
        Ipv4(v.to_be_bytes())
    }
    /// Parses dotted-quad text (Click also accepts fewer components, e.g.
    /// `10.0` meaning 10.0.0.0, only inside prefixes; see [`Ipv4Prefix`]).
    pub fn parse(s: &str) -> Option<Self> {
        let mut out = [0u8; 4];
        let mut n = 0;
        for part in s.split('.') {
            if n == 4
                || part.is_empty()
                || part.len() > 3
                || !part.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            out[n] = part.parse().ok()?;
            n += 1;
        }
        (n == 4).then_some(Ipv4(out))
    }
}

impl fmt::Display for Ipv4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(f, "{}.{}.{}.{}", a[0], a[1], a[2], a[3])
    }
}

impl FromArg for Ipv4 {
    const EXPECTED: &'static str = "an IP address";
    fn from_arg(s: &str) -> Option<Self> {
        Ipv4::parse(s.trim())
    }
}

/// An IPv4 address with a prefix length (`a.b.c.d/len`, `a.b.c.d/mask`,
/// or `a.b/16`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Ipv4Prefix {
    /// The address as written (host bits kept, as Click keeps them).
    pub addr: Ipv4,
    /// Prefix length 0..=32.
    pub len: u8,
}

impl Ipv4Prefix {
    /// The netmask.
    pub fn mask(self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - self.len as u32)
        }
    }
    /// True if `a` lies inside the prefix.
    pub fn contains(self, a: Ipv4) -> bool {
        (a.to_u32() ^ self.addr.to_u32()) & self.mask() == 0
    }
    /// The directed broadcast address.
    pub fn broadcast(self) -> Ipv4 {
        Ipv4::from_u32(self.addr.to_u32() | !self.mask())
    }
    /// Parses `addr/len`, `addr/mask`, or a partial address `10.0/16`; a
    /// bare address is a /32.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let parts: alloc::vec::Vec<&str> = a.split('.').collect();
        let addr = if parts.len() == 4 {
            Ipv4::parse(a)?
        } else if l.is_some() && (1..4).contains(&parts.len()) {
            let mut o = [0u8; 4];
            for (i, p) in parts.iter().enumerate() {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                o[i] = p.parse().ok()?;
            }
            Ipv4(o)
        } else {
            return None;
        };
        let len = prefix_len(l, 32, |m| Some(u128::from(Ipv4::parse(m)?.to_u32()) << 96))?;
        Some(Ipv4Prefix { addr, len })
    }
}

/// A prefix's length as written after the `/`: a number up to `bits`, or
/// a contiguous mask (`mask` reads it into the high bits of a `u128`).
/// None written means a host prefix.
fn prefix_len(l: Option<&str>, bits: u8, mask: impl Fn(&str) -> Option<u128>) -> Option<u8> {
    let Some(l) = l else {
        return Some(bits);
    };
    if let Some(v) = parse_u64(l) {
        return (v <= u64::from(bits)).then_some(v as u8);
    }
    let m = mask(l)?;
    let len = m.leading_ones();
    (m.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromArg for Ipv4Prefix {
    const EXPECTED: &'static str = "an IP prefix (ADDR/LEN)";
    fn from_arg(s: &str) -> Option<Self> {
        Ipv4Prefix::parse(s)
    }
}

/// An IPv6 address (Click's `IP6AddressArg`): any RFC 4291 text form,
/// `::` abbreviations and a trailing dotted quad (`::ffff:1.2.3.4`)
/// included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ipv6(pub [u8; 16]);

impl Ipv6 {
    /// Parses IPv6 text.
    pub fn parse(s: &str) -> Option<Self> {
        s.trim()
            .parse::<core::net::Ipv6Addr>()
            .ok()
            .map(|a| Ipv6(a.octets()))
    }
    /// True for `::`.
    pub fn is_unspecified(self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for Ipv6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&core::net::Ipv6Addr::from(self.0), f)
    }
}

impl FromArg for Ipv6 {
    const EXPECTED: &'static str = "an IPv6 address";
    fn from_arg(s: &str) -> Option<Self> {
        Ipv6::parse(s)
    }
}

/// An IPv6 address with a prefix length (`addr/len`, or `addr/mask` with
/// a contiguous IPv6 mask); a bare address is a /128.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Ipv6Prefix {
    /// The address as written (host bits kept).
    pub addr: Ipv6,
    /// Prefix length 0..=128.
    pub len: u8,
}

impl Ipv6Prefix {
    /// The netmask as a 128-bit integer.
    pub fn mask(self) -> u128 {
        if self.len == 0 {
            0
        } else {
            u128::MAX << (128 - self.len as u32)
        }
    }
    /// True if `a` lies inside the prefix.
    pub fn contains(self, a: &[u8; 16]) -> bool {
        (u128::from_be_bytes(*a) ^ u128::from_be_bytes(self.addr.0)) & self.mask() == 0
    }
    /// The prefix with its host bits cleared.
    pub fn network(self) -> Ipv6Prefix {
        let n = u128::from_be_bytes(self.addr.0) & self.mask();
        Ipv6Prefix {
            addr: Ipv6(n.to_be_bytes()),
            len: self.len,
        }
    }
    /// Parses `addr/len`, `addr/mask` or a bare address.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr = Ipv6::parse(a)?;
        let len = prefix_len(l, 128, |m| Some(u128::from_be_bytes(Ipv6::parse(m)?.0)))?;
        Some(Ipv6Prefix { addr, len })
    }
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromArg for Ipv6Prefix {
    const EXPECTED: &'static str = "an IPv6 prefix (ADDR/LEN)";
    fn from_arg(s: &str) -> Option<Self> {
        Ipv6Prefix::parse(s)
    }
}

/// An Ethernet address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct EtherAddr(pub [u8; 6]);

impl EtherAddr {
    /// The broadcast address.
    pub const BROADCAST: EtherAddr = EtherAddr([0xff; 6]);
    /// Parses `x:x:x:x:x:x` or `x-x-x-x-x-x` (1 or 2 hex digits each).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let sep = if s.contains(':') { ':' } else { '-' };
        let mut out = [0u8; 6];
        let mut n = 0;
        for part in s.split(sep) {
            if n == 6 || part.is_empty() || part.len() > 2 {
                return None;
            }
            out[n] = u8::from_str_radix(part, 16).ok()?;
            n += 1;
        }
        (n == 6).then_some(EtherAddr(out))
    }
}

impl fmt::Display for EtherAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            a[0], a[1], a[2], a[3], a[4], a[5]
        )
    }
}

impl FromArg for EtherAddr {
    const EXPECTED: &'static str = "an Ethernet address";
    fn from_arg(s: &str) -> Option<Self> {
        EtherAddr::parse(s)
    }
}

/// Splits `1.5ms` into the number and its unit, and returns the number
/// (a decimal real `12`, `1.5`, `.25`) times `unit_scale(unit)`, truncated,
/// without floating point.
fn scaled_decimal(s: &str, unit_scale: fn(&str) -> Option<u128>) -> Option<u128> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let scale = unit_scale(unit.trim())?;
    let (i, f) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if (i.is_empty() && f.is_empty())
        || !i.bytes().all(|b| b.is_ascii_digit())
        || !f.bytes().all(|b| b.is_ascii_digit())
        || f.len() > 18
    {
        return None;
    }
    let mut v: u128 = 0;
    for b in i.bytes().chain(f.bytes()) {
        v = v.checked_mul(10)?.checked_add((b - b'0') as u128)?;
    }
    Some(v.checked_mul(scale)? / 10u128.checked_pow(f.len() as u32)?)
}

/// A duration (Click's `SecondsArg`/`TimestampArg`): a number with an
/// optional unit `s sec ms msec us usec ns nsec m min h hr d day`;
/// no unit means seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub Timestamp);

impl FromArg for Duration {
    const EXPECTED: &'static str = "a time (e.g. 5s, 100ms)";
    fn from_arg(s: &str) -> Option<Self> {
        let ns = scaled_decimal(s, |unit| match unit {
            "" | "s" | "sec" | "secs" => Some(1_000_000_000),
            "ms" | "msec" | "msecs" => Some(1_000_000),
            "us" | "usec" | "usecs" => Some(1_000),
            "ns" | "nsec" | "nsecs" => Some(1),
            "m" | "min" | "mins" => Some(60_000_000_000),
            "h" | "hr" | "hrs" | "hour" | "hours" => Some(3_600_000_000_000),
            "d" | "day" | "days" => Some(86_400_000_000_000),
            _ => None,
        })?;
        i64::try_from(ns).ok().map(|n| Duration(Timestamp(n)))
    }
}

/// A bandwidth in bytes per second (Click's `BandwidthArg`): a number with
/// an optional unit `bps`, `Bps`, prefixed by `k`, `K`, `M`, `G`; no unit
/// means bytes per second. Bits are converted to bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Bandwidth(pub u64);

impl FromArg for Bandwidth {
    const EXPECTED: &'static str = "a bandwidth (e.g. 10Mbps, 1000Bps)";
    fn from_arg(s: &str) -> Option<Self> {
        let bits_per_sec = scaled_decimal(s, |unit| match unit {
            "" | "Bps" | "B/s" => Some(8),
            "bps" | "b/s" => Some(1),
            "kbps" | "Kbps" => Some(1_000),
            "kBps" | "KBps" => Some(8_000),
            "Mbps" => Some(1_000_000),
            "MBps" => Some(8_000_000),
            "Gbps" => Some(1_000_000_000),
            "GBps" => Some(8_000_000_000),
            _ => None,
        })?;
        u64::try_from(bits_per_sec / 8).ok().map(Bandwidth)
    }
}

/// Parses a value written to a handler (`expected X, got 'V'` on error;
/// the router already names the element and handler in front of it).
pub fn parse_written<T: FromArg>(v: &str) -> Result<T, ConfigError> {
    T::from_arg(v).ok_or_else(|| ConfigError::bad_value("", T::EXPECTED, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(u32::from_arg("14"), Some(14));
        assert_eq!(u32::from_arg("0x10"), Some(16));
        assert_eq!(u32::from_arg("010"), Some(8));
        assert_eq!(u32::from_arg("0"), Some(0));
        assert_eq!(u8::from_arg("256"), None);
        assert_eq!(u32::from_arg("-1"), None);
        assert_eq!(i32::from_arg("-5"), Some(-5));
        assert_eq!(u32::from_arg("x"), None);
        assert_eq!(u32::from_arg(""), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(Ipv4::from_arg("10.0.0.1"), Some(Ipv4([10, 0, 0, 1])));
        assert_eq!(Ipv4::from_arg("10.0.0.256"), None);
        assert_eq!(Ipv4::from_arg("10.0.0"), None);
        let p = Ipv4Prefix::from_arg("10.0.0.254/24").unwrap();
        assert_eq!(p.len, 24);
        assert_eq!(p.broadcast(), Ipv4([10, 0, 0, 255]));
        assert!(p.contains(Ipv4([10, 0, 0, 7])));
        assert_eq!(Ipv4Prefix::parse("1.2.0.0/255.255.0.0").unwrap().len, 16);
        assert_eq!(
            Ipv4Prefix::parse("10.0/16").unwrap().addr,
            Ipv4([10, 0, 0, 0])
        );
        assert_eq!(Ipv4Prefix::parse("1.2.3.4/33"), None);
        assert_eq!(Ipv4Prefix::parse("1.2.3.4/255.0.255.0"), None);
        assert_eq!(
            EtherAddr::from_arg("02-bb-00-00-00-02"),
            Some(EtherAddr([2, 0xbb, 0, 0, 0, 2]))
        );
        assert_eq!(
            EtherAddr::from_arg("1:2:3:4:5:6"),
            Some(EtherAddr([1, 2, 3, 4, 5, 6]))
        );
        assert_eq!(EtherAddr::from_arg("1:2:3:4:5"), None);
    }

    #[test]
    fn ipv6_addresses_and_prefixes() {
        use alloc::string::ToString;
        let a = Ipv6::from_arg("3ffe:1ce1:2:0:200::1").unwrap();
        assert_eq!(a.0[..6], [0x3f, 0xfe, 0x1c, 0xe1, 0, 2]);
        assert_eq!(a.0[8..], [2, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(a.to_string(), "3ffe:1ce1:2:0:200::1");
        assert!(Ipv6::from_arg("::").unwrap().is_unspecified());
        assert!(Ipv6::from_arg("::0").unwrap().is_unspecified());
        let m = Ipv6::from_arg("::ffff:18.26.4.125").unwrap();
        assert_eq!(m.0[10..], [0xff, 0xff, 18, 26, 4, 125]);
        assert_eq!(Ipv6::from_arg("1::2::3"), None);
        assert_eq!(Ipv6::from_arg("10.0.0.1"), None);
        let p = Ipv6Prefix::from_arg("64:ff9b::1/96").unwrap();
        assert_eq!(p.len, 96);
        assert_eq!(p.network().to_string(), "64:ff9b::/96");
        let mut inside = [0u8; 16];
        inside[..4].copy_from_slice(&[0, 0x64, 0xff, 0x9b]);
        inside[15] = 9;
        assert!(p.contains(&inside));
        inside[5] = 1;
        assert!(!p.contains(&inside));
        assert_eq!(Ipv6Prefix::parse("::/0").unwrap().mask(), 0);
        assert_eq!(Ipv6Prefix::parse("fe80::1").unwrap().len, 128);
        assert_eq!(Ipv6Prefix::parse("fe80::/ffff:ffff::").unwrap().len, 32);
        assert_eq!(Ipv6Prefix::parse("fe80::/ffff:0:ffff::"), None);
        assert_eq!(Ipv6Prefix::parse("fe80::/129"), None);
    }

    #[test]
    fn times_and_rates() {
        assert_eq!(
            Duration::from_arg("1s").unwrap().0,
            Timestamp::from_msec(1000)
        );
        assert_eq!(
            Duration::from_arg("20ms").unwrap().0,
            Timestamp::from_msec(20)
        );
        assert_eq!(
            Duration::from_arg("1.5").unwrap().0,
            Timestamp::from_msec(1500)
        );
        assert_eq!(
            Duration::from_arg("2min").unwrap().0,
            Timestamp::from_msec(120_000)
        );
        assert_eq!(Duration::from_arg("3 parsecs"), None);
        assert_eq!(Bandwidth::from_arg("1000Bps"), Some(Bandwidth(1000)));
        assert_eq!(Bandwidth::from_arg("8kbps"), Some(Bandwidth(1000)));
        assert_eq!(Bandwidth::from_arg("1000"), Some(Bandwidth(1000)));
        assert_eq!(Bandwidth::from_arg("fast"), None);
        assert_eq!(Bandwidth::from_arg("1.5MBps"), Some(Bandwidth(1_500_000)));
        assert_eq!(Bandwidth::from_arg("12.5 Mbps"), Some(Bandwidth(1_562_500)));
        assert_eq!(Bandwidth::from_arg("9bps"), Some(Bandwidth(1)));
        assert_eq!(
            Duration::from_arg(".25s"),
            Some(Duration(Timestamp(250_000_000)))
        );
        assert_eq!(
            Duration::from_arg("1.5ms"),
            Some(Duration(Timestamp(1_500_000)))
        );
    }

    #[test]
    fn bools() {
        assert_eq!(bool::from_arg("true"), Some(true));
        assert_eq!(bool::from_arg("no"), Some(false));
        assert_eq!(bool::from_arg("maybe"), None);
    }
}

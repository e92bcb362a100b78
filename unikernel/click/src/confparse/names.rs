//! Address names declared by `AddressInfo` elements, usable wherever an
//! element expects an IP address, an IP prefix or an Ethernet address.
//!
//! As in Click, a name may carry an IPv4 address (with an optional prefix
//! length) and an Ethernet address at once; the kind the element expects
//! picks which one a bare `NAME` stands for, and a suffix forces it:
//! `NAME:ip` (the address), `NAME:ipnet` (the network prefix, host bits
//! cleared), `NAME:bcast` (the directed broadcast address), `NAME:eth`.
//! A name may also carry an IPv6 address or prefix: `NAME:ip6` is the
//! address, `NAME:ip6net` the prefix with host bits cleared.
//!
//! Like Click's user-level driver, the host may also declare its network
//! devices ([`AddressNames::declare_device`]): where no `AddressInfo`
//! declares a name, a device's name stands for its address, prefix and
//! Ethernet address, and `NAME:gw` for its default gateway.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::split::split_words;
use super::values::{EtherAddr, Ipv4, Ipv4Prefix, Ipv6Prefix};
use crate::error::ConfigError;

/// What one name stands for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Entry {
    /// The IPv4 address as written, with its prefix length (32 if none).
    ip: Option<Ipv4Prefix>,
    /// The IPv6 address as written, with its prefix length (128 if none).
    ip6: Option<Ipv6Prefix>,
    /// A separately written prefix (`10.0.0.1 10.0.0.0/8`, as Click's
    /// `mazu-nat.click` declares its interfaces): the name's prefix.
    net: Option<Ipv4Prefix>,
    eth: Option<EtherAddr>,
    /// A device's default gateway (`NAME:gw`); `AddressInfo` never sets it.
    gw: Option<Ipv4>,
}

impl Entry {
    /// The prefix the name stands for: the one written separately, else
    /// the address with its length.
    fn prefix(&self) -> Option<Ipv4Prefix> {
        self.net.or(self.ip)
    }

    /// The address: as written, else the prefix's.
    fn addr(&self) -> Option<Ipv4> {
        self.ip.or(self.net).map(|p| p.addr)
    }
}

/// The names of a router's `AddressInfo` elements.
#[derive(Clone, Debug, Default)]
pub struct AddressNames {
    map: BTreeMap<String, Entry>,
    /// The host's devices, tried after `map` as Click does.
    devices: BTreeMap<String, Entry>,
}

/// The kind of address a bare name stands for in free-form text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Rules and patterns: the IP address (the prefix after `net`, the
    /// Ethernet address after `ether host`/`src`/`dst`).
    Rules,
    /// `ARPResponder` entries: the IP prefix and the Ethernet address.
    IpAndEther,
    /// Routes (`ADDR/MASK [GW] OUT`): the prefix first, then addresses.
    Route,
}

impl AddressNames {
    /// No names.
    pub fn new() -> Self {
        AddressNames::default()
    }

    /// True when no name is declared.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.devices.is_empty()
    }

    /// Declares a host network device: its IPv4 address with the prefix
    /// length of its netmask, its Ethernet address and its default
    /// gateway, each if it has one.
    pub fn declare_device(
        &mut self,
        name: &str,
        ip: Option<Ipv4Prefix>,
        eth: Option<EtherAddr>,
        gw: Option<Ipv4>,
    ) {
        let e = Entry {
            ip,
            eth,
            gw,
            ..Entry::default()
        };
        self.devices.insert(name.to_string(), e);
    }

    /// A name's entry: declared by `AddressInfo`, else a device's.
    fn entry(&self, name: &str) -> Option<&Entry> {
        self.map.get(name).or_else(|| self.devices.get(name))
    }

    /// Declares the names of one `NAME ADDR [ADDR...]` argument.
    pub fn declare(&mut self, arg: &str) -> Result<(), ConfigError> {
        let words = split_words(arg);
        let Some((name, addrs)) = words.split_first() else {
            return Err(ConfigError::missing("NAME"));
        };
        if addrs.is_empty() {
            return Err(ConfigError::bad_value(
                "ADDR",
                "NAME followed by addresses",
                arg,
            ));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError::bad_value("NAME", "a name", name));
        }
        let mut e = Entry::default();
        for a in addrs {
            if let Some(p) = Ipv4Prefix::parse(a) {
                // A prefix beside a plain address names its network
                // (`10.0.0.1 10.0.0.0/8`, as Click's `mazu-nat.click`
                // declares interfaces).
                let beside_addr = p.len < 32
                    && addrs
                        .iter()
                        .any(|w| Ipv4Prefix::parse(w).is_some_and(|q| q.len == 32));
                if beside_addr {
                    if e.net.replace(p).is_some() {
                        return Err(ConfigError::conflict(format!(
                            "'{name}': more than one IP prefix"
                        )));
                    }
                } else if e.ip.replace(p).is_some() {
                    return Err(ConfigError::conflict(format!(
                        "'{name}': more than one IP address"
                    )));
                }
            } else if let Some(p) = Ipv6Prefix::parse(a) {
                if e.ip6.replace(p).is_some() {
                    return Err(ConfigError::conflict(format!(
                        "'{name}': more than one IPv6 address"
                    )));
                }
            } else if let Some(x) = EtherAddr::parse(a) {
                if e.eth.replace(x).is_some() {
                    return Err(ConfigError::conflict(format!(
                        "'{name}': more than one Ethernet address"
                    )));
                }
            } else {
                return Err(ConfigError::bad_value(
                    "ADDR",
                    "an IP or IPv6 address or prefix, or an Ethernet address",
                    a,
                ));
            }
        }
        self.map.insert(name.clone(), e);
        Ok(())
    }

    /// The texts `word` may stand for, most specific kind first: the
    /// prefix as written, the address, the Ethernet address. Empty when
    /// `word` is not a declared name (with a known suffix).
    pub fn candidates(&self, word: &str) -> Vec<String> {
        let (name, suffix) = match word.rsplit_once(':') {
            Some((n, s)) if self.entry(n).is_some() => (n, Some(s)),
            _ => (word, None),
        };
        let Some(e) = self.entry(name) else {
            return Vec::new();
        };
        let net = e.prefix();
        let text = |x: Option<String>| x.into_iter().collect();
        match suffix {
            None => [
                net.filter(|p| p.len < 32).map(|p| p.to_string()),
                e.addr().map(|a| a.to_string()),
                e.ip6.filter(|p| p.len < 128).map(|p| p.to_string()),
                e.ip6.map(|p| p.addr.to_string()),
                e.eth.map(|x| x.to_string()),
            ]
            .into_iter()
            .flatten()
            .collect(),
            Some("ip") => text(e.addr().map(|a| a.to_string())),
            Some("ipnet") => text(net.map(|p| {
                Ipv4Prefix {
                    addr: Ipv4::from_u32(p.addr.to_u32() & p.mask()),
                    len: p.len,
                }
                .to_string()
            })),
            Some("bcast") => text(net.map(|p| p.broadcast().to_string())),
            Some("eth") => text(e.eth.map(|x| x.to_string())),
            Some("gw") => text(e.gw.map(|a| a.to_string())),
            Some("ip6") => text(e.ip6.map(|p| p.addr.to_string())),
            Some("ip6net") => text(e.ip6.map(|p| p.network().to_string())),
            Some(_) => Vec::new(),
        }
    }

    /// `text` with every declared name (a whole word) replaced by the
    /// address it stands for in `cx`; other text is kept as written.
    pub fn substitute(&self, text: &str, cx: Context) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        let is_word_byte = |c: char| c.is_ascii_alphanumeric() || "_-:.".contains(c);
        let mut out = String::new();
        let mut prev: Vec<&str> = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find(is_word_byte) {
            out.push_str(&rest[..start]);
            let tail = &rest[start..];
            let end = tail.find(|c| !is_word_byte(c)).unwrap_or(tail.len());
            let word = &tail[..end];
            out.push_str(
                &self
                    .replace(word, &prev, cx)
                    .unwrap_or_else(|| word.to_string()),
            );
            prev.push(word);
            rest = &tail[end..];
        }
        out.push_str(rest);
        out
    }

    fn replace(&self, word: &str, prev: &[&str], cx: Context) -> Option<String> {
        let c = self.candidates(word);
        if c.is_empty() {
            return None;
        }
        if word.contains(':') {
            return c.into_iter().next();
        }
        let e = self.entry(word)?;
        let ip = e
            .addr()
            .map(|a| a.to_string())
            .or_else(|| e.ip6.map(|p| p.addr.to_string()));
        let net = e
            .prefix()
            .map(|p| p.to_string())
            .or_else(|| e.ip6.map(|p| p.to_string()));
        let eth = e.eth.map(|x| x.to_string());
        let last = |n: usize| prev.len().checked_sub(n).map(|i| prev[i]);
        match cx {
            Context::IpAndEther => Some(
                [net, eth]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Context::Route if prev.is_empty() => net,
            Context::Route => ip,
            Context::Rules if last(1) == Some("net") => net,
            Context::Rules if last(2) == Some("ether") => eth,
            Context::Rules => ip.or(eth),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> AddressNames {
        let mut n = AddressNames::new();
        n.declare("boojum 10.0.0.1/24 00:01:02:03:04:05").unwrap();
        n.declare("gw 10.0.0.254").unwrap();
        n.declare("mac 0-1-2-3-4-6").unwrap();
        n.declare("intern 10.0.0.1 10.0.0.0/8 0:50:ba:85:84:a9")
            .unwrap();
        n
    }

    #[test]
    fn an_address_beside_its_network() {
        let n = names();
        assert_eq!(
            n.candidates("intern"),
            ["10.0.0.0/8", "10.0.0.1", "00:50:ba:85:84:a9"]
        );
        assert_eq!(n.candidates("intern:ipnet"), ["10.0.0.0/8"]);
        assert_eq!(n.candidates("intern:bcast"), ["10.255.255.255"]);
        assert_eq!(
            n.substitute("dst host intern or src net intern", Context::Rules),
            "dst host 10.0.0.1 or src net 10.0.0.0/8"
        );
        assert_eq!(
            n.substitute("intern", Context::IpAndEther),
            "10.0.0.0/8 00:50:ba:85:84:a9"
        );
    }

    #[test]
    fn suffixes_pick_the_kind() {
        let n = names();
        assert_eq!(
            n.candidates("boojum"),
            ["10.0.0.1/24", "10.0.0.1", "00:01:02:03:04:05"]
        );
        assert_eq!(n.candidates("boojum:ip"), ["10.0.0.1"]);
        assert_eq!(n.candidates("boojum:ipnet"), ["10.0.0.0/24"]);
        assert_eq!(n.candidates("boojum:bcast"), ["10.0.0.255"]);
        assert_eq!(n.candidates("boojum:eth"), ["00:01:02:03:04:05"]);
        assert_eq!(n.candidates("gw"), ["10.0.0.254"]);
        assert!(n.candidates("gw:eth").is_empty());
        assert!(n.candidates("boojum:frob").is_empty());
        assert!(n.candidates("nobody").is_empty());
    }

    #[test]
    fn substitution_keeps_other_text() {
        let n = names();
        assert_eq!(
            n.substitute(
                "src host boojum && !(dst net boojum) or ether src mac",
                Context::Rules
            ),
            "src host 10.0.0.1 && !(dst net 10.0.0.1/24) or ether src 00:01:02:03:04:06"
        );
        assert_eq!(
            n.substitute("pattern gw 1024-65535 boojum:ipnet - 0 1", Context::Rules),
            "pattern 10.0.0.254 1024-65535 10.0.0.0/24 - 0 1"
        );
        assert_eq!(
            n.substitute("boojum gw 1", Context::Route),
            "10.0.0.1/24 10.0.0.254 1"
        );
        assert_eq!(
            n.substitute("boojum", Context::IpAndEther),
            "10.0.0.1/24 00:01:02:03:04:05"
        );
    }

    #[test]
    fn ipv6_entries() {
        let mut n = AddressNames::new();
        n.declare("in6 fd00::1/64 00:01:02:03:04:05").unwrap();
        n.declare("both 10.0.0.1 fd00::9").unwrap();
        assert_eq!(
            n.candidates("in6"),
            ["fd00::1/64", "fd00::1", "00:01:02:03:04:05"]
        );
        assert_eq!(n.candidates("in6:ip6"), ["fd00::1"]);
        assert_eq!(n.candidates("in6:ip6net"), ["fd00::/64"]);
        assert_eq!(n.candidates("both"), ["10.0.0.1", "fd00::9"]);
        assert_eq!(
            n.substitute("in6 ::0 1", Context::Route),
            "fd00::1/64 ::0 1"
        );
        assert_eq!(
            n.substitute("in6", Context::IpAndEther),
            "fd00::1/64 00:01:02:03:04:05"
        );
        assert!(n.declare("x fd00::1 fd00::2").is_err());
    }

    #[test]
    fn host_devices_after_declared_names() {
        let mut n = names();
        let p = |s| Ipv4Prefix::parse(s);
        n.declare_device(
            "eth0",
            p("192.0.2.2/24"),
            EtherAddr::parse("02:fc:00:00:00:01"),
            Ipv4::parse("192.0.2.1"),
        );
        // A declared name wins over a device of the same name.
        n.declare_device("gw", p("10.9.9.9/8"), None, None);
        assert_eq!(
            n.candidates("eth0"),
            ["192.0.2.2/24", "192.0.2.2", "02:fc:00:00:00:01"]
        );
        assert_eq!(n.candidates("eth0:gw"), ["192.0.2.1"]);
        assert_eq!(n.candidates("eth0:ipnet"), ["192.0.2.0/24"]);
        assert_eq!(n.candidates("gw"), ["10.0.0.254"]);
        assert!(n.candidates("boojum:gw").is_empty());
        assert_eq!(
            n.substitute("src host eth0", Context::Rules),
            "src host 192.0.2.2"
        );
    }

    #[test]
    fn bad_declarations() {
        let mut n = AddressNames::new();
        assert!(n.declare("lonely").is_err());
        assert!(n.declare("x 1.2.3.4 5.6.7.8").is_err());
        assert!(n.declare("x 1.2.3.4 10.0.0.0/8 11.0.0.0/8").is_err());
        assert!(n.declare("x 0:1:2:3:4:5 0:1:2:3:4:6").is_err());
        assert!(n.declare("x banana").is_err());
        assert!(n.declare("a.b 1.2.3.4").is_err());
        assert!(n.is_empty());
    }
}

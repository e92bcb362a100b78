//! `IP6NDAdvertiser(IP6/LEN ETH, ...)`: answers IPv6 neighbour
//! solicitations for the configured addresses (the IPv6 counterpart of
//! `ARPResponder`).
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Input packets are Ethernet frames. A neighbour solicitation (RFC 4861:
//! hop limit 255, ICMPv6 type 135 code 0, correct checksum, well-formed
//! options) whose target lies in one of the configured prefixes (the most
//! specific wins) is answered with a neighbour advertisement from the
//! target address and the prefix's Ethernet address, flags router and
//! solicited, with a target link-layer address option, sent to the
//! solicitation's Ethernet and IPv6 source. A duplicate-address-detection
//! solicitation (source `::`) is answered to all nodes (`ff02::1`),
//! without the solicited flag. Every input packet is consumed; anything
//! else is dropped and counted. A bare address is a /128; a prefix makes
//! this a proxy for the whole prefix.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `drops` (read): input packets that got no answer.
//! * `table` (read): one `PREFIX ETH` line per entry.
//!
//! # Example
//! ```text
//! c :: Classifier(12/86dd 20/3aff 54/87, -);
//! FromDump(in.pcap) -> c;
//! c[0] -> IP6NDAdvertiser(fd00::1 02:00:00:00:00:01) -> Discard;
//! c[1] -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

use super::nd;
use crate::confparse::{split_words, Context, EtherAddr, Ipv6Prefix};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `IP6NDAdvertiser` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IP6NDAdvertiser",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let mut entries = Vec::new();
        for (i, arg) in args
            .rest_positional_resolved(Context::IpAndEther)
            .iter()
            .enumerate()
        {
            let mut prefixes = Vec::new();
            let mut eth = None;
            for w in split_words(arg) {
                if let Some(p) = Ipv6Prefix::parse(&w) {
                    prefixes.push(p.network());
                } else if let Some(e) = EtherAddr::parse(&w) {
                    if eth.replace(e).is_some() {
                        return Err(ConfigError::conflict(format!(
                            "argument {}: more than one Ethernet address",
                            i + 1
                        )));
                    }
                } else {
                    return Err(ConfigError::bad_value("ENTRY", "IP6/LEN ETH", arg));
                }
            }
            let Some(eth) = eth else {
                return Err(ConfigError::bad_value("ENTRY", "IP6/LEN ETH", arg));
            };
            if prefixes.is_empty() {
                return Err(ConfigError::bad_value("ENTRY", "IP6/LEN ETH", arg));
            }
            entries.extend(prefixes.into_iter().map(|p| (p, eth)));
        }
        if entries.is_empty() {
            return Err(ConfigError::missing("ENTRY"));
        }
        // Most specific first: the first match is the answer.
        entries.sort_by_key(|e: &(Ipv6Prefix, EtherAddr)| core::cmp::Reverse(e.0.len));
        Ok(Box::new(Ip6NdAdvertiser { entries, drops: 0 }))
    },
};

/// Answers neighbour solicitations.
pub struct Ip6NdAdvertiser {
    entries: Vec<(Ipv6Prefix, EtherAddr)>,
    drops: u64,
}

impl Ip6NdAdvertiser {
    fn answer(&self, f: &[u8]) -> Option<Vec<u8>> {
        let m = nd::parse(f).filter(|m| m.kind == nd::SOLICIT)?;
        let (_, eth) = self.entries.iter().find(|(p, _)| p.contains(&m.target))?;
        Some(nd::advertisement(m.ether_src, &m.src, &m.target, eth.0))
    }

    fn action(&mut self, cx: &Ctx, p: Packet) -> Option<Packet> {
        let reply = self.answer(p.data());
        let q = reply.and_then(|r| {
            let mut q = cx.alloc(r.len())?;
            q.data_mut().copy_from_slice(&r);
            q.set_timestamp(p.timestamp());
            Some(q)
        });
        if q.is_none() {
            self.drops += 1;
        }
        cx.kill(p);
        q
    }
}

impl Element for Ip6NdAdvertiser {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("drops"), HandlerDecl::read("table")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        if name == "drops" {
            return self.drops.to_string();
        }
        let mut s = String::new();
        for (p, e) in &self.entries {
            let _ = writeln!(s, "{p} {e}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::nd;
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    fn a(s: &str) -> [u8; 16] {
        s.parse::<core::net::Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn answers_solicitations_for_its_prefixes_only() {
        let (r, _) = router_from_source(
            "Idle -> nda :: IP6NDAdvertiser(fd00::1 02:00:00:00:00:01, fd00:1::/64 fd00::99/128 02:00:00:00:00:02) -> s :: TestSink;",
        );
        let nda = r.find("nda").unwrap();
        let client = [2, 0, 0, 0, 0, 9];
        for t in ["fd00::1", "fd00:1::77", "fd00::99", "fd00::2"] {
            r.inject(
                nda,
                0,
                Packet::from_slice(&nd::solicitation(&a("fd00::9"), client, &a(t))),
            );
        }
        r.inject(nda, 0, Packet::from_slice(&[0; 20]));
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 3);
        let m: alloc::vec::Vec<_> = got.iter().map(|(_, f)| nd::parse(f).unwrap()).collect();
        assert_eq!(m[0].target, a("fd00::1"));
        assert_eq!(m[0].lladdr, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(m[1].lladdr, Some([2, 0, 0, 0, 0, 2]));
        assert_eq!(got[0].1[..6], client);
        assert_eq!(got[0].1[14 + 24..14 + 40], a("fd00::9"));
        assert_eq!(m[2].src, a("fd00::99"));
        assert_eq!(r.read("nda.drops").unwrap(), "2");
        assert!(build_from_source("Idle -> IP6NDAdvertiser(fd00::1) -> Discard;").is_err());
        assert!(build_from_source(
            "Idle -> IP6NDAdvertiser(fd00::1 1:2:3:4:5:6 1:2:3:4:5:7) -> Discard;"
        )
        .is_err());
    }
}

//! `IP6NDSolicitor(IP, ETH)`: resolves IPv6 next hops to Ethernet
//! addresses by neighbour discovery and encapsulates packets (the IPv6
//! counterpart of `ARPQuerier`).
//!
//! # Ports
//! Two inputs; one or two outputs; push.
//!
//! # Processing
//! Input 0 takes IPv6 packets (no Ethernet header) with a destination
//! IPv6 annotation (`GetIP6Address(24)`, `LookupIP6Route`). When the
//! annotation's Ethernet address is known, the packet gets an Ethernet
//! header (from ETH to it, type 0x86dd) and leaves on output 0; a
//! multicast destination maps to `33:33:` and its last four bytes without
//! a lookup. Otherwise the packet waits (one per destination, a newer one
//! replaces it) and a neighbour solicitation from IP/ETH to the target's
//! solicited-node group leaves on the last output. Input 1 takes
//! Ethernet frames: neighbour advertisements (RFC 4861 checks: hop limit
//! 255, checksum, options) for a pending or known address record it (the
//! target link-layer option, else the Ethernet source) and release the
//! waiting packet; everything on input 1 is consumed. An entry older than
//! 60 seconds is refreshed by a new solicitation when used; after 120
//! seconds without an advertisement it is forgotten. At most 4096
//! addresses are kept; a packet for a new one beyond that is dropped.
//!
//! # Keywords
//! * `IP` (IPv6 address): this host's address, the solicitations' source.
//! * `ETH` (Ethernet address): this host's Ethernet address.
//!
//! # Handlers
//! * `table` (read): one `ADDR OK ETH` line per entry (OK 1 when
//!   resolved, else 0 and `00:00:00:00:00:00`).
//! * `stats` (read): `N packets killed` and `N ND Solicitation Message
//!   sent` lines, as Click prints them.
//!
//! # Example
//! ```text
//! c :: Classifier(12/86dd 20/3aff 54/88, 12/86dd, -);
//! nds :: IP6NDSolicitor(fd00::1, 02:00:00:00:00:01);
//! FromDump(in.pcap) -> c;
//! c[0] -> [1]nds;
//! c[1] -> Strip(14) -> CheckIP6Header -> GetIP6Address(24) -> [0]nds;
//! c[2] -> Discard;
//! nds -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use core::fmt::Write;

use super::nd;
use crate::confparse::{EtherAddr, Ipv6};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::net::ip6;
use crate::packet::Packet;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `IP6NDSolicitor` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IP6NDSolicitor",
    ports: "2/1-2",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        let ip = args.required::<Ipv6>("IP")?;
        let eth = args.required::<EtherAddr>("ETH")?;
        Ok(Box::new(Ip6NdSolicitor {
            ip: ip.0,
            eth: eth.0,
            map: BTreeMap::new(),
            killed: 0,
            queries: 0,
        }))
    },
};

/// How many addresses the table holds.
const MAX_ENTRIES: usize = 4096;
/// Age after which a used entry is solicited again.
const REFRESH: Timestamp = Timestamp::from_msec(60_000);
/// Age after which an entry is forgotten.
const EXPIRE: Timestamp = Timestamp::from_msec(120_000);

/// One neighbour.
struct Entry {
    eth: Option<[u8; 6]>,
    /// When the last advertisement arrived.
    heard: Timestamp,
    /// Whether a refresh solicitation is out.
    polling: bool,
    waiting: Option<Packet>,
}

/// Resolves and encapsulates.
pub struct Ip6NdSolicitor {
    ip: [u8; 16],
    eth: [u8; 6],
    map: BTreeMap<[u8; 16], Entry>,
    killed: u64,
    queries: u64,
}

impl Ip6NdSolicitor {
    fn query(&mut self, cx: &Ctx, target: &[u8; 16]) {
        let f = nd::solicitation(&self.ip, self.eth, target);
        if let Some(mut q) = cx.alloc(f.len()) {
            q.data_mut().copy_from_slice(&f);
            self.queries += 1;
            cx.push(cx.noutputs() - 1, q);
        }
    }

    fn encap(&self, cx: &Ctx, mut p: Packet, dst: [u8; 6]) {
        p.push(14);
        let d = p.data_mut();
        d[..6].copy_from_slice(&dst);
        d[6..12].copy_from_slice(&self.eth);
        d[12..14].copy_from_slice(&[0x86, 0xDD]);
        cx.push(0, p);
    }

    fn handle_ip6(&mut self, cx: &Ctx, p: Packet) {
        let dst = p.dst_ip6_anno();
        if ip6::is_multicast(&dst) {
            return self.encap(cx, p, ip6::multicast_ether(&dst));
        }
        let now = cx.now();
        if let Some(e) = self.map.get(&dst) {
            if e.eth.is_some() && now - e.heard > EXPIRE {
                self.map.remove(&dst);
            }
        }
        if !self.map.contains_key(&dst) && self.map.len() >= MAX_ENTRIES {
            self.killed += 1;
            cx.kill(p);
            return;
        }
        let e = self.map.entry(dst).or_insert(Entry {
            eth: None,
            heard: now,
            polling: false,
            waiting: None,
        });
        match e.eth {
            Some(eth) => {
                let refresh = !e.polling && now - e.heard > REFRESH;
                if refresh {
                    e.polling = true;
                }
                self.encap(cx, p, eth);
                if refresh {
                    self.query(cx, &dst);
                }
            }
            None => {
                if let Some(old) = e.waiting.replace(p) {
                    self.killed += 1;
                    cx.kill(old);
                }
                self.query(cx, &dst);
            }
        }
    }

    fn handle_advert(&mut self, cx: &Ctx, p: &Packet) {
        let Some(m) = nd::parse(p.data()).filter(|m| m.kind == nd::ADVERT) else {
            return;
        };
        let Some(e) = self.map.get_mut(&m.target) else {
            return;
        };
        let eth = m.lladdr.unwrap_or(m.ether_src);
        e.eth = Some(eth);
        e.heard = cx.now();
        e.polling = false;
        if let Some(w) = e.waiting.take() {
            self.encap(cx, w, eth);
        }
    }
}

impl Element for Ip6NdSolicitor {
    fn push(&mut self, cx: &Ctx, port: usize, p: Packet) {
        if port == 0 {
            self.handle_ip6(cx, p);
        } else {
            self.handle_advert(cx, &p);
            cx.kill(p);
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("table"), HandlerDecl::read("stats")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        let mut s = String::new();
        if name == "stats" {
            let _ = write!(
                s,
                "{} packets killed\n{} ND Solicitation Message sent\n",
                self.killed, self.queries
            );
            return s;
        }
        for (a, e) in &self.map {
            let _ = writeln!(
                s,
                "{} {} {}",
                Ipv6(*a),
                u8::from(e.eth.is_some()),
                EtherAddr(e.eth.unwrap_or_default())
            );
        }
        s
    }

    fn take_state(&mut self, old: &mut dyn Element, _cx: &Ctx) {
        if let Some(o) = old.downcast_mut::<Ip6NdSolicitor>() {
            if o.ip == self.ip && o.eth == self.eth {
                core::mem::swap(&mut self.map, &mut o.map);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::nd;
    use crate::net::ip6;
    use crate::packet::Packet;
    use crate::testing::{router_from_source, sink_contents};

    fn a(s: &str) -> [u8; 16] {
        s.parse::<core::net::Ipv6Addr>().unwrap().octets()
    }

    fn to(dst: &str) -> Packet {
        let mut p = Packet::from_slice(&ip6::build(&a("fd00::1"), &a(dst), 59, 64, &[]));
        p.set_dst_ip6_anno(a(dst));
        p
    }

    #[test]
    fn solicits_waits_and_sends_after_the_advertisement() {
        let (r, _) = router_from_source(
            "Idle -> [0]nds :: IP6NDSolicitor(fd00::1, 02:00:00:00:00:01) -> out :: TestSink;
             Idle -> [1]nds; nds[1] -> q :: TestSink;",
        );
        let nds = r.find("nds").unwrap();
        r.inject(nds, 0, to("fd00::2"));
        r.inject(nds, 0, to("fd00::2"));
        let qs = sink_contents(&r, "q");
        assert_eq!(qs.len(), 2);
        let m = nd::parse(&qs[0].1).unwrap();
        assert_eq!(
            (m.kind, m.target, m.src),
            (nd::SOLICIT, a("fd00::2"), a("fd00::1"))
        );
        assert!(sink_contents(&r, "out").is_empty());
        assert_eq!(
            r.read("nds.table").unwrap(),
            "fd00::2 0 00:00:00:00:00:00\n"
        );
        // An advertisement for an address nobody asked about changes nothing.
        let theirs = [2, 0, 0, 0, 0, 2];
        let na = nd::advertisement([2, 0, 0, 0, 0, 1], &a("fd00::1"), &a("fd00::3"), theirs);
        r.inject(nds, 1, Packet::from_slice(&na));
        let na = nd::advertisement([2, 0, 0, 0, 0, 1], &a("fd00::1"), &a("fd00::2"), theirs);
        r.inject(nds, 1, Packet::from_slice(&na));
        let out = sink_contents(&r, "out");
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].1[..14],
            [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd]
        );
        r.inject(nds, 0, to("fd00::2"));
        r.inject(nds, 0, to("ff02::1"));
        let out = sink_contents(&r, "out");
        assert_eq!(out.len(), 3);
        assert_eq!(out[2].1[..6], [0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(
            r.read("nds.table").unwrap(),
            "fd00::2 1 02:00:00:00:00:02\n"
        );
        assert_eq!(
            r.read("nds.stats").unwrap(),
            "1 packets killed\n2 ND Solicitation Message sent\n"
        );
    }
}

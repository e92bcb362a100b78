//! `LookupIP6Route(ROUTE, ...)`: IPv6 routing by longest-prefix match on
//! the destination IPv6 annotation.
//!
//! # Ports
//! One input, any number of outputs; push.
//!
//! # Processing
//! Each ROUTE is `DST/LEN GW OUT`, `DST MASK GW OUT` or `DST/LEN OUT`. A
//! packet is routed on its destination IPv6 annotation (set by
//! `GetIP6Address(24)`): the most specific route containing it wins. A
//! route whose gateway GW is not `::` sets the annotation to GW; the
//! packet then leaves on output OUT. A packet no route matches is dropped
//! and counted. Two routes for the same prefix are a configuration error;
//! OUT must be an existing output. Routes may use `AddressInfo` names.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `table` (read): the routes, one `DST/LEN<tab>GW<tab>OUT` line each
//!   (`-` when there is no gateway), most specific first.
//! * `add` (write): adds a route; one for an existing prefix is an error.
//! * `remove` (write): removes the route for `DST/LEN` (GW and OUT may
//!   follow and are ignored).
//! * `drops` (read): packets no route matched.
//!
//! # Example
//! ```text
//! rt :: LookupIP6Route(fd00::1/128 ::0 0, fd00::/64 ::0 1, ::/0 fd00::fe 1);
//! ... -> CheckIP6Header -> GetIP6Address(24) -> rt;
//! rt[0] -> Discard; rt[1] -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

use crate::confparse::{AddressNames, Context, Ipv6, Ipv6Prefix};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `LookupIP6Route` class.
pub static CLASS: ElementClass = ElementClass {
    name: "LookupIP6Route",
    ports: "1/-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| {
        let mut el = LookupIp6Route {
            routes: Vec::new(),
            noutputs: cx.noutputs(),
            names: args.names(),
            drops: 0,
        };
        for r in args.rest_positional_resolved(Context::Route) {
            let route = el.parse(&r, true)?;
            el.insert(route)?;
        }
        Ok(Box::new(el))
    },
};

/// One route, its prefix already masked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Route {
    dst: Ipv6Prefix,
    gw: [u8; 16],
    out: usize,
}

/// An IPv6 routing table.
pub struct LookupIp6Route {
    /// Longest prefix first, so the first match is the best.
    routes: Vec<Route>,
    noutputs: usize,
    names: Rc<AddressNames>,
    drops: u64,
}

impl LookupIp6Route {
    fn parse(&self, s: &str, need_out: bool) -> Result<Route, ConfigError> {
        let bad = || ConfigError::bad_value("ROUTE", "DST/LEN GW OUT", s);
        let w: Vec<&str> = s.split_ascii_whitespace().collect();
        let (dst, gw, out) = match w.as_slice() {
            [d] if !need_out => (Ipv6Prefix::parse(d), None, None),
            [d, o] => (Ipv6Prefix::parse(d), None, Some(*o)),
            [d, g, o] => (Ipv6Prefix::parse(d), Some(*g), Some(*o)),
            [d, m, g, o] => (
                Ipv6Prefix::parse(&format!("{d}/{m}")).filter(|_| !d.contains('/')),
                Some(*g),
                Some(*o),
            ),
            _ => return Err(bad()),
        };
        let dst = dst.ok_or_else(bad)?.network();
        let gw = match gw {
            Some(g) => Ipv6::parse(g).ok_or_else(bad)?.0,
            None => [0; 16],
        };
        let out = match out {
            Some(o) => {
                let o: usize = o.parse().map_err(|_| bad())?;
                if o >= self.noutputs {
                    return Err(ConfigError::out_of_range(format!(
                        "route '{s}': output {o} out of range ({} outputs)",
                        self.noutputs
                    )));
                }
                o
            }
            None => 0,
        };
        Ok(Route { dst, gw, out })
    }

    fn insert(&mut self, r: Route) -> Result<(), ConfigError> {
        if self.routes.iter().any(|x| x.dst == r.dst) {
            return Err(ConfigError::conflict(format!(
                "route for {} conflicts with an existing route",
                r.dst
            )));
        }
        let at = self.routes.partition_point(|x| x.dst.len >= r.dst.len);
        self.routes.insert(at, r);
        Ok(())
    }
}

impl Element for LookupIp6Route {
    fn push(&mut self, cx: &Ctx, _port: usize, mut p: Packet) {
        let dst = p.dst_ip6_anno();
        match self.routes.iter().find(|r| r.dst.contains(&dst)) {
            Some(r) => {
                if r.gw != [0; 16] {
                    p.set_dst_ip6_anno(r.gw);
                }
                cx.push(r.out, p);
            }
            None => {
                self.drops += 1;
                cx.kill(p);
            }
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("table"),
            HandlerDecl::read("drops"),
            HandlerDecl::write("add"),
            HandlerDecl::write("remove"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        if name == "drops" {
            return self.drops.to_string();
        }
        let mut s = String::new();
        for r in &self.routes {
            let gw = if r.gw == [0; 16] {
                "-".to_string()
            } else {
                Ipv6(r.gw).to_string()
            };
            let _ = writeln!(s, "{}\t{gw}\t{}", r.dst, r.out);
        }
        s
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        let text = self.names.substitute(value.trim(), Context::Route);
        match name {
            "add" => {
                let r = self.parse(&text, true)?;
                self.insert(r)
            }
            _ => {
                let r = self.parse(&text, false)?;
                let before = self.routes.len();
                self.routes.retain(|x| x.dst != r.dst);
                if self.routes.len() == before {
                    return Err(ConfigError::bad_value("ROUTE", "an existing route", value));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, TestSink};

    fn anno(r: &crate::router::Router, sink: &str) -> alloc::vec::Vec<[u8; 16]> {
        r.with_element(r.find(sink).unwrap(), |e, _| {
            let s = e.downcast_ref::<TestSink>().unwrap();
            s.got.iter().map(|(_, p)| p.dst_ip6_anno()).collect()
        })
        .unwrap()
    }

    fn to(a: &str) -> Packet {
        let mut p = Packet::from_slice(&[0; 40]);
        p.set_dst_ip6_anno(a.parse::<core::net::Ipv6Addr>().unwrap().octets());
        p
    }

    #[test]
    fn longest_prefix_wins_and_gateways_rewrite_the_annotation() {
        let (r, _) = router_from_source(
            "Idle -> rt :: LookupIP6Route(3ffe:1ce1:2::2/128 ::0 0, 3ffe:1ce1:2::/80 ::0 1, \
             3ffe:1ce1:2:0:200:: ffff:ffff:ffff:ffff:ffff:: ::0 2, ::/0 ::c0a8:1 1);
             rt[0] -> a :: TestSink; rt[1] -> b :: TestSink; rt[2] -> c :: TestSink;",
        );
        let rt = r.find("rt").unwrap();
        for a in [
            "3ffe:1ce1:2::2",
            "3ffe:1ce1:2::9",
            "3ffe:1ce1:2:0:200::5",
            "2001:db8::1",
        ] {
            r.inject(rt, 0, to(a));
        }
        assert_eq!(anno(&r, "a").len(), 1);
        let b = anno(&r, "b");
        assert_eq!(b.len(), 2);
        assert_eq!(b[1][12..], [0xc0, 0xa8, 0, 1]);
        assert_eq!(anno(&r, "c").len(), 1);
        assert_eq!(
            r.read("rt.table").unwrap(),
            "3ffe:1ce1:2::2/128\t-\t0\n3ffe:1ce1:2::/80\t-\t1\n3ffe:1ce1:2:0:200::/80\t-\t2\n::/0\t::c0a8:1\t1\n"
        );
    }

    #[test]
    fn handlers_and_errors() {
        let (r, _) =
            router_from_source("Idle -> rt :: LookupIP6Route(fd00::/64 0) -> a :: TestSink;");
        r.write("rt.remove", "fd00::/64").unwrap();
        r.inject(r.find("rt").unwrap(), 0, to("fd00::1"));
        assert_eq!(r.read("rt.drops").unwrap(), "1");
        r.write("rt.add", "::/0 fd00::fe 0").unwrap();
        assert!(r.write("rt.add", "::/0 fd00::fe 0").is_err());
        assert!(r.write("rt.add", "::/0 fd00::fe 4").is_err());
        assert!(r.write("rt.remove", "fd00::/64").is_err());
        r.inject(r.find("rt").unwrap(), 0, to("fd00::1"));
        assert_eq!(anno(&r, "a")[0][15], 0xfe);
        assert!(build_from_source("Idle -> LookupIP6Route(fd00::/64 banana) -> Discard;").is_err());
        assert!(build_from_source("Idle -> LookupIP6Route(fd00::/64 ::0 1) -> Discard;").is_err());
    }
}

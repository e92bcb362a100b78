//! `StaticIPLookup(ROUTE, ...)`: IP routing by longest-prefix match over a
//! fixed table.
//!
//! `LinearIPLookup(ROUTE, ...)`: IP routing by longest-prefix match, with
//! routes added and removed at run time.
//!
//! `RadixIPLookup(ROUTE, ...)`: as `LinearIPLookup` (same table, same
//! handlers).
//!
//! `DirectIPLookup(ROUTE, ...)`: as `LinearIPLookup` (same table, same
//! handlers).
//!
//! # Ports
//! One input, any number of outputs; push.
//!
//! # Processing
//! Each ROUTE is `ADDR/MASK [GW] OUT`. A packet is routed on its
//! destination IP annotation (set by `GetIPAddress`, `CheckIPHeader` ...
//! as in Click), not on its header: the most specific route containing it
//! wins. A route with a gateway GW (not 0.0.0.0) sets the annotation to
//! GW; the packet then leaves on output OUT. A packet no route matches is
//! dropped. The address bits outside the mask are cleared, as Click does.
//! Two routes for the same prefix are a configuration error; OUT must be
//! an existing output. Routes, in the arguments and the handlers, may use
//! `AddressInfo` names. All four classes share one table, so they differ
//! only in their handlers (`StaticIPLookup` cannot change its routes);
//! Click's lookup speed differences are not reproduced.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `table` (read): the routes, one `ADDR/LEN<tab>GW<tab>OUT` line each
//!   (`-` when there is no gateway), most specific first.
//! * `add` (write, not `StaticIPLookup`): adds `ADDR/MASK [GW] OUT`; an
//!   existing route for the prefix is an error.
//! * `set` (write, not `StaticIPLookup`): adds the route or replaces the
//!   one for its prefix.
//! * `remove` (write, not `StaticIPLookup`): removes `ADDR/MASK [GW]
//!   [OUT]`; given GW and OUT must match the route.
//! * `ctrl` (write, not `StaticIPLookup`): `add ROUTE`, `set ROUTE` or
//!   `remove ROUTE`, one per line.
//! * `flush` (write, not `StaticIPLookup`): removes every route.
//!
//! # Example
//! ```text
//! rt :: StaticIPLookup(10.0.0.1/32 0, 10.0.0.0/24 1, 0.0.0.0/0 10.0.0.254 1);
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> rt;
//! rt[0] -> Discard; rt[1] -> Queue -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use alloc::rc::Rc;

use crate::confparse::{AddressNames, Args, Context, Ipv4, Ipv4Prefix};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::{ConfigCx, Ctx};

/// The `StaticIPLookup` class.
pub static STATIC: ElementClass = class("StaticIPLookup", |a, cx| make(a, cx, false));
/// The `LinearIPLookup` class.
pub static LINEAR: ElementClass = class("LinearIPLookup", |a, cx| make(a, cx, true));
/// The `RadixIPLookup` class.
pub static RADIX: ElementClass = class("RadixIPLookup", |a, cx| make(a, cx, true));
/// The `DirectIPLookup` class.
pub static DIRECT: ElementClass = class("DirectIPLookup", |a, cx| make(a, cx, true));

type Make = fn(&mut Args, &ConfigCx) -> Result<Box<dyn Element>, ConfigError>;

const fn class(name: &'static str, make: Make) -> ElementClass {
    ElementClass {
        name,
        ports: "1/-",
        processing: "h/h",
        phase: 0,
        make,
    }
}

fn make(args: &mut Args, cx: &ConfigCx, dynamic: bool) -> Result<Box<dyn Element>, ConfigError> {
    let mut el = IpLookup {
        routes: Vec::new(),
        next_seq: 0,
        noutputs: cx.noutputs(),
        dynamic,
        names: args.names(),
    };
    // A later route for the same prefix replaces the earlier one, as in
    // Click (which also warns; configuration has no warning channel here).
    for r in args.rest_positional_resolved(Context::Route) {
        let route = el.parse_route(&r)?;
        el.insert(route, true)?;
    }
    Ok(Box::new(el))
}

/// One route: `addr` already masked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Route {
    addr: u32,
    len: u8,
    gw: u32,
    out: usize,
    /// When it was added: the `table` handler lists routes in that
    /// order, as Click's tables do.
    seq: u64,
}

impl Route {
    fn mask(&self) -> u32 {
        Ipv4Prefix {
            addr: Ipv4(self.addr.to_be_bytes()),
            len: self.len,
        }
        .mask()
    }
}

/// The gateway and output a `remove` names, if it does.
type Given = (Option<u32>, Option<usize>);

/// A longest-prefix routing table, shared by the four classes.
pub struct IpLookup {
    /// Sorted longest prefix first, so the first match is the best.
    routes: Vec<Route>,
    /// The next route's `seq`.
    next_seq: u64,
    noutputs: usize,
    /// Whether the write handlers may change the routes.
    dynamic: bool,
    /// `AddressInfo` names, which written routes may use too.
    names: Rc<AddressNames>,
}

impl IpLookup {
    /// Parses `ADDR/MASK [GW] OUT` (OUT optional when `need_out` is false,
    /// for `remove`); also returns the GW and OUT as given.
    fn parse_given(&self, s: &str, need_out: bool) -> Result<(Route, Given), ConfigError> {
        let words: Vec<&str> = s.split_ascii_whitespace().collect();
        let bad = || ConfigError::bad_value("ROUTE", "ADDR/MASK [GW] OUT", s);
        let (pfx, gw, out) = match words.as_slice() {
            [p] if !need_out => (*p, None, None),
            [p, o] => match Ipv4::parse(o) {
                Some(_) if !need_out => (*p, Some(*o), None),
                _ => (*p, None, Some(*o)),
            },
            [p, g, o] => (*p, Some(*g), Some(*o)),
            _ => return Err(bad()),
        };
        let pfx = Ipv4Prefix::parse(pfx).ok_or_else(bad)?;
        let gw = match gw {
            Some(g) => Some(Ipv4::parse(g).ok_or_else(bad)?.to_u32()),
            None => None,
        };
        let out = match out {
            Some(o) => Some({
                let o: usize = o.parse().map_err(|_| bad())?;
                if o >= self.noutputs {
                    return Err(ConfigError::out_of_range(format!(
                        "route '{s}': output {o} out of range ({} outputs)",
                        self.noutputs
                    )));
                }
                o
            }),
            None => None,
        };
        let route = Route {
            addr: pfx.addr.to_u32() & pfx.mask(),
            len: pfx.len,
            gw: gw.unwrap_or(0),
            out: out.unwrap_or(0),
            seq: 0,
        };
        Ok((route, (gw, out)))
    }

    /// Parses a complete route.
    fn parse_route(&self, s: &str) -> Result<Route, ConfigError> {
        Ok(self.parse_given(s, true)?.0)
    }

    fn position(&self, r: &Route) -> Option<usize> {
        self.routes
            .iter()
            .position(|x| x.addr == r.addr && x.len == r.len)
    }

    /// Adds `r`; with `replace`, an existing route for its prefix is
    /// replaced, else it is an error.
    fn insert(&mut self, mut r: Route, replace: bool) -> Result<(), ConfigError> {
        if let Some(i) = self.position(&r) {
            if !replace {
                return Err(ConfigError::conflict(format!(
                    "route for {} conflicts with an existing route",
                    prefix_text(&r)
                )));
            }
            r.seq = self.routes[i].seq;
            self.routes[i] = r;
            return Ok(());
        }
        r.seq = self.next_seq;
        self.next_seq += 1;
        let at = self.routes.partition_point(|x| x.len >= r.len);
        self.routes.insert(at, r);
        Ok(())
    }

    /// Removes the route for `r`'s prefix, if it has the gateway and
    /// output given.
    fn remove(&mut self, r: &Route, (gw, out): Given) -> Result<(), ConfigError> {
        let found = self.position(r).filter(|&i| {
            let x = &self.routes[i];
            gw.is_none_or(|g| g == x.gw) && out.is_none_or(|o| o == x.out)
        });
        match found {
            Some(i) => {
                self.routes.remove(i);
                Ok(())
            }
            None => Err(ConfigError::bad_value(
                "ROUTE",
                "an existing route",
                &prefix_text(r),
            )),
        }
    }

    /// The best route for `dst`.
    fn lookup(&self, dst: u32) -> Option<&Route> {
        self.routes.iter().find(|r| dst & r.mask() == r.addr)
    }

    fn command(&mut self, cmd: &str, value: &str) -> Result<(), ConfigError> {
        if !self.dynamic {
            return Err(ConfigError::bad_value(
                "handler",
                "a handler of a dynamic lookup element",
                cmd,
            ));
        }
        let value = match cmd {
            "add" | "set" | "remove" => self.names.substitute(value, Context::Route),
            _ => value.into(),
        };
        let value = value.as_str();
        match cmd {
            "add" | "set" => {
                let r = self.parse_route(value)?;
                self.insert(r, cmd == "set")
            }
            "remove" => {
                let (r, given) = self.parse_given(value, false)?;
                self.remove(&r, given)
            }
            "flush" => {
                self.routes.clear();
                Ok(())
            }
            _ => {
                for line in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let (c, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                    match c {
                        "add" | "set" | "remove" => self.command(c, rest.trim())?,
                        _ => {
                            return Err(ConfigError::bad_value(
                                "ctrl",
                                "add, set or remove ROUTE",
                                line,
                            ))
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

fn prefix_text(r: &Route) -> String {
    format!("{}/{}", Ipv4(r.addr.to_be_bytes()), r.len)
}

impl Element for IpLookup {
    fn push(&mut self, cx: &Ctx, _port: usize, mut p: Packet) {
        let dst = u32::from_be_bytes(p.dst_ip_anno());
        match self.lookup(dst).copied() {
            Some(r) => {
                if r.gw != 0 {
                    p.set_dst_ip_anno(r.gw.to_be_bytes());
                }
                cx.push(r.out, p);
            }
            None => cx.kill(p),
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const STATIC_H: &[HandlerDecl] = &[HandlerDecl::read("table")];
        const DYNAMIC_H: &[HandlerDecl] = &[
            HandlerDecl::read("table"),
            HandlerDecl::write("add"),
            HandlerDecl::write("set"),
            HandlerDecl::write("remove"),
            HandlerDecl::write("ctrl"),
            HandlerDecl::write("flush"),
        ];
        if self.dynamic {
            DYNAMIC_H
        } else {
            STATIC_H
        }
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        let mut routes: Vec<&Route> = self.routes.iter().collect();
        routes.sort_by_key(|r| r.seq);
        // Click's columns: a second tab after a prefix shorter than 16
        // characters and after a gateway shorter than 8.
        let mut s = String::new();
        for r in routes {
            let p = prefix_text(r);
            let gw = if r.gw != 0 {
                format!("{}", Ipv4(r.gw.to_be_bytes()))
            } else {
                "-".into()
            };
            let pad = |t: &str, w: usize| if t.len() < w { "\t\t" } else { "\t" };
            let _ = writeln!(s, "{p}{}{gw}{}{}", pad(&p, 16), pad(&gw, 8), r.out);
        }
        s
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        self.command(name, value.trim())
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::packet::Packet;
    use crate::router::Router;
    use crate::testing::{build_from_source, router_from_source, TestSink};

    const CLASSES: [&str; 4] = [
        "StaticIPLookup",
        "LinearIPLookup",
        "RadixIPLookup",
        "DirectIPLookup",
    ];

    fn setup(class: &str, routes: &str) -> Router {
        let src = alloc::format!(
            "Idle -> rt :: {class}({routes}); rt[0] -> a :: TestSink; rt[1] -> b :: TestSink; \
             rt[2] -> c :: TestSink;"
        );
        router_from_source(&src).0
    }

    fn send(r: &Router, dst: [u8; 4]) {
        let mut p = Packet::from_slice(&dst);
        p.set_dst_ip_anno(dst);
        r.inject(r.find("rt").unwrap(), 0, p);
    }

    /// Which sink got each packet: (sink, packet's original destination,
    /// its destination annotation on arrival).
    fn arrivals(r: &Router) -> Vec<(&'static str, [u8; 4], [u8; 4])> {
        let mut v = Vec::new();
        for s in ["a", "b", "c"] {
            r.with_element(r.find(s).unwrap(), |e, _| {
                for (_, p) in &e.downcast_ref::<TestSink>().unwrap().got {
                    let d = p.data();
                    v.push((s, [d[0], d[1], d[2], d[3]], p.dst_ip_anno()));
                }
            });
        }
        v
    }

    #[test]
    fn longest_prefix_wins_and_gateway_sets_the_annotation() {
        for class in CLASSES {
            let r = setup(
                class,
                "0.0.0.0/0 10.0.0.254 2, 10.0.0.0/8 1, 10.1.0.0/255.255.0.0 10.1.0.1 0",
            );
            send(&r, [10, 1, 2, 3]);
            send(&r, [10, 2, 2, 3]);
            send(&r, [192, 168, 0, 1]);
            assert_eq!(
                arrivals(&r),
                [
                    ("a", [10, 1, 2, 3], [10, 1, 0, 1]),
                    ("b", [10, 2, 2, 3], [10, 2, 2, 3]),
                    ("c", [192, 168, 0, 1], [10, 0, 0, 254]),
                ],
                "{class}"
            );
            assert_eq!(
                r.read("rt.table").unwrap(),
                "0.0.0.0/0\t\t10.0.0.254\t2\n10.0.0.0/8\t\t-\t\t1\n10.1.0.0/16\t\t10.1.0.1\t0\n"
            );
        }
    }

    #[test]
    fn unmatched_packets_are_dropped_and_host_bits_cleared() {
        let r = setup("LinearIPLookup", "10.0.0.77/24 0");
        send(&r, [11, 0, 0, 1]);
        send(&r, [10, 0, 0, 9]);
        assert_eq!(arrivals(&r), [("a", [10, 0, 0, 9], [10, 0, 0, 9])]);
        assert_eq!(r.read("rt.table").unwrap(), "10.0.0.0/24\t\t-\t\t0\n");
    }

    #[test]
    fn a_later_configured_route_for_a_prefix_replaces_the_earlier() {
        let r = setup("LinearIPLookup", "10.0.0.0/8 0, 10.0.0.0/8 1");
        assert_eq!(r.read("rt.table").unwrap(), "10.0.0.0/8\t\t-\t\t1\n");
    }

    #[test]
    fn dynamic_handlers_change_the_table() {
        for class in &CLASSES[1..] {
            let r = setup(class, "10.0.0.0/8 0");
            assert!(r.write("rt.add", "10.0.0.0/8 1").is_err(), "{class}");
            r.write("rt.add", "10.1.0.0/16 10.1.0.1 1").unwrap();
            send(&r, [10, 1, 0, 5]);
            r.write("rt.set", "10.1.0.0/16 2").unwrap();
            send(&r, [10, 1, 0, 6]);
            assert!(r.write("rt.remove", "10.1.0.0/16 9.9.9.9 2").is_err());
            r.write("rt.remove", "10.1.0.0/16").unwrap();
            send(&r, [10, 1, 0, 7]);
            r.write("rt.ctrl", "add 0.0.0.0/0 2\nremove 10.0.0.0/8 0")
                .unwrap();
            send(&r, [10, 1, 0, 8]);
            assert_eq!(
                arrivals(&r),
                [
                    ("a", [10, 1, 0, 7], [10, 1, 0, 7]),
                    ("b", [10, 1, 0, 5], [10, 1, 0, 1]),
                    ("c", [10, 1, 0, 6], [10, 1, 0, 6]),
                    ("c", [10, 1, 0, 8], [10, 1, 0, 8])
                ]
            );
            r.write("rt.flush", "").unwrap();
            assert_eq!(r.read("rt.table").unwrap(), "");
            assert!(r.write("rt.ctrl", "frob 1.0.0.0/8 0").is_err());
            assert!(r.write("rt.add", "1.0.0.0/8 7").is_err());
        }
    }

    #[test]
    fn written_routes_may_use_address_names() {
        let (r, _) = router_from_source(
            "AddressInfo(gw 10.0.0.254, lan 10.1.0.0/16);\n\
             Idle -> rt :: RadixIPLookup(lan 0); rt[0] -> Discard; rt[1] -> Discard;",
        );
        r.write("rt.add", "0.0.0.0/0 gw 1").unwrap();
        r.write("rt.ctrl", "remove lan\nadd lan gw 0").unwrap();
        assert_eq!(
            r.read("rt.table").unwrap(),
            "0.0.0.0/0\t\t10.0.0.254\t1\n10.1.0.0/16\t\t10.0.0.254\t0\n"
        );
    }

    #[test]
    fn static_lookup_has_no_write_handlers() {
        let r = setup("StaticIPLookup", "10.0.0.0/8 0");
        assert!(r.write("rt.add", "11.0.0.0/8 1").is_err());
        assert_eq!(r.read("rt.table").unwrap(), "10.0.0.0/8\t\t-\t\t0\n");
    }

    #[test]
    fn argument_errors() {
        for (routes, want) in [
            ("10.0.0.0/8 5", "out of range"),
            ("10.0.0.0/8", "ADDR/MASK [GW] OUT"),
            ("10.0.0.0/33 0", "ADDR/MASK [GW] OUT"),
            ("10.0.0.0/8 1.2.3 0", "ADDR/MASK [GW] OUT"),
        ] {
            let src = alloc::format!(
                "Idle -> rt :: LinearIPLookup({routes}); rt[0] -> Discard; rt[1] -> Discard;"
            );
            let e = alloc::format!("{}", build_from_source(&src).err().expect(routes));
            assert!(e.contains(want), "{routes}: {e}");
        }
    }
}

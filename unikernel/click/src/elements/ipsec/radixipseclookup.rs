//! `RadixIPsecLookup(ADDR/MASK [GW] OUT [SPI ENCRYPT_KEY AUTH_KEY REPLAY OOSIZE], ...)`: IP route lookup that also holds the routes' IPsec security associations.
//!
//! # Ports
//! One input; at least three outputs; push. By Click's convention output
//! 0 is for ESP packets arriving for this router, output 1 for packets to
//! be sent through a tunnel, output 2 for packets for this host.
//!
//! # Processing
//! Looks up each packet's destination address annotation, longest prefix
//! first, and sends it to the route's output, with its destination
//! annotation set to the route's gateway if it has one. A route with the
//! five IPsec fields also sets up a security association: SPI `SPI`,
//! AES-128 key `ENCRYPT_KEY`, HMAC-SHA1 key `AUTH_KEY` (each 16 bytes of
//! text, as Click reads them, or 32 hex digits, as Click's own
//! `ipsec-router.click` writes them and Click 2.1 refuses), replay
//! counter start `REPLAY`, receive window `OOSIZE` (up to 32).
//!
//! Routes to output 1 are tunnels: the packet gets the route's SPI and
//! association in its annotations, for `IPsecESPEncap`, `IPsecAuthHMACSHA1`
//! and `IPsecAES` downstream. For output 0: a packet that is not ESP
//! (protocol 50) goes to output 2 instead; an ESP packet gets the
//! association its SPI names, or is dropped (with a message) when there
//! is none. Packets with no route are dropped; the first five are
//! reported. Expects the IP header at the start of the packet.
//!
//! The table is searched linearly (longest prefix wins), not as Click's
//! radix trie; results are the same.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `table` (read): one route per line, `ADDR/MASK GW OUT [SPI]` (`-`
//!   for no gateway).
//! * `add`, `set` (write): a route (`add` fails if its prefix has one).
//! * `remove` (write): `ADDR/MASK`.
//! * `ctrl` (write): lines of `add ROUTE`, `set ROUTE`, `remove ADDR/MASK`.
//!
//! # Example
//! ```text
//! rt :: RadixIPsecLookup(18.26.4.24/32 0, 18.26.7.0/24 4,
//!   18.26.8.0/24 18.26.4.1 1 234 ABCDEFFF001DEFD2354550FE40CD708E 112233EE556677888877665544332211 300 64);
//! ```

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use super::sa::{parse_route, Route, SaTable, SA_ANNO, SPI_ANNO};
use crate::confparse::Context;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::ip;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `RadixIPsecLookup` class.
pub static CLASS: ElementClass = ElementClass {
    name: "RadixIPsecLookup",
    ports: "1/3-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| {
        let mut me = RadixIpsecLookup {
            routes: Vec::new(),
            table: Rc::new(RefCell::new(BTreeMap::new())),
            noutputs: cx.noutputs(),
            complaints: 0,
        };
        for (i, text) in args.rest_raw_resolved(Context::Route).iter().enumerate() {
            me.install(text, true)
                .map_err(|e| e.context(format!("route {}", i + 1)))?;
        }
        Ok(Box::new(me))
    },
};

/// ESP's protocol number.
const ESP: u8 = 50;

/// The table.
pub struct RadixIpsecLookup {
    routes: Vec<Route>,
    table: SaTable,
    noutputs: usize,
    complaints: u32,
}

impl RadixIpsecLookup {
    /// The security associations, shared with the IPsec elements.
    pub fn table(&self) -> SaTable {
        self.table.clone()
    }

    /// Adds (or with `replace`, sets) a route and its association.
    fn install(&mut self, text: &str, replace: bool) -> Result<(), ConfigError> {
        let r = parse_route(text, false)?;
        let out = r.out.unwrap_or(usize::MAX);
        if out >= self.noutputs {
            return Err(ConfigError::out_of_range(format!(
                "output {out} does not exist"
            )));
        }
        let at = self.routes.iter().position(|x| x.prefix == r.prefix);
        if let Some((spi, sa)) = &r.sa {
            self.table.borrow_mut().insert(*spi, sa.clone());
        }
        match at {
            Some(_) if !replace => Err(ConfigError::conflict(format!(
                "a route for {} exists",
                r.prefix
            ))),
            Some(i) => {
                self.routes[i] = r;
                Ok(())
            }
            None => {
                self.routes.push(r);
                Ok(())
            }
        }
    }

    fn remove(&mut self, text: &str) -> Result<(), ConfigError> {
        let r = parse_route(text, true)?;
        let i = self
            .routes
            .iter()
            .position(|x| x.prefix == r.prefix)
            .ok_or_else(|| ConfigError::bad_value("remove", "an existing route", text))?;
        let old = self.routes.remove(i);
        if let Some((spi, _)) = old.sa {
            self.table.borrow_mut().remove(&spi);
        }
        Ok(())
    }

    fn lookup(&self, dst: [u8; 4]) -> Option<&Route> {
        let a = crate::confparse::Ipv4(dst);
        self.routes
            .iter()
            .filter(|r| r.prefix.contains(a))
            .max_by_key(|r| r.prefix.len)
    }
}

impl Element for RadixIpsecLookup {
    fn push(&mut self, cx: &Ctx, _port: usize, mut p: Packet) {
        let Some(route) = self.lookup(p.dst_ip_anno()).cloned() else {
            if self.complaints < 5 {
                self.complaints += 1;
                cx.log(&format!(
                    "no route for {}",
                    crate::confparse::Ipv4(p.dst_ip_anno())
                ));
            }
            cx.kill(p);
            return;
        };
        let mut out = route.out.unwrap_or(0);
        if out == 1 {
            let spi = route.sa.as_ref().map_or(0, |(s, _)| *s);
            if spi == 0 {
                cx.log(&format!(
                    "no IPsec tunnel for {}",
                    crate::confparse::Ipv4(p.dst_ip_anno())
                ));
            }
            p.set_anno_u32(SPI_ANNO, spi);
            p.set_anno_u32(SA_ANNO, spi);
        } else if out == 0 {
            let d = p.data();
            let hl = d.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
            if d.len() < ip::MIN_HEADER_LEN || d[9] != ESP {
                out = 2;
            } else {
                let spi = d
                    .get(hl..hl + 4)
                    .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]));
                match spi.filter(|s| self.table.borrow().contains_key(s)) {
                    Some(s) => {
                        p.set_anno_u32(SA_ANNO, s);
                    }
                    None => {
                        cx.log(&format!(
                            "invalid SPI {}, dropping packet",
                            spi.unwrap_or(0)
                        ));
                        cx.kill(p);
                        return;
                    }
                }
            }
        }
        if let Some(gw) = route.gw {
            p.set_dst_ip_anno(gw.0);
        }
        cx.push(out, p);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("table"),
            HandlerDecl::write("add"),
            HandlerDecl::write("set"),
            HandlerDecl::write("remove"),
            HandlerDecl::write("ctrl"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        let mut s = String::new();
        for r in &self.routes {
            let gw = r.gw.map_or(String::from("-"), |g| format!("{g}"));
            s.push_str(&format!("{} {gw} {}", r.prefix, r.out.unwrap_or(0)));
            if let Some((spi, _)) = &r.sa {
                s.push_str(&format!(" {spi}"));
            }
            s.push('\n');
        }
        s
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "add" => self.install(value, false),
            "set" => self.install(value, true),
            "remove" => self.remove(value),
            _ => {
                for line in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let (cmd, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                    match cmd {
                        "add" => self.install(rest, false)?,
                        "set" => self.install(rest, true)?,
                        "remove" => self.remove(rest)?,
                        _ => {
                            return Err(ConfigError::bad_value("ctrl", "add, set or remove", line))
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

//! `AddressTranslator(NSTATIC, ...)`: maps IPv6 hosts' addresses (and
//! ports) to other IPv6 addresses, usually IPv4-mapped ones for
//! `ProtocolTranslator64`/`46`. The full argument list is `NSTATIC
//! [, STATICPORTS, MAPPING...], DYNAMIC [, DYNAMICPORTS, DIRECTION,
//! POOL...]`.
//!
//! # Ports
//! Two inputs, two outputs; push. Input 0 takes outward packets (from the
//! inner hosts), which leave on output 0 with their source rewritten;
//! input 1 takes inward packets, which leave on output 1 with their
//! destination rewritten back.
//!
//! # Processing
//! Arguments are positional, as in Click:
//! * `NSTATIC` (integer): the number of static mappings.
//! * If `NSTATIC` is not 0: `STATICPORTS` (boolean), then `NSTATIC`
//!   mappings, each `INNER MAPPED` (IPv6 addresses), or with
//!   `STATICPORTS` true `INNER IPORT MAPPED MPORT`.
//! * `DYNAMIC` (boolean): whether mappings are made on demand. If true:
//! * `DYNAMICPORTS` (boolean): map address and port (true) or the
//!   address alone (false);
//! * `DIRECTION` (boolean): which side may make new mappings; only
//!   `false` (outward packets, input 0) is supported;
//! * then, mapping addresses alone, one or more `MAPPED` addresses (the
//!   pool each new inner host takes the next free one of); mapping ports,
//!   one `MAPPED LOW HIGH` (the address and port range flows share).
//!
//! An outward packet from a mapped inner host (and port) leaves with its
//! source replaced by the mapped address (and port); with dynamic port
//! mapping the table is keyed, as Click's, by the flow (inner address and
//! port, outside address and port), and a new flow takes the next free
//! port in the range. An inward packet to a mapped address (and port; for
//! port mapping, from the flow's outside address and port) leaves with
//! its destination replaced by the inner host's address (and port).
//! TCP, UDP and ICMPv6 are translated (the checksum recomputed); an
//! ICMPv6 echo's identifier serves as its port. Mappings, as in Click,
//! never expire.
//!
//! Dropped: packets without a mapping that may not make one, when the
//! pool or port range is used up, other protocols, fragments, ICMPv6
//! other than echo under port mapping, and malformed packets.
//!
//! # Compatibility
//! Click 1.1's argument list (Click commit 1c2c892dc, 2000; replaced by
//! the list above in ed25be1a6, 2001) is accepted where it means the
//! same: `NSTATIC [, SFIELDS, MAPPING...], OUTFIELDS, INFIELDS,
//! DIRECTION [, MAPPED LOW HIGH]`, each FIELDS six booleans choosing
//! among (inner address, inner port, mapped address, mapped port,
//! outside address, outside port). SFIELDS, the words of each static
//! mapping, must be `1 0 1 0 0 0` (STATICPORTS false) or `1 1 1 1 0 0`
//! (true). OUTFIELDS and INFIELDS, the fields a dynamic mapping is looked
//! up by each way, must be `1 1 0 0 0 0` and `0 0 1 1 0 0`: a mapping
//! per inner address and port, which any outside host reaches through
//! its mapped address and port; or `1 1 0 0 1 1` and `0 0 1 1 1 1`: a
//! mapping per flow, this element's dynamic port mapping. Only one port
//! range is accepted; none means no dynamic mapping. Packets are
//! translated as above, and mappings never expire, as in Click from 2001
//! on (Click 1.1 dropped outward ICMPv6, patched a TCP checksum's offset
//! in UDP packets too, and gave a mapping idle for 120 s to a new flow).
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `mapping_count` (read): dynamic mappings made.
//! * `drops` (read): packets dropped.
//!
//! # Example
//! ```text
//! at :: AddressTranslator(0, 1, 1, 0, ::ffff:192.0.2.1 6000 6010);
//! v6 -> [0]at[0] -> ProtocolTranslator64 -> v4out;
//! v4 -> ProtocolTranslator46 -> [1]at[1] -> v6out;
//! ```

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::confparse::{FromArg, Ipv6};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::{ip, ip6};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `AddressTranslator` class.
pub static CLASS: ElementClass = ElementClass {
    name: "AddressTranslator",
    ports: "2/2",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        let v = args.rest_raw();
        Ok(Box::new(AddressTranslator::configure(&v)?))
    },
};

type Addr = ip6::Addr;

/// One static mapping (ports only with static port mapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Static {
    inner: Addr,
    iport: Option<u16>,
    mapped: Addr,
    mport: Option<u16>,
}

/// Dynamic mapping of whole addresses or of flows to ports.
#[derive(Debug)]
enum Dynamic {
    None,
    /// Pool addresses and the inner host each is bound to.
    Addresses(Vec<(Addr, Option<Addr>)>),
    Ports {
        addr: Addr,
        low: u16,
        high: u16,
        next: u16,
        used: BTreeSet<u16>,
        /// False for Click 1.1's mapping per inner address and port,
        /// kept under an unspecified outside address and port.
        per_flow: bool,
        /// (inner, inner port, outside, outside port) -> mapped port.
        out: BTreeMap<(Addr, u16, Addr, u16), u16>,
        /// (outside, outside port, mapped port) -> (inner, inner port).
        back: BTreeMap<(Addr, u16, u16), (Addr, u16)>,
    },
}

/// Click's `AddressTranslator`.
#[derive(Debug)]
pub struct AddressTranslator {
    statics: Vec<Static>,
    dynamic: Dynamic,
    mappings: u64,
    drops: u64,
}

/// Argument `i` of `v` as a `T`.
fn arg<T: FromArg>(v: &[String], i: usize) -> Result<T, ConfigError> {
    let s = v
        .get(i)
        .ok_or_else(|| ConfigError::bad_arg(i, format!("argument {}: missing", i + 1)))?;
    T::from_arg(s).ok_or_else(|| {
        ConfigError::bad_arg(
            i,
            format!(
                "argument {}: expected {}, got '{}'",
                i + 1,
                T::EXPECTED,
                s.trim()
            ),
        )
    })
}

/// Word `j` of argument `i` (a space-separated list) as a `T`.
fn word<T: FromArg>(v: &[String], i: usize, j: usize) -> Result<T, ConfigError> {
    let words: Vec<String> = v[i].split_whitespace().map(String::from).collect();
    arg(&words, j).map_err(|e| {
        ConfigError::bad_arg(
            i,
            format!("argument {}, word {}: {}", i + 1, j + 1, e.message),
        )
    })
}

/// The outside end a port mapping is keyed by: none when it is not per
/// flow.
fn outside_key(per_flow: bool, ext: Addr, eport: u16) -> (Addr, u16) {
    if per_flow {
        (ext, eport)
    } else {
        ([0; 16], 0)
    }
}

/// Argument `i` as Click 1.1's six field flags, if it is that.
fn fields(v: &[String], i: usize) -> Option<[bool; 6]> {
    let w: Vec<bool> = v
        .get(i)?
        .split_whitespace()
        .map(bool::from_arg)
        .collect::<Option<_>>()?;
    w.try_into().ok()
}

impl AddressTranslator {
    /// Parses Click 1.1's argument list (see Compatibility) by rewriting
    /// it into today's, whose argument positions are the same.
    fn configure_click11(v: &[String]) -> Result<Self, ConfigError> {
        let bad =
            |i: usize, m: &str| Err(ConfigError::bad_arg(i, format!("argument {}: {m}", i + 1)));
        let nstatic: usize = arg(v, 0)?;
        let mut w = v.to_vec();
        let s = if nstatic > 0 {
            w[1] = match fields(v, 1) {
                Some([true, p, true, q, false, false]) if p == q => p.to_string(),
                _ => return bad(1, "static mappings by fields other than '1 0 1 0 0 0' or '1 1 1 1 0 0' are not supported"),
            };
            nstatic + 2
        } else {
            1
        };
        let (Some(outf), Some(inf)) = (fields(v, s), fields(v, s + 1)) else {
            return bad(s, "expected the six outward then six inward lookup fields");
        };
        let per_flow = match (outf, inf) {
            ([true, true, false, false, a, b], [false, false, true, true, c, d])
                if a == b && b == c && c == d =>
            {
                a
            }
            _ => return bad(s, "dynamic mappings looked up by fields other than '1 1 0 0 0 0, 0 0 1 1 0 0' or '1 1 0 0 1 1, 0 0 1 1 1 1' are not supported"),
        };
        if v.len() > s + 4 {
            return bad(s + 4, "only one 'MAPPED LOW HIGH' range is supported");
        }
        let dynamic = v.len() == s + 4;
        w[s] = dynamic.to_string();
        if dynamic {
            w[s + 1] = "true".into();
        } else {
            let _: bool = arg(v, s + 2)?;
            w.truncate(s + 1);
        }
        let mut at = Self::configure(&w)?;
        if let Dynamic::Ports { per_flow: p, .. } = &mut at.dynamic {
            *p = per_flow;
        }
        Ok(at)
    }

    /// Parses Click's positional argument list.
    fn configure(v: &[String]) -> Result<Self, ConfigError> {
        if fields(v, 1).is_some() {
            return Self::configure_click11(v);
        }
        let nstatic: usize = arg(v, 0)?;
        let mut statics = Vec::new();
        let mut s = 1;
        if nstatic > 0 {
            let ports: bool = arg(v, 1)?;
            let width = if ports { 4 } else { 2 };
            for i in 2..2 + nstatic {
                let n = v.get(i).map_or(0, |a| a.split_whitespace().count());
                if n != width {
                    return Err(ConfigError::bad_arg(
                        i,
                        format!(
                            "argument {}: expected a static mapping of {width} words ({}), got {n}",
                            i + 1,
                            if ports {
                                "INNER IPORT MAPPED MPORT"
                            } else {
                                "INNER MAPPED"
                            }
                        ),
                    ));
                }
                let a = |j| word::<Ipv6>(v, i, j).map(|a| a.0);
                let p = |j| word::<u16>(v, i, j).map(Some);
                statics.push(if ports {
                    Static {
                        inner: a(0)?,
                        iport: p(1)?,
                        mapped: a(2)?,
                        mport: p(3)?,
                    }
                } else {
                    Static {
                        inner: a(0)?,
                        iport: None,
                        mapped: a(1)?,
                        mport: None,
                    }
                });
            }
            s = nstatic + 2;
        }
        let dynamic_on: bool = arg(v, s)?;
        let dynamic = if !dynamic_on {
            if v.len() > s + 1 {
                return Err(ConfigError::bad_arg(
                    s + 1,
                    "too many arguments: dynamic mapping is off",
                ));
            }
            Dynamic::None
        } else {
            let ports: bool = arg(v, s + 1)?;
            let inward: bool = arg(v, s + 2)?;
            if inward {
                return Err(ConfigError::bad_arg(
                    s + 2,
                    format!(
                        "argument {}: only outward allocation (false) is supported",
                        s + 3
                    ),
                ));
            }
            if v.len() <= s + 3 {
                return Err(ConfigError::bad_arg(
                    s + 3,
                    "missing the dynamic mapping's addresses",
                ));
            }
            if ports {
                let i = s + 3;
                if v.len() > i + 1 || v[i].split_whitespace().count() != 3 {
                    return Err(ConfigError::bad_arg(
                        i,
                        format!("argument {}: expected 'MAPPED LOW HIGH'", i + 1),
                    ));
                }
                let (low, high): (u16, u16) = (word(v, i, 1)?, word(v, i, 2)?);
                if low == 0 || low > high {
                    return Err(ConfigError::bad_arg(
                        i,
                        format!("argument {}: bad port range {low}-{high}", i + 1),
                    ));
                }
                Dynamic::Ports {
                    addr: word::<Ipv6>(v, i, 0)?.0,
                    low,
                    high,
                    next: low,
                    per_flow: true,
                    used: BTreeSet::new(),
                    out: BTreeMap::new(),
                    back: BTreeMap::new(),
                }
            } else {
                let pool = (s + 3..v.len())
                    .map(|i| arg::<Ipv6>(v, i).map(|a| (a.0, None)))
                    .collect::<Result<Vec<_>, _>>()?;
                Dynamic::Addresses(pool)
            }
        };
        Ok(AddressTranslator {
            statics,
            dynamic,
            mappings: 0,
            drops: 0,
        })
    }

    /// The mapped address and port (`None`: port unchanged) of an outward
    /// packet from `inner:iport` to `ext:eport`, made if allowed.
    fn outward(
        &mut self,
        inner: Addr,
        iport: Option<u16>,
        ext: Addr,
        eport: u16,
    ) -> Option<(Addr, Option<u16>)> {
        for s in &self.statics {
            if s.inner == inner && (s.iport.is_none() || s.iport == iport) {
                return Some((s.mapped, s.mport));
            }
        }
        match &mut self.dynamic {
            Dynamic::None => None,
            Dynamic::Addresses(pool) => {
                if let Some((m, _)) = pool.iter().find(|(_, b)| *b == Some(inner)) {
                    return Some((*m, None));
                }
                let slot = pool.iter_mut().find(|(_, b)| b.is_none())?;
                slot.1 = Some(inner);
                self.mappings += 1;
                Some((slot.0, None))
            }
            Dynamic::Ports {
                addr,
                low,
                high,
                next,
                per_flow,
                used,
                out,
                back,
            } => {
                let iport = iport?;
                let (ext, eport) = outside_key(*per_flow, ext, eport);
                if let Some(&m) = out.get(&(inner, iport, ext, eport)) {
                    return Some((*addr, Some(m)));
                }
                // The next free port from the rover, wrapping in the range.
                let span = u32::from(*high - *low) + 1;
                let m = (0..span)
                    .map(|k| (*low as u32 + (u32::from(*next - *low) + k) % span) as u16)
                    .find(|p| !used.contains(p))?;
                *next = if m == *high { *low } else { m + 1 };
                used.insert(m);
                out.insert((inner, iport, ext, eport), m);
                back.insert((ext, eport, m), (inner, iport));
                self.mappings += 1;
                Some((*addr, Some(m)))
            }
        }
    }

    /// The inner address and port (`None`: unchanged) of an inward packet
    /// to `mapped:mport` from `ext:eport`.
    fn inward(
        &self,
        mapped: Addr,
        mport: Option<u16>,
        ext: Addr,
        eport: u16,
    ) -> Option<(Addr, Option<u16>)> {
        for s in &self.statics {
            if s.mapped == mapped && (s.mport.is_none() || s.mport == mport) {
                return Some((s.inner, s.iport));
            }
        }
        match &self.dynamic {
            Dynamic::None => None,
            Dynamic::Addresses(pool) => pool
                .iter()
                .find(|(m, b)| *m == mapped && b.is_some())
                .and_then(|(_, b)| b.map(|i| (i, None))),
            Dynamic::Ports {
                addr,
                back,
                per_flow,
                ..
            } => {
                if *addr != mapped {
                    return None;
                }
                let (ext, eport) = outside_key(*per_flow, ext, eport);
                let &(i, p) = back.get(&(ext, eport, mport?))?;
                Some((i, Some(p)))
            }
        }
    }

    /// Translates `p` in place; false to drop it.
    fn translate(&mut self, p: &mut Packet, inward: bool) -> bool {
        let Some(off) = super::ip6_offset(p) else {
            return false;
        };
        let (len, t) = {
            let b = &p.data()[off..];
            let Ok(len) = ip6::check(b) else {
                return false;
            };
            let Ok(t) = ip6::transport(&b[..len]) else {
                return false;
            };
            (len, t)
        };
        if t.fragment.is_some() {
            return false;
        }
        let b = &mut p.data_mut()[off..off + len];
        let l4len = len - t.offset;
        // Where the ports (or the echo identifier) and checksum are.
        let (ports, sum): (Option<(usize, usize)>, usize) = match t.proto {
            ip6::NXT_TCP if l4len >= 20 => (Some((0, 2)), 16),
            ip6::NXT_UDP if l4len >= 8 => (Some((0, 2)), 6),
            ip6::NXT_ICMP6 if l4len >= 8 && matches!(b[t.offset], 128 | 129) => (Some((4, 4)), 2),
            ip6::NXT_ICMP6 if l4len >= 8 => (None, 2),
            _ => return false,
        };
        let echo = t.proto == ip6::NXT_ICMP6;
        let l4 = t.offset;
        let at = |b: &[u8], o: usize| ip::get16(b, l4 + o);
        let (src, dst) = {
            let h = ip6::Ipv6Header::new(b).expect("checked");
            (h.src(), h.dst())
        };
        let result = if inward {
            let mport = ports.map(|(_, d)| at(b, d));
            let eport = match ports {
                Some((s, _)) if !echo => at(b, s),
                _ => 0,
            };
            self.inward(dst, mport, src, eport)
        } else {
            let iport = ports.map(|(s, _)| at(b, s));
            let eport = match ports {
                Some((_, d)) if !echo => at(b, d),
                _ => 0,
            };
            self.outward(src, iport, dst, eport)
        };
        let Some((addr, port)) = result else {
            return false;
        };
        let (aoff, poff) = if inward {
            (24, ports.map(|p| p.1))
        } else {
            (8, ports.map(|p| p.0))
        };
        b[aoff..aoff + 16].copy_from_slice(&addr);
        if let (Some(port), Some(o)) = (port, poff) {
            ip::put16(b, l4 + o, port);
        }
        let (s, d) = if inward { (src, addr) } else { (addr, dst) };
        ip6::set_upper_checksum(&s, &d, t.proto, &mut b[l4..], sum);
        if inward {
            p.set_dst_ip6_anno(addr);
        }
        true
    }
}

impl Element for AddressTranslator {
    fn push(&mut self, cx: &Ctx, port: usize, mut p: Packet) {
        if self.translate(&mut p, port == 1) {
            cx.push(port, p);
        } else {
            self.drops += 1;
            cx.kill(p);
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("mapping_count"),
            HandlerDecl::read("drops"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "mapping_count" => self.mappings.to_string(),
            _ => self.drops.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::{ip, ip6};
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    fn a6(s: &str) -> [u8; 16] {
        s.parse::<core::net::Ipv6Addr>().unwrap().octets()
    }

    fn setup(args: &str) -> crate::router::Router {
        router_from_source(&alloc::format!(
            "Idle -> [0]at :: AddressTranslator({args}); Idle -> [1]at;
             at[0] -> out :: TestSink; at[1] -> in :: TestSink;"
        ))
        .0
    }

    fn udp(src: &[u8; 16], dst: &[u8; 16], sport: u16, dport: u16) -> Vec<u8> {
        let mut u = alloc::vec![0u8; 12];
        ip::put16(&mut u, 0, sport);
        ip::put16(&mut u, 2, dport);
        ip::put16(&mut u, 4, 12);
        u[8..].copy_from_slice(b"data");
        ip6::set_upper_checksum(src, dst, 17, &mut u, 6);
        ip6::build(src, dst, 17, 64, &u)
    }

    fn fields(p: &[u8]) -> ([u8; 16], u16, [u8; 16], u16) {
        let h = ip6::Ipv6Header::new(p).unwrap();
        assert_eq!(
            ip6::upper_checksum(&h.src(), &h.dst(), h.next_header(), &p[40..]),
            0
        );
        (h.src(), ip::get16(p, 40), h.dst(), ip::get16(p, 42))
    }

    #[test]
    fn dynamic_port_mapping_both_ways() {
        let r = setup("0, 1, 1, 0, ::ffff:192.0.2.1 6000 6001");
        let at = r.find("at").unwrap();
        let (c1, c2, srv) = (a6("fd00::1"), a6("fd00::2"), a6("::ffff:198.51.100.7"));
        let m = a6("::ffff:192.0.2.1");
        r.inject(at, 0, Packet::from_slice(&udp(&c1, &srv, 4000, 53)));
        r.inject(at, 0, Packet::from_slice(&udp(&c2, &srv, 4000, 53)));
        r.inject(at, 0, Packet::from_slice(&udp(&c1, &srv, 4000, 53)));
        // The range has two ports: a third flow finds none.
        r.inject(at, 0, Packet::from_slice(&udp(&c1, &srv, 4001, 53)));
        let out = sink_contents(&r, "out");
        assert_eq!(out.len(), 3);
        assert_eq!(fields(&out[0].1), (m, 6000, srv, 53));
        assert_eq!(fields(&out[1].1), (m, 6001, srv, 53));
        assert_eq!(fields(&out[2].1), (m, 6000, srv, 53));
        // Replies find their inner hosts; a reply from elsewhere does not.
        r.inject(at, 1, Packet::from_slice(&udp(&srv, &m, 53, 6001)));
        r.inject(at, 1, Packet::from_slice(&udp(&srv, &m, 54, 6001)));
        let back = sink_contents(&r, "in");
        assert_eq!(back.len(), 1);
        assert_eq!(fields(&back[0].1), (srv, 53, c2, 4000));
        assert_eq!(r.read("at.mapping_count").unwrap(), "2");
        assert_eq!(r.read("at.drops").unwrap(), "2");
    }

    #[test]
    fn dynamic_address_pool_and_echo() {
        let r = setup("0, 1, 0, 0, ::1.0.0.1");
        let at = r.find("at").unwrap();
        let (c1, c2, srv) = (a6("3ffe::1"), a6("3ffe::2"), a6("::ffff:18.26.4.9"));
        let m = a6("::1.0.0.1");
        r.inject(at, 0, Packet::from_slice(&udp(&c1, &srv, 4000, 53)));
        // The pool's one address is taken: the second host is dropped.
        r.inject(at, 0, Packet::from_slice(&udp(&c2, &srv, 4000, 53)));
        let out = sink_contents(&r, "out");
        assert_eq!(out.len(), 1);
        assert_eq!(fields(&out[0].1), (m, 4000, srv, 53));
        let mut echo = alloc::vec![129, 0, 0, 0, 0xAB, 0xCD, 0, 1];
        ip6::set_upper_checksum(&srv, &m, 58, &mut echo, 2);
        r.inject(
            at,
            1,
            Packet::from_slice(&ip6::build(&srv, &m, 58, 64, &echo)),
        );
        let back = &sink_contents(&r, "in")[0].1;
        let h = ip6::Ipv6Header::new(back).unwrap();
        assert_eq!((h.src(), h.dst(), ip::get16(back, 44)), (srv, c1, 0xABCD));
        assert_eq!(ip6::upper_checksum(&srv, &c1, 58, &back[40..]), 0);
    }

    #[test]
    fn static_mappings_with_and_without_ports() {
        let r = setup("1, 0, 3ffe:1ce1:2::1 ::18.26.4.17, 0");
        let at = r.find("at").unwrap();
        let (c, m, srv) = (
            a6("3ffe:1ce1:2::1"),
            a6("::18.26.4.17"),
            a6("::ffff:1.2.3.4"),
        );
        r.inject(at, 0, Packet::from_slice(&udp(&c, &srv, 7, 9)));
        r.inject(at, 1, Packet::from_slice(&udp(&srv, &m, 9, 7)));
        assert_eq!(fields(&sink_contents(&r, "out")[0].1), (m, 7, srv, 9));
        assert_eq!(fields(&sink_contents(&r, "in")[0].1), (srv, 9, c, 7));
        // Unknown hosts are not mapped without dynamic mapping.
        r.inject(at, 0, Packet::from_slice(&udp(&srv, &srv, 7, 9)));
        assert_eq!(r.read("at.drops").unwrap(), "1");
        let r = setup("1, 1, fd00::1 80 ::ffff:10.0.0.1 8080, 0");
        let at = r.find("at").unwrap();
        let (c, m) = (a6("fd00::1"), a6("::ffff:10.0.0.1"));
        r.inject(at, 0, Packet::from_slice(&udp(&c, &srv, 80, 9)));
        r.inject(at, 0, Packet::from_slice(&udp(&c, &srv, 81, 9)));
        r.inject(at, 1, Packet::from_slice(&udp(&srv, &m, 9, 8080)));
        assert_eq!(sink_contents(&r, "out").len(), 1);
        assert_eq!(fields(&sink_contents(&r, "out")[0].1), (m, 8080, srv, 9));
        assert_eq!(fields(&sink_contents(&r, "in")[0].1), (srv, 9, c, 80));
    }

    #[test]
    fn bad_arguments_are_refused() {
        for (args, want) in [
            ("x", "argument 1: expected"),
            ("1, 0, fd00::1, 0", "static mapping of 2 words"),
            ("1, 0, fd00::1 nope, 0", "word 2"),
            ("0, 1, 1, 0, ::1 10", "'MAPPED LOW HIGH'"),
            ("0, 1, 1, 0, ::1 10 5", "bad port range"),
            ("0, 1, 0, 1, ::1", "only outward"),
            ("0, 1, 0, 0", "missing the dynamic"),
            ("0, 0, ::1", "too many"),
        ] {
            let e = build_from_source(&alloc::format!(
                "Idle -> [0]at :: AddressTranslator({args}); Idle -> [1]at; at[0] -> Discard; at[1] -> Discard;"
            ))
            .err()
            .unwrap_or_else(|| panic!("{args} accepted"));
            assert!(alloc::format!("{e:?}").contains(want), "{args}: {e:?}");
        }
    }

    /// Click 1.1's lookup fields `1 1 0 0 0 0, 0 0 1 1 0 0`: one mapping
    /// per inner address and port, whatever the outside end, reachable
    /// from any outside host; `1 1 0 0 1 1, 0 0 1 1 1 1` is per flow.
    #[test]
    fn click11_dynamic_mapping_by_lookup_fields() {
        let (c1, c2, m) = (a6("fd00::1"), a6("fd00::2"), a6("::ffff:192.0.2.1"));
        let (s1, s2, s3) = (
            a6("::ffff:198.51.100.1"),
            a6("::ffff:198.51.100.2"),
            a6("::ffff:198.51.100.3"),
        );
        let r = setup("0, 1 1 0 0 0 0, 0 0 1 1 0 0, 0, ::ffff:192.0.2.1 6000 6001");
        let at = r.find("at").unwrap();
        r.inject(at, 0, Packet::from_slice(&udp(&c1, &s1, 4000, 53)));
        r.inject(at, 0, Packet::from_slice(&udp(&c1, &s2, 4000, 53)));
        r.inject(at, 0, Packet::from_slice(&udp(&c2, &s1, 4000, 53)));
        let out = sink_contents(&r, "out");
        assert_eq!(fields(&out[0].1), (m, 6000, s1, 53));
        assert_eq!(fields(&out[1].1), (m, 6000, s2, 53));
        assert_eq!(fields(&out[2].1), (m, 6001, s1, 53));
        r.inject(at, 1, Packet::from_slice(&udp(&s3, &m, 99, 6000)));
        assert_eq!(fields(&sink_contents(&r, "in")[0].1), (s3, 99, c1, 4000));
        assert_eq!(r.read("at.mapping_count").unwrap(), "2");
        let r = setup("0, 1 1 0 0 1 1, 0 0 1 1 1 1, 0, ::ffff:192.0.2.1 6000 6001");
        let at = r.find("at").unwrap();
        r.inject(at, 0, Packet::from_slice(&udp(&c1, &s1, 4000, 53)));
        r.inject(at, 0, Packet::from_slice(&udp(&c1, &s2, 4000, 53)));
        r.inject(at, 1, Packet::from_slice(&udp(&s3, &m, 99, 6000)));
        let out = sink_contents(&r, "out");
        assert_eq!((fields(&out[0].1).1, fields(&out[1].1).1), (6000, 6001));
        assert!(sink_contents(&r, "in").is_empty());
    }

    /// Click 1.1's static mappings (gnat02.click's, by address; and by
    /// address and port), without a port range: no dynamic mapping.
    #[test]
    fn click11_static_mappings() {
        let (c, m, srv) = (
            a6("::ffff:18.26.4.125"),
            a6("3ffe::1"),
            a6("::ffff:1.2.3.4"),
        );
        let r = setup("1, 1 0 1 0 0 0, ::ffff:18.26.4.125 3ffe::1, 1 1 0 0 0 0, 0 0 1 1 0 0, 0");
        let at = r.find("at").unwrap();
        r.inject(at, 0, Packet::from_slice(&udp(&c, &srv, 1300, 53)));
        r.inject(at, 1, Packet::from_slice(&udp(&srv, &m, 53, 1300)));
        r.inject(at, 0, Packet::from_slice(&udp(&srv, &srv, 7, 9)));
        assert_eq!(fields(&sink_contents(&r, "out")[0].1), (m, 1300, srv, 53));
        assert_eq!(fields(&sink_contents(&r, "in")[0].1), (srv, 53, c, 1300));
        assert_eq!(r.read("at.drops").unwrap(), "1");
        let r = setup("1, 1 1 1 1 0 0, fd00::1 80 3ffe::1 8080, 1 1 0 0 0 0, 0 0 1 1 0 0, 0");
        let at = r.find("at").unwrap();
        r.inject(at, 0, Packet::from_slice(&udp(&a6("fd00::1"), &srv, 80, 9)));
        r.inject(at, 0, Packet::from_slice(&udp(&a6("fd00::1"), &srv, 81, 9)));
        let out = sink_contents(&r, "out");
        assert_eq!(out.len(), 1);
        assert_eq!(fields(&out[0].1), (m, 8080, srv, 9));
    }

    #[test]
    fn click11_forms_it_cannot_mean_are_refused() {
        for (args, want) in [
            (
                "0, 1 0 0 0 0 0, 0 0 1 0 0 0, 0, ::1 1 2",
                "looked up by fields",
            ),
            (
                "0, 1 1 0 0 0 0, 0 0 1 1 1 1, 0, ::1 1 2",
                "looked up by fields",
            ),
            (
                "1, 1 0 0 0 0 0, fd00::1, 1 1 0 0 0 0, 0 0 1 1 0 0, 0",
                "static mappings by fields",
            ),
            (
                "1, 1 0 1 0 1 0, fd00::1 ::2 ::3, 1 1 0 0 0 0, 0 0 1 1 0 0, 0",
                "static mappings by fields",
            ),
            (
                "0, 1 1 0 0 0 0, 0 0 1 1 0 0, 0, ::1 1 2, ::2 3 4",
                "only one",
            ),
            ("0, 1 1 0 0 0 0, 0 0 1 1, 0", "six outward then six inward"),
            ("0, 1 1 0 0 0 0, 0 0 1 1 0 0, 1, ::1 1 2", "only outward"),
            ("0, 1 1 0 0 0 0, 0 0 1 1 0 0", "missing"),
            (
                "1, 1 0 1 0 0 0, fd00::1 nope, 1 1 0 0 0 0, 0 0 1 1 0 0, 0",
                "word 2",
            ),
        ] {
            let e = build_from_source(&alloc::format!(
                "Idle -> [0]at :: AddressTranslator({args}); Idle -> [1]at; at[0] -> Discard; at[1] -> Discard;"
            ))
            .err()
            .unwrap_or_else(|| panic!("{args} accepted"));
            assert!(alloc::format!("{e:?}").contains(want), "{args}: {e:?}");
        }
    }

    #[test]
    fn malformed_packets_are_dropped() {
        let r = setup("0, 1, 1, 0, ::ffff:192.0.2.1 6000 6010");
        let at = r.find("at").unwrap();
        let p = udp(&a6("fd00::1"), &a6("::ffff:1.1.1.1"), 1, 2);
        for n in [0, 10, 40, 45] {
            r.inject(at, 0, Packet::from_slice(&p[..n]));
            r.inject(at, 1, Packet::from_slice(&p[..n]));
        }
        assert_eq!(r.read("at.drops").unwrap(), "8");
    }

    /// ip64-nat2.click's shape: IPv6 host -> [0]at -> pt64 -> IPv4 world,
    /// and back through pt46 -> [1]at -> IPv6 host.
    #[test]
    fn ip64_chain_round_trip() {
        let (r, _) = router_from_source(
            "at :: AddressTranslator(0, 1, 1, 0, ::ffff:192.0.2.1 6000 6010);
             pt64 :: ProtocolTranslator64; pt46 :: ProtocolTranslator46;
             Idle -> [0]at; at[0] -> pt64 -> CheckIPHeader -> v4 :: TestSink;
             Idle -> chk :: CheckIPHeader -> pt46 -> [1]at; at[1] -> v6 :: TestSink;",
        );
        let at = r.find("at").unwrap();
        let (host, srv) = (a6("3ffe:1ce1:2::2"), a6("::ffff:198.51.100.7"));
        r.inject(at, 0, Packet::from_slice(&udp(&host, &srv, 4000, 53)));
        let v4 = sink_contents(&r, "v4")[0].1.clone();
        let h = ip::Ipv4Header::new(&v4).unwrap();
        assert_eq!((h.src(), h.dst()), ([192, 0, 2, 1], [198, 51, 100, 7]));
        assert_eq!((ip::get16(&v4, 20), ip::get16(&v4, 22)), (6000, 53));
        // The server's answer, as the IPv4 world sends it.
        let mut u = alloc::vec![0u8; 12];
        ip::put16(&mut u, 0, 53);
        ip::put16(&mut u, 2, 6000);
        ip::put16(&mut u, 4, 12);
        let reply = ip::build([198, 51, 100, 7], [192, 0, 2, 1], 17, 60, &u);
        r.inject(r.find("chk").unwrap(), 0, Packet::from_slice(&reply));
        let back = &sink_contents(&r, "v6")[0].1;
        assert_eq!(fields(back), (srv, 53, host, 4000));
    }
}

//! The engine shared by the rewriter elements (Click's `IPRewriterBase`
//! and its subclasses): configuration, the per-packet path (lookup, new
//! mappings from input specs, rewriting with Click's incremental checksum
//! deltas, connection tracking), ICMP errors about mapped flows, expiry,
//! capacity eviction, handlers and state export.

use crate::error::{ConfigError, ErrorKind};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

use super::checksum::{apply_delta, fix_zero, set_word, update, word};
use super::flowid::{host, wire, Addr, FlowId};
use super::rng::Rng;
use super::spec::{parse_spec, InputSpec, Mapped, SpecKind};
use super::table::{FlowTable, Timeouts};
use super::tcpstate::{self, Class};
use crate::batch::Batch;
use crate::confparse::{Args, Duration, Ipv4};
use crate::element::HandlerDecl;
use crate::packet::Packet;
use crate::router::{ConfigCx, Ctx};

const IP_TCP: u8 = 6;
const IP_UDP: u8 = 17;
const IP_ICMP: u8 = 1;
const IP_DCCP: u8 = 33;

/// Which member of the family an element is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// IPRewriter: TCP and UDP in separate tables.
    Ip,
    /// TCPRewriter: TCP only.
    Tcp,
    /// UDPRewriter: UDP (and TCP, DCCP) with UDP timeouts, one table.
    Udp,
    /// IPAddrRewriter: source addresses of any protocol.
    Addr,
    /// ICMPPingRewriter: echo requests and replies.
    Ping,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::Ip => "IPRewriter",
            Kind::Tcp => "TCPRewriter",
            Kind::Udp => "UDPRewriter",
            Kind::Addr => "IPAddrRewriter",
            Kind::Ping => "ICMPPingRewriter",
        }
    }
}

/// Timer id of the reaper.
const REAP_TIMER: u32 = 0;

fn ms(d: Duration) -> i64 {
    d.0.nanos() / 1_000_000
}

fn secs(s: i64) -> Duration {
    Duration(crate::time::Timestamp::new(s, 0))
}

/// A rewriter: input specs, the mapping table, and options.
pub struct Rewriter {
    kind: Kind,
    specs: Vec<InputSpec>,
    table: FlowTable,
    rng: Rng,
    dst_anno: bool,
    reply_anno: Option<usize>,
    reap_ms: i64,
    nout: usize,
    /// Latest time seen, in ms (for exports, which get no clock).
    now_ms: i64,
    /// True while the reaper timer is set.
    reap_armed: bool,
    lookup_answer: String,
    /// Configured in Click 1.x's `ICMPPingRewriter(SRC, DST)` form, whose
    /// input 0 passes replies of no mapping on unchanged.
    click1_ping: bool,
    /// Events mode (a move in progress): packets of these flows are kept.
    pub(crate) events: Option<alloc::boxed::Box<super::export::EventSet>>,
}

/// Where a packet goes.
type Verdict = Option<usize>;

impl Rewriter {
    /// Reads the configuration of a `kind` element.
    pub fn configure(kind: Kind, args: &mut Args, cx: &ConfigCx) -> Result<Rewriter, ConfigError> {
        let mut t = [Timeouts::default(); tcpstate::NCLASS];
        let mut dst_anno = true;
        let mut set = |c: Class, timeout: Duration, guarantee: Duration| {
            t[c as usize] = Timeouts {
                timeout: ms(timeout),
                guarantee: ms(guarantee),
            };
        };
        let five = secs(5);
        match kind {
            Kind::Ip | Kind::Tcp => {
                if kind == Kind::Ip {
                    let udp = args.keyword_or("UDP_TIMEOUT", secs(300))?;
                    let stream = args.keyword("UDP_STREAMING_TIMEOUT")?.unwrap_or(udp);
                    let ug = args.keyword_or("UDP_GUARANTEE", five)?;
                    set(Class::Udp, udp, ug);
                    set(Class::UdpStreaming, stream, ug);
                }
                let nodata = args.keyword_or("TCP_NODATA_TIMEOUT", secs(300))?;
                let tg = args.keyword_or("TCP_GUARANTEE", five)?;
                let data = args.keyword("TIMEOUT")?;
                let data = args
                    .keyword("TCP_TIMEOUT")?
                    .or(data)
                    .unwrap_or(secs(86_400));
                let done = args.keyword_or("TCP_DONE_TIMEOUT", secs(240))?;
                let tg = args.keyword("GUARANTEE")?.unwrap_or(tg);
                set(Class::TcpNoData, nodata, tg);
                set(Class::TcpData, data, tg);
                set(Class::TcpDone, done, tg);
                dst_anno = args.keyword_or("DST_ANNO", true)?;
            }
            Kind::Udp => {
                dst_anno = args.keyword_or("DST_ANNO", true)?;
                let a = args.keyword("UDP_TIMEOUT")?;
                let udp = args.keyword("TIMEOUT")?.or(a).unwrap_or(secs(300));
                let a = args.keyword("UDP_STREAMING_TIMEOUT")?;
                let stream = args.keyword("STREAMING_TIMEOUT")?.or(a).unwrap_or(udp);
                let a = args.keyword("UDP_GUARANTEE")?;
                let ug = args.keyword("GUARANTEE")?.or(a).unwrap_or(five);
                set(Class::Udp, udp, ug);
                set(Class::UdpStreaming, stream, ug);
            }
            Kind::Addr | Kind::Ping => {
                if kind == Kind::Ping {
                    dst_anno = args.keyword_or("DST_ANNO", true)?;
                }
                let default = if kind == Kind::Addr { 7200 } else { 300 };
                let to = args.keyword_or("TIMEOUT", secs(default))?;
                let g = args.keyword_or("GUARANTEE", five)?;
                set(Class::Other, to, g);
            }
        }
        let reply_anno_kw = args.keyword::<String>("REPLY_ANNO")?;
        let reply_anno =
            match reply_anno_kw {
                None => None,
                Some(s) => Some(parse_anno(&s).ok_or_else(|| {
                    ConfigError::bad_value("REPLY_ANNO", "an annotation offset", &s)
                })?),
            };
        let cap_a = args.keyword::<String>("CAPACITY")?;
        let cap = args.keyword::<String>("MAPPING_CAPACITY")?.or(cap_a);
        let capacity = match cap {
            None => 0x7FFF_FFFF,
            Some(c) => crate::confparse::values::parse_u64(&c)
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| ConfigError::new(ErrorKind::BadValue, "bad MAPPING_CAPACITY (an integer; sharing another rewriter's capacity is not supported)"))?,
        };
        let reap_a = args.keyword::<Duration>("REAP_TIME")?;
        let reap = args
            .keyword::<Duration>("REAP_INTERVAL")?
            .or(reap_a)
            .unwrap_or(secs(900));
        let lines = args.rest_positional_resolved(crate::confparse::Context::Rules);
        let nin = cx.ninputs();
        let nout = cx.noutputs();
        let click1 = match kind {
            Kind::Ping => super::icmppingrewriter::click1_specs(&lines, nin, nout),
            _ => None,
        };
        let click1_ping = click1.is_some();
        let specs = match click1 {
            Some(specs) => specs.map_err(|e| ConfigError::new(ErrorKind::BadValue, e))?,
            None => {
                if lines.len() != nin {
                    let e = format!("need {nin} arguments, one per input port");
                    return Err(ConfigError::conflict(e));
                }
                let mut specs = Vec::with_capacity(nin);
                for (i, l) in lines.iter().enumerate() {
                    let spec = parse_spec(l, i, nout, cx)
                        .map_err(|e| ConfigError::new(ErrorKind::BadValue, e))?;
                    specs.push(spec);
                }
                specs
            }
        };
        let mut rng = Rng::from_name(cx.name());
        let mut table = FlowTable::try_new(1024, rng.next_u64())
            .ok_or_else(|| ConfigError::resource("out of memory for the mapping table"))?;
        table.timeouts = t;
        table.capacity = capacity;
        Ok(Rewriter {
            kind,
            specs,
            table,
            rng,
            dst_anno,
            reply_anno,
            reap_ms: ms(reap),
            nout,
            now_ms: 0,
            reap_armed: false,
            lookup_answer: String::new(),
            click1_ping,
            events: None,
        })
    }

    /// Reseeds the generator used for random port choice.
    pub fn seed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    /// Pre-sizes the tables for `n` flows so the fast path never grows
    /// them.
    pub fn reserve(&mut self, n: usize) {
        self.table.reserve(0, n);
        if self.kind == Kind::Ip {
            self.table.reserve(1, n);
        }
    }

    /// Number of live mappings.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True with no mappings.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Mapping failures on all inputs.
    pub fn failures(&self) -> u32 {
        self.specs.iter().map(|s| s.failures).sum()
    }

    /// Number of input specs (input ports).
    pub fn ninputs(&self) -> usize {
        self.specs.len()
    }

    /// The element class this rewriter implements.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    fn unmapped(&self, port: usize) -> Verdict {
        match self.specs.get(port) {
            Some(s) if matches!(s.kind, SpecKind::NoChange) => Some(s.fout as usize),
            _ => None,
        }
    }

    fn destroy(&mut self, i: u32) {
        let input = self.table.flow(i).input as usize;
        if let Some(s) = self.specs.get_mut(input) {
            s.count = s.count.saturating_sub(1);
        }
        self.table.remove(i);
    }

    /// Makes a new flow for `fid` arriving on `port`; `Err` carries where
    /// the packet goes instead.
    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        cx: &Ctx,
        map: usize,
        fid: FlowId,
        proto: u8,
        port: usize,
        now_ms: i64,
        anno: u8,
    ) -> Result<(u32, usize), Verdict> {
        let Some(spec) = self.specs.get_mut(port) else {
            return Err(None);
        };
        let table = &self.table;
        let taken = |k: &FlowId| table.contains(map, k);
        let mapped = match &spec.kind {
            SpecKind::Drop => return Err(None),
            SpecKind::NoChange => return Err(Some(spec.fout as usize)),
            SpecKind::Keep => Some(Mapped {
                flow: fid,
                fout: spec.fout,
                rout: spec.rout,
            }),
            SpecKind::Pattern(p) => {
                p.borrow_mut()
                    .rewrite(&fid, &taken, &mut self.rng)
                    .map(|flow| Mapped {
                        flow,
                        fout: spec.fout,
                        rout: spec.rout,
                    })
            }
            SpecKind::Mapper(m) => m.borrow_mut().map_flow(&fid, &taken, &mut self.rng),
        };
        let Some(mut m) = mapped else {
            spec.failures += 1;
            return Err(None);
        };
        match self.kind {
            // Address-only mappings may change nothing but the source.
            Kind::Addr if m.flow.sport != 0 || m.flow.dport != 0 || m.flow.daddr != [0; 4] => {
                return Err(None);
            }
            Kind::Ping => m.flow.dport = m.flow.sport.wrapping_add(1),
            _ => {}
        }
        if m.fout as usize >= self.nout || m.rout as usize >= self.nout {
            return Err(None);
        }
        spec.count += 1;
        // An older flow holding the new reply key loses it, as in Click.
        if let Some((old, _)) = self.table.lookup(map, &m.flow.reverse()) {
            self.destroy(old);
        }
        let class = initial_class(self.kind, proto);
        let Some(i) = self.table.insert(
            map,
            fid,
            m.flow,
            [m.fout, m.rout],
            proto,
            port as u8,
            class,
            now_ms,
        ) else {
            // Out of memory: a mapping failure, as when the table is full.
            self.specs[port].count -= 1;
            self.specs[port].failures += 1;
            return Err(None);
        };
        self.table.flow_mut(i).reply_anno = anno;
        adjust_deltas(self.kind, &mut self.table, i);
        if self.table.len() > self.table.capacity {
            let victim = self.table.victim(now_ms).unwrap_or(i);
            self.destroy(victim);
            if victim == i {
                self.specs[port].failures += 1;
                return Err(None);
            }
        }
        self.arm_reaper(cx);
        Ok((i, 0))
    }

    /// Processes one packet from input `port`; returns its output.
    /// `now_ms` is the current time in milliseconds.
    pub fn process(&mut self, cx: &Ctx, port: usize, p: &mut Packet, now_ms: i64) -> Verdict {
        self.now_ms = now_ms;
        let off = p
            .network_header_offset()
            .filter(|&o| o >= 0)
            .map(|o| o as usize)
            .unwrap_or(0);
        let anno_in = self.reply_anno.and_then(|a| p.anno_u8(a)).unwrap_or(0);
        let d = p.data();
        if d.len() < off + 20 {
            return self.unmapped(port);
        }
        let hl = (d[off] & 15) as usize * 4;
        if hl < 20 || d.len() < off + hl {
            return self.unmapped(port);
        }
        let l4 = off + hl;
        let tlen = d.len() - l4;
        let proto = d[off + 9];
        let first = word(d, off + 6) & 0x1FFF == 0;
        let (map, fid, reply_lookup) = match self.kind {
            Kind::Ip | Kind::Tcp | Kind::Udp => {
                let ok = match self.kind {
                    Kind::Ip => proto == IP_TCP || proto == IP_UDP,
                    Kind::Tcp => proto == IP_TCP,
                    _ => proto == IP_TCP || proto == IP_UDP || proto == IP_DCCP,
                };
                if !ok || !first || tlen < 8 {
                    if proto == IP_ICMP && first {
                        if let Some(out) = self.icmp_error(p, off, hl) {
                            return Some(out);
                        }
                    }
                    return self.unmapped(port);
                }
                let map = (self.kind == Kind::Ip && proto == IP_UDP) as usize;
                (map, FlowId::from_headers(&d[off..], &d[l4..]), None)
            }
            Kind::Addr => {
                let f = FlowId {
                    saddr: [d[off + 12], d[off + 13], d[off + 14], d[off + 15]],
                    ..FlowId::default()
                };
                let r = FlowId {
                    daddr: [d[off + 16], d[off + 17], d[off + 18], d[off + 19]],
                    ..FlowId::default()
                };
                (0, f, Some(r))
            }
            Kind::Ping => {
                if proto != IP_ICMP || !first || tlen < 6 || !(d[l4] == 8 || d[l4] == 0) {
                    return self.unmapped(port);
                }
                let echo = d[l4] == 8;
                let id = u16::from_ne_bytes([d[l4 + 4], d[l4 + 5]]);
                let f = FlowId {
                    saddr: [d[off + 12], d[off + 13], d[off + 14], d[off + 15]],
                    daddr: [d[off + 16], d[off + 17], d[off + 18], d[off + 19]],
                    sport: id.wrapping_add(!echo as u16),
                    dport: id.wrapping_add(echo as u16),
                };
                if !echo && self.table.lookup(0, &f).is_none() {
                    if self.click1_ping && port == 0 {
                        return Some(self.nout - 1);
                    }
                    return self.unmapped(port);
                }
                (0, f, None)
            }
        };
        let found = self
            .table
            .lookup(map, &fid)
            .or_else(|| reply_lookup.and_then(|r| self.table.lookup(map, &r)));
        // Mappings that arrived by import or hot-swap need the reaper too.
        if !self.reap_armed && !self.table.is_empty() {
            self.arm_reaper(cx);
        }
        let (i, dir) = match found {
            Some(x) => x,
            None => match self.create(cx, map, fid, proto, port, now_ms, anno_in) {
                Ok(x) => x,
                Err(v) => return v,
            },
        };
        let class = self.apply(p, i, dir, off, l4, proto, first);
        self.table.touch(i, class, now_ms);
        Some(self.table.flow(i).out[dir] as usize)
    }

    /// Rewrites packet `p` by flow `i` in direction `dir` and tracks the
    /// connection; returns the flow's timeout class.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn apply(
        &mut self,
        p: &mut Packet,
        i: u32,
        dir: usize,
        off: usize,
        l4: usize,
        proto: u8,
        first: bool,
    ) -> Class {
        let f = *self.table.flow(i);
        let rev = f.key[dir ^ 1];
        let reply = dir == 1;
        if self.dst_anno && (self.kind != Kind::Addr || reply) {
            p.set_dst_ip_anno(rev.saddr);
        }
        if reply {
            if let Some(a) = self.reply_anno {
                p.set_anno_u8(a, f.reply_anno);
            }
        }
        let d = p.data_mut();
        let tlen = d.len() - l4;
        if self.kind != Kind::Addr || !reply {
            d[off + 12..off + 16].copy_from_slice(&rev.daddr);
        }
        if self.kind != Kind::Addr || reply {
            d[off + 16..off + 20].copy_from_slice(&rev.saddr);
        }
        let s = apply_delta(word(d, off + 10), reply, f.ip_delta);
        set_word(d, off + 10, s);
        let mut tflags = f.tflags;
        let class = match self.kind {
            Kind::Ip | Kind::Tcp if proto == IP_TCP => {
                if first && tlen >= 18 {
                    d[l4..l4 + 2].copy_from_slice(&rev.dport.to_ne_bytes());
                    d[l4 + 2..l4 + 4].copy_from_slice(&rev.sport.to_ne_bytes());
                    let c = apply_delta(word(d, l4 + 16), reply, f.l4_delta);
                    set_word(d, l4 + 16, c);
                    let hl = l4 - off;
                    let th_off = (d[l4 + 12] >> 4) as usize * 4;
                    let payload = hl + th_off < word(d, off + 2) as usize;
                    tflags = tcpstate::tcp_update(tflags, reply, d[l4 + 13], payload);
                }
                tcpstate::tcp_class(tflags)
            }
            Kind::Ip | Kind::Udp => {
                if first {
                    d[l4..l4 + 2].copy_from_slice(&rev.dport.to_ne_bytes());
                    d[l4 + 2..l4 + 4].copy_from_slice(&rev.sport.to_ne_bytes());
                    if proto == IP_TCP && tlen >= 18 {
                        let c = apply_delta(word(d, l4 + 16), reply, f.l4_delta);
                        set_word(d, l4 + 16, c);
                    } else if proto == IP_UDP && tlen >= 8 && word(d, l4 + 6) != 0 {
                        let c = apply_delta(word(d, l4 + 6), reply, f.l4_delta);
                        set_word(d, l4 + 6, c);
                    }
                    tflags = tcpstate::udp_update(tflags, reply);
                }
                tcpstate::udp_class(tflags)
            }
            Kind::Addr => {
                if first {
                    if proto == IP_TCP && tlen >= 18 {
                        let c = apply_delta(word(d, l4 + 16), reply, f.l4_delta);
                        set_word(d, l4 + 16, c);
                    } else if proto == IP_UDP && tlen >= 8 && word(d, l4 + 6) != 0 {
                        let c = apply_delta(word(d, l4 + 6), reply, f.l4_delta);
                        set_word(d, l4 + 6, c);
                    }
                }
                Class::Other
            }
            Kind::Ping => {
                if first {
                    let id = if reply { rev.sport } else { rev.dport };
                    d[l4 + 4..l4 + 6].copy_from_slice(&id.to_ne_bytes());
                    let c = apply_delta(word(d, l4 + 2), reply, f.l4_delta);
                    set_word(d, l4 + 2, c);
                    let c = fix_zero(c, &d[l4..]);
                    set_word(d, l4 + 2, c);
                }
                Class::Other
            }
            // TCPRewriter only sees TCP.
            Kind::Tcp => Class::TcpNoData,
        };
        self.table.flow_mut(i).tflags = tflags;
        class
    }

    /// ICMPRewriter's entry: translates `p` if it is an ICMP error quoting
    /// a packet of one of this rewriter's flows; returns that flow's
    /// output for the direction, `None` (and `p` untouched) otherwise.
    pub fn translate_icmp_error(&mut self, p: &mut Packet) -> Verdict {
        let off = p
            .network_header_offset()
            .filter(|&o| o >= 0)
            .map(|o| o as usize)
            .unwrap_or(0);
        let d = p.data();
        let hl = usize::from(*d.get(off)? & 15) * 4;
        if hl < 20 || d.len() < off + hl || d[off + 9] != IP_ICMP || word(d, off + 6) & 0x1FFF != 0
        {
            return None;
        }
        self.icmp_error(p, off, hl)
    }

    /// An ICMP error whose quoted packet belongs to a mapped flow: rewrites
    /// the quoted headers back (and the outer destination when it is the
    /// quoted source; the outer source in a direction that rewrites
    /// sources) with checksums patched. Returns the flow's output for that
    /// direction.
    fn icmp_error(&mut self, p: &mut Packet, off: usize, hl: usize) -> Verdict {
        let l4 = off + hl;
        let d = p.data();
        if d.len() < l4 + 8 + 20 || !matches!(d[l4], 3 | 4 | 5 | 11 | 12) {
            return None;
        }
        let inner = l4 + 8;
        let ihl = (d[inner] & 15) as usize * 4;
        if d[inner] >> 4 != 4 || ihl < 20 || d.len() < inner + ihl + 8 {
            return None;
        }
        let ip_p = d[inner + 9];
        let it = inner + ihl;
        let map = match (self.kind, ip_p) {
            (Kind::Ip, IP_TCP) | (Kind::Tcp, IP_TCP) => 0,
            (Kind::Ip, IP_UDP) => 1,
            (Kind::Udp, IP_TCP | IP_UDP | IP_DCCP) => 0,
            _ => return None,
        };
        if word(d, inner + 6) & 0x1FFF != 0 {
            return None;
        }
        let quoted = FlowId::from_headers(&d[inner..], &d[it..]);
        let search = quoted.reverse();
        let (i, dir) = self.table.lookup(map, &search)?;
        let f = *self.table.flow(i);
        let new = f.rewritten(dir);
        let dst_anno = self.dst_anno;
        let d = p.data_mut();
        // Outer header.
        let mut osum = word(d, off + 10);
        let mut new_dst = None;
        if d[off + 16..off + 20] == search.daddr {
            for k in 0..2 {
                let o = word(d, off + 16 + 2 * k);
                let n = u16::from_be_bytes([new.daddr[2 * k], new.daddr[2 * k + 1]]);
                osum = update(osum, o, n);
            }
            d[off + 16..off + 20].copy_from_slice(&new.daddr);
            new_dst = Some(new.daddr);
        }
        // In a direction that rewrites sources, the error takes the new
        // source whoever sent it (the host, or a router next to it), so no
        // address from that side leaks through the translation.
        if new.saddr != search.saddr && d[off + 12..off + 16] != new.saddr {
            for k in 0..2 {
                let o = word(d, off + 12 + 2 * k);
                let n = u16::from_be_bytes([new.saddr[2 * k], new.saddr[2 * k + 1]]);
                osum = update(osum, o, n);
            }
            d[off + 12..off + 16].copy_from_slice(&new.saddr);
        }
        set_word(d, off + 10, osum);
        // Quoted headers: addresses and ports, then their checksums.
        let mut icsum = word(d, l4 + 2);
        let ipsum0 = word(d, inner + 10);
        let mut ipsum = ipsum0;
        let tpos = match ip_p {
            IP_TCP if d.len() >= it + 18 => Some(it + 16),
            IP_UDP if word(d, it + 6) != 0 => Some(it + 6),
            _ => None,
        };
        let tsum0 = tpos.map(|t| word(d, t)).unwrap_or(0);
        let mut tsum = tsum0;
        let mut changes: [(usize, u16); 6] = [(0, 0); 6];
        let sw = |a: [u8; 4], k: usize| u16::from_be_bytes([a[2 * k], a[2 * k + 1]]);
        changes[0] = (inner + 12, sw(new.daddr, 0));
        changes[1] = (inner + 14, sw(new.daddr, 1));
        changes[2] = (inner + 16, sw(new.saddr, 0));
        changes[3] = (inner + 18, sw(new.saddr, 1));
        changes[4] = (it, u16::from_be_bytes(new.dport.to_ne_bytes()));
        changes[5] = (it + 2, u16::from_be_bytes(new.sport.to_ne_bytes()));
        for (k, &(pos, n)) in changes.iter().enumerate() {
            let o = word(d, pos);
            if k < 4 {
                ipsum = update(ipsum, o, n);
            }
            tsum = update(tsum, o, n);
            icsum = update(icsum, o, n);
            set_word(d, pos, n);
        }
        icsum = update(icsum, ipsum0, ipsum);
        set_word(d, inner + 10, ipsum);
        if let Some(t) = tpos {
            icsum = update(icsum, tsum0, tsum);
            set_word(d, t, tsum);
        }
        set_word(d, l4 + 2, icsum);
        if let (Some(a), true) = (new_dst, dst_anno) {
            p.set_dst_ip_anno(a);
        }
        Some(f.out[dir] as usize)
    }

    /// Sets the reaper timer unless it is set. It runs only while there
    /// are mappings, so an idle rewriter leaves simulated time alone.
    #[inline]
    fn arm_reaper(&mut self, cx: &Ctx) {
        if self.reap_ms > 0 && !self.reap_armed {
            self.reap_armed = true;
            cx.set_timer(
                REAP_TIMER,
                cx.now() + crate::time::Timestamp(self.reap_ms * 1_000_000),
            );
        }
    }

    /// Removes expired flows and re-arms the reaper.
    pub fn reap(&mut self, cx: &Ctx) {
        self.reap_armed = false;
        let now_ms = cx.now().msec();
        self.now_ms = now_ms;
        let specs = &mut self.specs;
        self.table.expire(now_ms, |f| {
            if let Some(s) = specs.get_mut(f.input as usize) {
                s.count = s.count.saturating_sub(1);
            }
        });
        if !self.table.is_empty() {
            self.arm_reaper(cx);
        }
    }

    /// Pushes one packet through.
    #[inline]
    pub fn push(&mut self, cx: &Ctx, port: usize, mut p: Packet) {
        if self.hold_event(port, &p) {
            return cx.kill(p);
        }
        let now_ms = cx.now().msec();
        match self.process(cx, port, &mut p, now_ms) {
            Some(o) => cx.push(o, p),
            None => cx.kill(p),
        }
    }

    /// In events mode, keeps a copy of a packet of a flow being moved (the
    /// caller drops it unprocessed); false otherwise.
    #[inline]
    fn hold_event(&mut self, port: usize, p: &Packet) -> bool {
        if self.events.is_none() {
            return false;
        }
        let key = self.peek_key(p);
        let ev = self.events.as_deref_mut().expect("checked");
        ev.hold(port, key, p)
    }

    /// The table and key a TCP/UDP packet will be looked up by, if it is
    /// one (for prefetching; `process` does the real checks).
    #[inline]
    fn peek_key(&self, p: &Packet) -> Option<(usize, FlowId)> {
        if !matches!(self.kind, Kind::Ip | Kind::Tcp | Kind::Udp) {
            return None;
        }
        let off = p
            .network_header_offset()
            .filter(|&o| o >= 0)
            .map(|o| o as usize)
            .unwrap_or(0);
        let d = p.data();
        let hl = (*d.get(off)? & 15) as usize * 4;
        if hl < 20 || d.len() < off + hl + 4 {
            return None;
        }
        let proto = d[off + 9];
        let map = (self.kind == Kind::Ip && proto == IP_UDP) as usize;
        Some((map, FlowId::from_headers(&d[off..], &d[off + hl..])))
    }

    /// Pushes a batch through, keeping runs of packets for the same output
    /// together. The index slots, then the flows, of the whole batch are
    /// prefetched first so their cache misses overlap.
    pub fn push_batch(&mut self, cx: &Ctx, port: usize, b: Batch) {
        if b.len() > 1 {
            let mut keys: heapless::Vec<(usize, FlowId), { crate::batch::BATCH_MAX }> =
                heapless::Vec::new();
            for p in b.iter() {
                if let Some(k) = self.peek_key(p) {
                    let _ = keys.push(k);
                }
            }
            for (m, k) in &keys {
                self.table.prefetch_slot(*m, k);
            }
            for (m, k) in &keys {
                self.table.prefetch_flow(*m, k);
            }
        }
        let mut run = Batch::new();
        let mut run_out = usize::MAX;
        // One clock reading per batch: its packets arrived together.
        let now_ms = cx.now().msec();
        for mut p in b {
            if self.hold_event(port, &p) {
                cx.kill(p);
                continue;
            }
            match self.process(cx, port, &mut p, now_ms) {
                Some(o) => {
                    if o != run_out && !run.is_empty() {
                        cx.push_batch(run_out, core::mem::take(&mut run));
                    }
                    run_out = o;
                    if let Err(p) = run.push(p) {
                        cx.push(o, p);
                    }
                }
                None => cx.kill(p),
            }
        }
        if !run.is_empty() {
            cx.push_batch(run_out, run);
        }
    }

    fn unparse_flow(&self, s: &mut String, i: u32, dir: usize, now_ms: i64) {
        let f = self.table.flow(i);
        match self.kind {
            Kind::Addr => {
                let _ = write!(
                    s,
                    "{} => {}",
                    Addr(f.key[dir].saddr),
                    Addr(f.key[dir ^ 1].daddr)
                );
            }
            Kind::Ping => {
                let a = f.key[dir];
                let b = f.rewritten(dir);
                let _ = write!(
                    s,
                    "({}, {}, {}) => ({}, {}, {})",
                    Addr(a.saddr),
                    Addr(a.daddr),
                    a.sport_host(),
                    Addr(b.saddr),
                    Addr(b.daddr),
                    b.sport_host()
                );
            }
            _ => {
                let _ = write!(s, "{} => {}", f.key[dir], f.rewritten(dir));
            }
        }
        let star = |d: usize| if d == dir { "*" } else { "" };
        let _ = writeln!(
            s,
            " [{}{} {}{}] i{} exp{}",
            star(0),
            f.out[0],
            star(1),
            f.out[1],
            f.input,
            self.table.expiry_secs(i, now_ms)
        );
    }

    /// The mapping table text of index `map` (Click's `tcp_table`,
    /// `udp_table`, `table`): one line per direction of every flow.
    pub fn table_text(&self, map: usize, now_ms: i64) -> String {
        let mut s = String::new();
        for i in self.table.live_flows() {
            if self.table.flow(i).map as usize == map {
                self.unparse_flow(&mut s, i, 0, now_ms);
                self.unparse_flow(&mut s, i, 1, now_ms);
            }
        }
        s
    }

    /// Click's `tcp_lookup`: `SADDR SPORT DADDR DPORT` of a TCP flow to
    /// the rewritten flow in the same form, or empty.
    pub fn tcp_lookup(&self, q: &str) -> Result<String, ConfigError> {
        let w: Vec<&str> = q.split_whitespace().collect();
        let bad = || ConfigError::new(ErrorKind::BadValue, "expected SADDR SPORT DADDR DPORT");
        if w.len() != 4 {
            return Err(bad());
        }
        let sa = Ipv4::parse(w[0]).ok_or_else(bad)?;
        let sp: u16 = w[1].parse().map_err(|_| bad())?;
        let da = Ipv4::parse(w[2]).ok_or_else(bad)?;
        let dp: u16 = w[3].parse().map_err(|_| bad())?;
        let k = FlowId::new(sa.0, sp, da.0, dp);
        Ok(match self.table.lookup(0, &k) {
            Some((i, dir)) => {
                let r = self.table.flow(i).rewritten(dir);
                format!(
                    "{} {} {} {}",
                    Addr(r.saddr),
                    r.sport_host(),
                    Addr(r.daddr),
                    r.dport_host()
                )
            }
            None => String::new(),
        })
    }

    /// The handlers of a `kind` element.
    pub fn handler_decls(kind: Kind) -> &'static [HandlerDecl] {
        // Every rewriter's handlers, then its kind's own.
        macro_rules! decls {
            ($($own:expr),*) => {
                &[
                    HandlerDecl::read("table_size"),
                    HandlerDecl::read("mapping_failures"),
                    HandlerDecl::read("patterns"),
                    HandlerDecl::read("size"),
                    HandlerDecl::rw("capacity"),
                    HandlerDecl::write("clear"),
                    $($own),*
                ]
            };
        }
        const IP: &[HandlerDecl] = decls!(
            HandlerDecl::read("tcp_table"),
            HandlerDecl::read("udp_table"),
            HandlerDecl::rw("tcp_lookup")
        );
        const TCP: &[HandlerDecl] = decls!(HandlerDecl::read("table"), HandlerDecl::rw("lookup"));
        const OTHER: &[HandlerDecl] = decls!(HandlerDecl::read("table"));
        match kind {
            Kind::Ip => IP,
            Kind::Tcp => TCP,
            _ => OTHER,
        }
    }

    /// Reads a handler at time `now_ms`.
    pub fn read(&self, now_ms: i64, name: &str) -> String {
        match name {
            "table_size" => self.specs.iter().map(|s| s.count).sum::<u32>().to_string(),
            "mapping_failures" => self.failures().to_string(),
            "size" => self.table.len().to_string(),
            "capacity" => self.table.capacity.to_string(),
            "patterns" => {
                let mut s = String::new();
                for sp in &self.specs {
                    s.push_str(&sp.describe());
                    s.push('\n');
                }
                s
            }
            "tcp_table" | "table" => self.table_text(0, now_ms),
            "udp_table" => self.table_text(1, now_ms),
            "tcp_lookup" | "lookup" => self.lookup_answer.clone(),
            _ => String::new(),
        }
    }

    /// Writes a handler.
    pub fn write_handler(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "capacity" => {
                let c = crate::confparse::values::parse_u64(value.trim())
                    .and_then(|v| usize::try_from(v).ok())
                    .ok_or_else(|| ConfigError::bad_value("", "a capacity", value))?;
                self.table.capacity = c;
                let now = self.now_ms;
                while self.table.len() > c {
                    let v = match self.table.victim(now) {
                        Some(v) => v,
                        None => match self.table.live_flows().next() {
                            Some(v) => v,
                            None => break,
                        },
                    };
                    self.destroy(v);
                }
                Ok(())
            }
            "clear" => {
                self.table.clear();
                for s in &mut self.specs {
                    s.count = 0;
                }
                Ok(())
            }
            "tcp_lookup" | "lookup" => {
                self.lookup_answer = self.tcp_lookup(value)?;
                Ok(())
            }
            _ => Err(ConfigError::not_writable(name)),
        }
    }

    /// Moves the mapping table and counters of `old` (a namesake in the
    /// router being replaced) into this one.
    pub fn take_state(&mut self, old: &mut Rewriter) {
        if old.kind != self.kind {
            return;
        }
        core::mem::swap(&mut self.table, &mut old.table);
        self.reap_armed = false;
        self.table.timeouts = old.table.timeouts;
        self.table.capacity = old.table.capacity;
        let mut gone = Vec::new();
        for i in self.table.live_flows() {
            let f = self.table.flow(i);
            let bad = f.out[0] as usize >= self.nout
                || f.out[1] as usize >= self.nout
                || f.input as usize >= self.specs.len();
            if bad {
                gone.push(i);
            }
        }
        for i in gone {
            self.table.remove(i);
        }
        for s in &mut self.specs {
            s.count = 0;
        }
        let inputs: Vec<u8> = self
            .table
            .live_flows()
            .map(|i| self.table.flow(i).input)
            .collect();
        for inp in inputs {
            self.specs[inp as usize].count += 1;
        }
        for (n, o) in self.specs.iter_mut().zip(&old.specs) {
            n.failures += o.failures;
        }
    }

    pub(crate) fn class_name(&self) -> &'static str {
        self.kind.class_name()
    }
    pub(crate) fn table(&self) -> &FlowTable {
        &self.table
    }
    pub(crate) fn table_mut(&mut self) -> &mut FlowTable {
        &mut self.table
    }
    pub(crate) fn specs_mut(&mut self) -> &mut Vec<InputSpec> {
        &mut self.specs
    }
    pub(crate) fn specs(&self) -> &[InputSpec] {
        &self.specs
    }
    pub(crate) fn now_ms(&self) -> i64 {
        self.now_ms
    }
    pub(crate) fn nout(&self) -> usize {
        self.nout
    }
    pub(crate) fn destroy_flow(&mut self, i: u32) {
        self.destroy(i)
    }
}

/// ICMPPingRewriter's checksum delta covers the identifier only (the ICMP
/// checksum has no pseudo-header).
pub(crate) fn adjust_deltas(kind: Kind, t: &mut FlowTable, i: u32) {
    if kind == Kind::Ping {
        let f = t.flow_mut(i);
        let a = f.key[0].words()[4];
        let b = f.rewritten(0).words()[4];
        f.l4_delta = update(0, a, b);
    }
}

/// The class a new flow starts in.
pub(crate) fn initial_class(kind: Kind, proto: u8) -> Class {
    match kind {
        Kind::Ip if proto == IP_TCP => Class::TcpNoData,
        Kind::Tcp => Class::TcpNoData,
        Kind::Ip | Kind::Udp => Class::Udp,
        Kind::Addr | Kind::Ping => Class::Other,
    }
}

/// The class of a flow of `kind`/`proto` with state `tflags`.
pub(crate) fn class_of(kind: Kind, proto: u8, tflags: u8) -> Class {
    match kind {
        Kind::Ip if proto == IP_TCP => tcpstate::tcp_class(tflags),
        Kind::Tcp => tcpstate::tcp_class(tflags),
        Kind::Ip | Kind::Udp => tcpstate::udp_class(tflags),
        Kind::Addr | Kind::Ping => Class::Other,
    }
}

/// REPLY_ANNO: a user annotation byte offset, or `PAINT`.
fn parse_anno(s: &str) -> Option<usize> {
    match s.trim() {
        "PAINT" => Some(crate::packet::anno::PAINT),
        t => crate::confparse::values::parse_u64(t)
            .and_then(|v| usize::try_from(v).ok())
            .filter(|&v| v < crate::packet::ANNO_SIZE),
    }
}

/// Implements [`crate::element::Element`] for a newtype around
/// [`Rewriter`].
macro_rules! rewriter_element {
    ($t:ty) => {
        impl $crate::element::Element for $t {
            fn push(&mut self, cx: &$crate::router::Ctx, port: usize, p: $crate::packet::Packet) {
                self.0.push(cx, port, p)
            }
            fn push_batch(
                &mut self,
                cx: &$crate::router::Ctx,
                port: usize,
                b: $crate::batch::Batch,
            ) {
                self.0.push_batch(cx, port, b)
            }
            fn run_timer(&mut self, cx: &$crate::router::Ctx, _id: u32) {
                self.0.reap(cx)
            }
            fn handlers(&self) -> &'static [$crate::element::HandlerDecl] {
                $crate::elements::nat::rewriter::Rewriter::handler_decls(self.0.kind())
            }
            fn read_handler(&self, cx: &$crate::router::Ctx, name: &str) -> alloc::string::String {
                self.0.read(cx.now().msec(), name)
            }
            fn write_handler(
                &mut self,
                _cx: &$crate::router::Ctx,
                name: &str,
                value: &str,
            ) -> Result<(), $crate::error::ConfigError> {
                self.0.write_handler(name, value)
            }
            fn take_state(
                &mut self,
                old: &mut dyn $crate::element::Element,
                _cx: &$crate::router::Ctx,
            ) {
                if let Some(o) = old.downcast_mut::<$t>() {
                    self.0.take_state(&mut o.0);
                }
            }
            fn state(&mut self) -> Option<&mut dyn $crate::state::StatefulElement> {
                Some(&mut self.0)
            }
        }
    };
}
pub(crate) use rewriter_element;

/// Host-order helper used by state records.
pub(crate) fn quad(f: &FlowId) -> ([u8; 4], u16, [u8; 4], u16) {
    (f.saddr, host(f.sport), f.daddr, host(f.dport))
}

/// Inverse of [`quad`].
pub(crate) fn unquad(q: &([u8; 4], u16, [u8; 4], u16)) -> FlowId {
    FlowId {
        saddr: q.0,
        sport: wire(q.1),
        daddr: q.2,
        dport: wire(q.3),
    }
}

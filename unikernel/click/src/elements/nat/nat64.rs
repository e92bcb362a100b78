//! `NAT64(POOL [, KEYWORDS])`: stateful NAT64 (RFC 6146) between IPv6
//! clients and IPv4 servers, with RFC 6052 addresses and RFC 7915 header
//! translation.
//!
//! # Ports
//! Two inputs, two outputs; push.
//!
//! # Processing
//! Click has no single NAT64 element (its `AddressTranslator` and
//! `ProtocolTranslator64`/`46` pair is stateless per address); this one
//! keeps its mappings in the IPRewriter family's flow table, with its
//! timeouts and capacity.
//!
//! Input 0 takes IPv6 packets (the IPv6 header at the network header
//! annotation, else at the start of the data) from the IPv6 side. A TCP
//! or UDP packet, or an ICMPv6 echo request, to an address inside PREFIX
//! (a /96: the IPv4 destination is its last 32 bits) gets a mapping from
//! its source address and port (or echo identifier) to POOL and a free
//! port (identifier) between 1024 and 65535, kept while packets flow. It
//! leaves output 0 as an IPv4 packet from POOL to the embedded address:
//! traffic class to TOS, hop limit to TTL, don't-fragment set, ICMPv6
//! echo to ICMP echo, transport checksums recomputed, with the IP header
//! and destination IP annotations set.
//!
//! Input 1 takes IPv4 packets from the IPv4 side. A TCP or UDP packet or
//! ICMP echo reply that matches a mapping leaves output 1 as an IPv6
//! packet from PREFIX + its source to the mapped client, with the IPv6
//! header and destination IPv6 annotations set. An ICMP destination
//! unreachable, time exceeded or parameter problem quoting a mapped
//! packet becomes the ICMPv6 error RFC 7915 section 4.2 gives (fragmentation
//! needed becomes packet too big with the MTU plus 20, at least 1280),
//! quoting the packet as the client sent it; its source is PREFIX + the
//! error's IPv4 source. Likewise an ICMPv6 error from the IPv6 side about
//! a packet of a mapped flow becomes an ICMP error from the pool to the
//! server (RFC 7915 section 5.2: unreachable, packet too big with the MTU
//! minus 20, time exceeded, parameter problem code 1), quoting the packet
//! as the server sent it.
//!
//! Everything else is dropped and counted: fragments (neither side is
//! reassembled), malformed headers, other ICMP types, destinations outside
//! PREFIX, packets and errors with no mapping. Hop limits are not
//! decremented: put `DecIP6HLIM`/`DecIPTTL` in front.
//!
//! # Keywords
//! * `POOL` (IP address): the IPv4 source address of translated packets.
//! * `PREFIX` (IPv6 prefix, default `64:ff9b::/96`): the RFC 6052 prefix;
//!   only /96 is supported.
//! * `CAPACITY` (integer, default 65536): most mappings; a new flow beyond
//!   it is dropped and counted in `mapping_failures`.
//! * `TCP_TIMEOUT` (time, default 2h 4m, RFC 6146's established timeout),
//!   `TCP_DONE_TIMEOUT` (time, default 4m, its transitory one),
//!   `UDP_TIMEOUT` (time, default 5m), `ICMP_TIMEOUT` (time, default 60s):
//!   how long a mapping lives after its last packet.
//!
//! # Handlers
//! * `mapping_count` (read): live mappings.
//! * `mapping_failures` (read): flows refused for want of a port or room.
//! * `drops` (read): packets dropped as above.
//! * `table` (read): one `PROTO CLIENT PORT => POOL PORT => SERVER PORT`
//!   line per mapping.
//!
//! Its mappings export, import and delete like IPRewriter's (see
//! `click::state`), selected by their IPv4 side (pool and server).
//!
//! # Example
//! ```text
//! nat :: NAT64(192.0.2.1);
//! FromDump(v6.pcap) -> Strip(14) -> CheckIP6Header -> [0]nat;
//! FromDump(v4.pcap) -> Strip(14) -> CheckIPHeader -> [1]nat;
//! nat[0] -> Discard; nat[1] -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

use super::flowid::FlowId;
use super::table::{FlowTable, Timeouts};
use super::tcpstate::{self, Class};
use super::xlat::{self, pseudo4, set_sum, sum_off, ECHO4, ECHO6, ECHO_REPLY4, ECHO_REPLY6};
use crate::confparse::{Duration, Ipv4, Ipv6, Ipv6Prefix};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::{ip, ip6};
use crate::packet::Packet;
use crate::router::Ctx;
use crate::state::{
    decode, encode, Fields, FlowFilter, FlowKey, Role, StateError, StateInfo, StatefulElement,
};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The `NAT64` class.
pub static CLASS: ElementClass = ElementClass {
    name: "NAT64",
    ports: "2/2",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        let pool = args.required::<Ipv4>("POOL")?;
        let prefix = args.keyword::<Ipv6Prefix>("PREFIX")?;
        let prefix = match prefix {
            None => Ipv6Prefix::parse("64:ff9b::/96").expect("well-known prefix"),
            Some(p) if p.len == 96 => p.network(),
            Some(p) => {
                return Err(ConfigError::bad_value(
                    "PREFIX",
                    "a /96 IPv6 prefix",
                    &p.to_string(),
                ))
            }
        };
        let capacity = args.keyword_or("CAPACITY", 65536usize)?;
        let ms = |d: Option<Duration>, default: i64| d.map_or(default, |d| d.0.msec());
        let tcp = ms(args.keyword("TCP_TIMEOUT")?, 7_440_000);
        let tcp_done = ms(args.keyword("TCP_DONE_TIMEOUT")?, 240_000);
        let udp = ms(args.keyword("UDP_TIMEOUT")?, 300_000);
        let icmp = ms(args.keyword("ICMP_TIMEOUT")?, 60_000);
        let mut table = FlowTable::new(capacity.min(4096), 0x6464_ff9b);
        let t = |timeout| Timeouts {
            timeout,
            guarantee: 0,
        };
        table.timeouts[Class::TcpNoData as usize] = t(tcp_done);
        table.timeouts[Class::TcpData as usize] = t(tcp);
        table.timeouts[Class::TcpDone as usize] = t(tcp_done);
        table.timeouts[Class::Udp as usize] = t(udp);
        table.timeouts[Class::UdpStreaming as usize] = t(udp);
        table.timeouts[Class::Other as usize] = t(icmp);
        Ok(Box::new(Nat64 {
            pool: pool.0,
            prefix: prefix.addr.0,
            capacity,
            table,
            client_of: Vec::new(),
            next_port: FIRST_PORT,
            last_reap: 0,
            now: 0,
            failures: 0,
            drops: 0,
        }))
    },
};

const FIRST_PORT: u16 = 1024;
/// Marks an ICMP flow's client id, so echo and UDP keys never collide.
const ICMP_FLAG: u32 = 0x8000_0000;
/// How many tags a client address may take in flow keys (another
/// client's flow with the same ports and server on its first tag moves it
/// to the next).
const PROBES: u32 = 4;

/// Tag `k` of client address `a` in flow keys: the flow table's keys hold
/// IPv4-sized addresses, so the forward key carries a 31-bit hash of the
/// client, and the flow's slot in `client_of` the address itself.
fn client_tag(a: &[u8; 16], k: u32) -> u32 {
    let lo = u64::from_ne_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]);
    let hi = u64::from_ne_bytes([a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]]);
    let h = (lo ^ hi.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 33) as u32).wrapping_add(k) & !ICMP_FLAG
}

/// Stateful NAT64.
pub struct Nat64 {
    pool: [u8; 4],
    prefix: [u8; 16],
    capacity: usize,
    table: FlowTable,
    /// The client address of each flow, by flow index.
    client_of: Vec<[u8; 16]>,
    next_port: u16,
    last_reap: i64,
    /// The clock at the last packet, for exported idle times.
    now: i64,
    failures: u64,
    drops: u64,
}

/// The flow-table index of a protocol: TCP apart, UDP and ICMP together.
fn map_of(proto: u8) -> usize {
    usize::from(proto != ip::PROTO_TCP)
}

impl Nat64 {
    fn embedded(&self, a: &[u8; 16]) -> Option<[u8; 4]> {
        (a[..12] == self.prefix[..12]).then(|| [a[12], a[13], a[14], a[15]])
    }

    fn synthesized(&self, a: [u8; 4]) -> [u8; 16] {
        let mut x = self.prefix;
        x[12..].copy_from_slice(&a);
        x
    }

    fn reap(&mut self, now: i64) {
        self.now = now;
        if now - self.last_reap < 1000 {
            return;
        }
        self.last_reap = now;
        self.table.expire(now, |_| {});
    }

    fn client(&self, i: u32) -> [u8; 16] {
        self.client_of.get(i as usize).copied().unwrap_or_default()
    }

    /// The existing flow of `proto` from `src:sport` to `dst:dport`
    /// (`sport` the echo identifier for ICMP), or else a free forward key
    /// for it (`None` when every tag of `src` is taken).
    fn find_fwd(
        &self,
        proto: u8,
        src: &[u8; 16],
        sport: u16,
        dst: [u8; 4],
        dport: u16,
    ) -> Result<u32, Option<FlowId>> {
        let icmp = proto == ip::PROTO_ICMP;
        let mut free = None;
        for k in 0..PROBES {
            let tag = client_tag(src, k) | if icmp { ICMP_FLAG } else { 0 };
            let fwd = FlowId::new(tag.to_be_bytes(), sport, dst, if icmp { 0 } else { dport });
            match self.table.lookup(map_of(proto), &fwd) {
                Some((i, 0)) if self.client(i) == *src && self.table.flow(i).proto == proto => {
                    return Ok(i)
                }
                Some(_) => {}
                None => {
                    free.get_or_insert(fwd);
                }
            }
        }
        Err(free)
    }

    /// Installs flow `fwd` to pool port `port` for client `src`.
    fn install(
        &mut self,
        proto: u8,
        fwd: FlowId,
        rkey: FlowId,
        src: &[u8; 16],
        class: Class,
        now: i64,
    ) -> Option<u32> {
        let i = self.table.insert(
            map_of(proto),
            fwd,
            rkey.reverse(),
            [0, 1],
            proto,
            0,
            class,
            now,
        )?;
        let slot = i as usize;
        if self.client_of.len() <= slot {
            self.client_of.resize(slot + 1, [0; 16]);
        }
        self.client_of[slot] = *src;
        Some(i)
    }

    /// The pool port of the mapping for `proto` from `src:sport` to
    /// `dst:dport`, made if needed; `None` when no port or room is left.
    /// For ICMP, `sport` is the echo identifier and `dport` unused.
    fn map_out(
        &mut self,
        proto: u8,
        src: &[u8; 16],
        sport: u16,
        dst: [u8; 4],
        dport: u16,
        now: i64,
    ) -> Option<(u32, u16)> {
        let map = map_of(proto);
        let icmp = proto == ip::PROTO_ICMP;
        let fwd = match self.find_fwd(proto, src, sport, dst, dport) {
            Ok(i) => return Some((i, self.table.flow(i).key[1].dport_host())),
            Err(Some(fwd)) if self.table.len() < self.capacity => fwd,
            Err(_) => {
                self.failures += 1;
                return None;
            }
        };
        for _ in FIRST_PORT..=u16::MAX {
            let port = self.next_port;
            self.next_port = if port == u16::MAX {
                FIRST_PORT
            } else {
                port + 1
            };
            let rkey = if icmp {
                FlowId::new(dst, port, self.pool, port)
            } else {
                FlowId::new(dst, dport, self.pool, port)
            };
            if self.table.contains(map, &rkey) {
                continue;
            }
            let class = match proto {
                ip::PROTO_TCP => Class::TcpNoData,
                ip::PROTO_UDP => Class::Udp,
                _ => Class::Other,
            };
            let i = self.install(proto, fwd, rkey, src, class, now)?;
            return Some((i, port));
        }
        self.failures += 1;
        None
    }

    /// Keeps flow `i` alive, following TCP state for its timeout class.
    fn touch(&mut self, i: u32, reply: bool, proto: u8, l4: &[u8], now: i64) {
        let f = self.table.flow_mut(i);
        let class = match proto {
            ip::PROTO_TCP => {
                let payload = l4.len() > usize::from(l4.get(12).map_or(5, |b| b >> 4)) * 4;
                f.tflags = tcpstate::tcp_update(
                    f.tflags,
                    reply,
                    l4.get(13).copied().unwrap_or(0),
                    payload,
                );
                tcpstate::tcp_class(f.tflags)
            }
            ip::PROTO_UDP => Class::Udp,
            _ => Class::Other,
        };
        self.table.touch(i, class, now);
    }

    /// IPv6 side to IPv4 side.
    fn from6(&mut self, cx: &Ctx, p: &Packet) -> Option<Packet> {
        let off = match p.network_header_offset() {
            Some(o) => usize::try_from(o).ok()?,
            None => 0,
        };
        let b = p.data().get(off..)?;
        let len = ip6::check(b).ok()?;
        let b = &b[..len];
        let t = ip6::transport(b).ok()?;
        if t.fragment.is_some() {
            return None;
        }
        let h = ip6::Ipv6Header::new(b)?;
        let dst4 = self.embedded(&h.dst())?;
        let l4 = &b[t.offset..];
        let now = cx.now().msec();
        self.reap(now);
        if t.proto == ip6::NXT_ICMP6 && l4.len() >= 8 && l4[0] < 128 {
            return self.error6(cx, p, &h, dst4, l4);
        }
        let (proto, sport, dport) = match t.proto {
            ip6::NXT_TCP if l4.len() >= 20 => (ip::PROTO_TCP, ip::get16(l4, 0), ip::get16(l4, 2)),
            ip6::NXT_UDP if l4.len() >= 8 => (ip::PROTO_UDP, ip::get16(l4, 0), ip::get16(l4, 2)),
            ip6::NXT_ICMP6 if l4.len() >= 8 && l4[0] == ECHO6 && l4[1] == 0 => {
                (ip::PROTO_ICMP, ip::get16(l4, 4), 0)
            }
            _ => return None,
        };
        let (i, port) = self.map_out(proto, &h.src(), sport, dst4, dport, now)?;
        self.touch(i, false, proto, l4, now);
        let total = 20 + l4.len();
        let mut q = cx.alloc(total)?;
        let d = q.data_mut();
        let (tc, hlim) = (h.traffic_class(), h.hop_limit());
        xlat::write_ipv4(d, tc, total as u16, true, hlim, proto, &self.pool, &dst4);
        let m = &mut d[20..];
        m.copy_from_slice(l4);
        if proto == ip::PROTO_ICMP {
            m[0] = ECHO4;
            ip::put16(m, 4, port);
            set_sum(m, 2, 0, false);
        } else {
            ip::put16(m, 0, port);
            let s = sum_off(proto).expect("TCP or UDP");
            set_sum(
                m,
                s,
                pseudo4(&self.pool, &dst4, proto, l4.len()),
                proto == ip::PROTO_UDP,
            );
        }
        q.set_ip_header(0, 20);
        q.set_dst_ip_anno(dst4);
        q.set_timestamp(p.timestamp());
        Some(q)
    }

    /// An ICMPv6 error from the IPv6 side about a packet this NAT64
    /// translated from a server (RFC 7915 5.2): an ICMP error from the
    /// pool to the server, quoting that packet as the server sent it.
    fn error6(
        &mut self,
        cx: &Ctx,
        p: &Packet,
        h: &ip6::Ipv6Header,
        dst4: [u8; 4],
        l4: &[u8],
    ) -> Option<Packet> {
        let (ty, code) = (l4[0], l4[1]);
        let word = u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]);
        let (ty4, code4, rest) = xlat::icmp6_error_to_4(ty, code, word)?;
        // The quoted packet went from the server (by its synthesized
        // address) to the client.
        let inner = &l4[8..];
        let ih = ip6::Ipv6Header::new(inner)?;
        let server = self.embedded(&ih.src())?;
        if server != dst4
            || (ih.next_header() == ip6::NXT_ICMP6 && inner.get(40).is_some_and(|&t| t < 128))
        {
            return None;
        }
        let iproto = match ih.next_header() {
            ip6::NXT_ICMP6 => ip::PROTO_ICMP,
            n @ (ip6::NXT_TCP | ip6::NXT_UDP) => n,
            _ => return None,
        };
        let il4 = &inner[ip6::HEADER_LEN..];
        if il4.len() < 8 {
            return None;
        }
        // The client's port (or echo id) and the server's port.
        let (cport, sport) = match iproto {
            ip::PROTO_ICMP => (ip::get16(il4, 4), 0),
            _ => (ip::get16(il4, 2), ip::get16(il4, 0)),
        };
        let i = self
            .find_fwd(iproto, &ih.dst(), cport, server, sport)
            .ok()?;
        let pport = self.table.flow(i).key[1].dport_host();
        let quoted = il4.len().min(548 - 20 - 8 - 20);
        let total = 20 + 8 + 20 + quoted;
        let mut q = cx.alloc(total)?;
        let d = q.data_mut();
        let (total, hlim, icmp) = (total as u16, h.hop_limit(), ip::PROTO_ICMP);
        xlat::write_ipv4(d, 0, total, false, hlim, icmp, &self.pool, &server);
        let m = &mut d[20..];
        m[..8].fill(0);
        m[0] = ty4;
        m[1] = code4;
        m[4..8].copy_from_slice(&rest.to_be_bytes());
        let in4 = &mut m[8..];
        let itotal = (20 + usize::from(ih.payload_len())) as u16;
        let ihlim = ih.hop_limit();
        xlat::write_ipv4(in4, 0, itotal, false, ihlim, iproto, &server, &self.pool);
        let t = &mut in4[20..];
        t.copy_from_slice(&il4[..quoted]);
        match iproto {
            ip::PROTO_ICMP => {
                t[0] = if t[0] == ECHO_REPLY6 {
                    ECHO_REPLY4
                } else {
                    t[0]
                };
                ip::put16(t, 4, pport);
            }
            _ => ip::put16(t, 2, pport),
        }
        set_sum(m, 2, 0, false);
        q.set_ip_header(0, 20);
        q.set_dst_ip_anno(server);
        q.set_timestamp(p.timestamp());
        Some(q)
    }

    /// The flow an IPv4 packet from the server side belongs to, by its
    /// (source, destination) and transport header: (flow, client
    /// address, client port or echo id).
    fn lookup4(
        &self,
        proto: u8,
        src: [u8; 4],
        dst: [u8; 4],
        l4: &[u8],
        reversed: bool,
    ) -> Option<(u32, [u8; 16], u16)> {
        let key = match proto {
            ip::PROTO_TCP | ip::PROTO_UDP if l4.len() >= 4 => {
                let (s, d) = (ip::get16(l4, 0), ip::get16(l4, 2));
                if reversed {
                    FlowId::new(dst, d, src, s)
                } else {
                    FlowId::new(src, s, dst, d)
                }
            }
            ip::PROTO_ICMP if l4.len() >= 8 => {
                let id = ip::get16(l4, 4);
                let server = if reversed { dst } else { src };
                let pool = if reversed { src } else { dst };
                FlowId::new(server, id, pool, id)
            }
            _ => return None,
        };
        let map = map_of(proto);
        let (i, dir) = self.table.lookup(map, &key)?;
        let f = self.table.flow(i);
        if dir != 1 || f.proto != proto {
            return None;
        }
        Some((i, self.client(i), f.key[0].sport_host()))
    }

    /// IPv4 side to IPv6 side.
    fn from4(&mut self, cx: &Ctx, p: &Packet) -> Option<Packet> {
        let off = match p.network_header_offset() {
            Some(o) => usize::try_from(o).ok()?,
            None => 0,
        };
        let b = p.data().get(off..)?;
        let (hlen, len) = ip::check(b, true).ok()?;
        let b = &b[..len];
        let h = ip::Ipv4Header::new(b)?;
        if h.is_fragment() || h.dst() != self.pool {
            return None;
        }
        let l4 = &b[hlen..];
        let now = cx.now().msec();
        self.reap(now);
        let proto = h.protocol();
        if proto == ip::PROTO_ICMP && l4.len() >= 8 && l4[0] != ECHO_REPLY4 {
            return self.error4(cx, p, &h, l4);
        }
        if proto == ip::PROTO_ICMP && (l4.len() < 8 || l4[1] != 0) {
            return None;
        }
        let (i, client, cport) = self.lookup4(proto, h.src(), h.dst(), l4, false)?;
        self.touch(i, true, proto, l4, now);
        let src6 = self.synthesized(h.src());
        let nxt = xlat::nxt_of(proto);
        let mut q = cx.alloc(ip6::HEADER_LEN + l4.len())?;
        let d = q.data_mut();
        xlat::write_ipv6(d, l4.len() as u16, nxt, h.tos(), h.ttl(), &src6, &client);
        let m = &mut d[ip6::HEADER_LEN..];
        m.copy_from_slice(l4);
        if proto == ip::PROTO_ICMP {
            m[0] = ECHO_REPLY6;
            ip::put16(m, 4, cport);
            ip6::set_upper_checksum(&src6, &client, nxt, m, 2);
        } else {
            ip::put16(m, 2, cport);
            ip6::set_upper_checksum(&src6, &client, nxt, m, sum_off(proto).expect("TCP or UDP"));
        }
        q.set_ip_header(0, ip6::HEADER_LEN);
        q.set_dst_ip6_anno(client);
        q.set_timestamp(p.timestamp());
        Some(q)
    }

    /// An ICMP error about a packet this NAT64 translated (RFC 7915 4.2).
    fn error4(&mut self, cx: &Ctx, p: &Packet, h: &ip::Ipv4Header, l4: &[u8]) -> Option<Packet> {
        let (ty, code) = (l4[0], l4[1]);
        let rest = ip::get16(l4, 6);
        let (ty6, code6, word) = xlat::icmp4_error_to_6(ty, code, rest)?;
        // The quoted packet went from the pool to the server.
        let inner = &l4[8..];
        let ihlen = usize::from(inner.first()? & 0x0F) * 4;
        let ih = ip::Ipv4Header::new(inner)?;
        if ih.version() != 4 || ihlen < 20 || inner.len() < ihlen || ih.src() != self.pool {
            return None;
        }
        let iproto = ih.protocol();
        let il4 = &inner[ihlen..];
        let (_, client, cport) = self.lookup4(iproto, ih.src(), ih.dst(), il4, true)?;
        let server6 = self.synthesized(ih.dst());
        let inxt = xlat::nxt_of(iproto);
        let ipl = usize::from(ih.total_len()).saturating_sub(ihlen);
        let quoted = il4.len().min(1280 - 48 - ip6::HEADER_LEN);
        let msg_len = 8 + ip6::HEADER_LEN + quoted;
        let src6 = self.synthesized(h.src());
        let mut q = cx.alloc(ip6::HEADER_LEN + msg_len)?;
        let d = q.data_mut();
        ip6::write_header(d, msg_len as u16, ip6::NXT_ICMP6, h.ttl(), &src6, &client);
        let m = &mut d[ip6::HEADER_LEN..];
        m[..8].fill(0);
        m[0] = ty6;
        m[1] = code6;
        m[4..8].copy_from_slice(&word.to_be_bytes());
        let inner6 = &mut m[8..];
        ip6::write_header(inner6, ipl as u16, inxt, ih.ttl(), &client, &server6);
        let t = &mut inner6[ip6::HEADER_LEN..];
        t.copy_from_slice(&il4[..quoted]);
        match iproto {
            ip::PROTO_ICMP if t.len() >= 8 => {
                t[0] = if t[0] == ECHO4 { ECHO6 } else { t[0] };
                ip::put16(t, 4, cport);
            }
            ip::PROTO_TCP | ip::PROTO_UDP if t.len() >= 2 => ip::put16(t, 0, cport),
            _ => {}
        }
        ip6::set_upper_checksum(&src6, &client, ip6::NXT_ICMP6, m, 2);
        q.set_ip_header(0, ip6::HEADER_LEN);
        q.set_dst_ip6_anno(client);
        q.set_timestamp(p.timestamp());
        Some(q)
    }
}

/// Format version of the exported records.
const VERSION: u16 = 1;

/// One exported mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MappingRecord {
    proto: u8,
    client: [u8; 16],
    client_port: u16,
    pool_port: u16,
    server: [u8; 4],
    server_port: u16,
    tflags: u8,
    idle_ms: i64,
}

impl Nat64 {
    /// The mappings whose IPv4 side matches `filter`, with their flows.
    fn records(&self, filter: &FlowFilter) -> Vec<(u32, MappingRecord)> {
        self.table
            .live_flows()
            .filter_map(|i| {
                let f = self.table.flow(i);
                let r = MappingRecord {
                    proto: f.proto,
                    client: self.client(i),
                    client_port: f.key[0].sport_host(),
                    pool_port: f.key[1].dport_host(),
                    server: f.key[1].saddr,
                    server_port: f.key[1].sport_host(),
                    tflags: f.tflags,
                    idle_ms: (self.now - f.last).max(0),
                };
                let k = FlowKey {
                    src: self.pool,
                    dst: r.server,
                    proto: r.proto,
                    sport: r.pool_port,
                    dport: r.server_port,
                };
                filter.matches_either(&k).then_some((i, r))
            })
            .collect()
    }
}

impl StatefulElement for Nat64 {
    fn info(&self) -> StateInfo {
        // Flows are selected by their IPv4 side.
        StateInfo {
            version: VERSION,
            per_flow: Some((Role::Supporting, Fields::FLOW)),
            shared_supporting: false,
            shared_reporting: false,
            events: false,
        }
    }

    fn export_flows(&self, filter: &FlowFilter) -> Vec<u8> {
        let recs: Vec<MappingRecord> = self.records(filter).into_iter().map(|(_, r)| r).collect();
        encode("NAT64", VERSION, &recs)
    }

    fn import_flows(&mut self, blob: &[u8], now: Timestamp) -> Result<usize, StateError> {
        let recs: Vec<MappingRecord> = decode("NAT64", VERSION, blob)?;
        let now_ms = now.msec();
        let mut n = 0;
        for r in recs {
            if !matches!(r.proto, ip::PROTO_TCP | ip::PROTO_UDP | ip::PROTO_ICMP) {
                continue;
            }
            if self.table.len() >= self.capacity {
                return Err(StateError::NoRoom);
            }
            let rkey = FlowId::new(r.server, r.server_port, self.pool, r.pool_port);
            if let Some((old, _)) = self.table.lookup(map_of(r.proto), &rkey) {
                self.table.remove(old);
            }
            let (p, c, srv, sp) = (r.proto, &r.client, r.server, r.server_port);
            let fwd = match self.find_fwd(p, c, r.client_port, srv, sp) {
                Ok(old) => {
                    self.table.remove(old);
                    self.find_fwd(p, c, r.client_port, srv, sp)
                }
                other => other,
            };
            let Err(Some(fwd)) = fwd else {
                continue;
            };
            let class = match r.proto {
                ip::PROTO_TCP => tcpstate::tcp_class(r.tflags),
                ip::PROTO_UDP => Class::Udp,
                _ => Class::Other,
            };
            let last = now_ms - r.idle_ms.max(0);
            // Out of memory the rest is not restored; the flows are remade
            // by their next packets.
            let Some(i) = self.install(r.proto, fwd, rkey, &r.client, class, last) else {
                break;
            };
            self.table.flow_mut(i).tflags = r.tflags;
            n += 1;
        }
        Ok(n)
    }

    fn delete_flows(&mut self, filter: &FlowFilter) -> usize {
        let gone: Vec<u32> = self.records(filter).into_iter().map(|(i, _)| i).collect();
        for &i in &gone {
            self.table.remove(i);
        }
        gone.len()
    }
}

impl Element for Nat64 {
    fn state(&mut self) -> Option<&mut dyn StatefulElement> {
        Some(self)
    }

    fn push(&mut self, cx: &Ctx, port: usize, p: Packet) {
        let q = if port == 0 {
            self.from6(cx, &p)
        } else {
            self.from4(cx, &p)
        };
        cx.kill(p);
        match q {
            Some(q) => cx.push(port, q),
            None => self.drops += 1,
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("mapping_count"),
            HandlerDecl::read("mapping_failures"),
            HandlerDecl::read("drops"),
            HandlerDecl::read("table"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "mapping_count" => self.table.len().to_string(),
            "mapping_failures" => self.failures.to_string(),
            "drops" => self.drops.to_string(),
            _ => {
                let mut s = String::new();
                for i in self.table.live_flows() {
                    let f = self.table.flow(i);
                    let proto = match f.proto {
                        ip::PROTO_TCP => "tcp",
                        ip::PROTO_UDP => "udp",
                        _ => "icmp",
                    };
                    let _ = writeln!(
                        s,
                        "{proto} {} {} => {} {} => {} {}",
                        Ipv6(self.client(i)),
                        f.key[0].sport_host(),
                        Ipv4(self.pool),
                        f.key[1].dport_host(),
                        Ipv4(f.key[1].saddr),
                        f.key[1].sport_host(),
                    );
                }
                s
            }
        }
    }

    fn take_state(&mut self, old: &mut dyn Element, _cx: &Ctx) {
        if let Some(o) = old.downcast_mut::<Nat64>() {
            if o.pool == self.pool && o.prefix == self.prefix {
                let timeouts = self.table.timeouts;
                core::mem::swap(&mut self.table, &mut o.table);
                self.table.timeouts = timeouts;
                core::mem::swap(&mut self.client_of, &mut o.client_of);
                self.next_port = o.next_port;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::{checksum, ip, ip6};
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    fn a6(s: &str) -> [u8; 16] {
        s.parse::<core::net::Ipv6Addr>().unwrap().octets()
    }

    fn setup() -> crate::router::Router {
        router_from_source(
            "Idle -> [0]nat :: NAT64(192.0.2.1, CAPACITY 3); Idle -> [1]nat;
             nat[0] -> v4 :: TestSink; nat[1] -> v6 :: TestSink;",
        )
        .0
    }

    fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
        let mut t = alloc::vec![0u8; 24];
        ip::put16(&mut t, 0, sport);
        ip::put16(&mut t, 2, dport);
        t[12] = 0x50;
        t[13] = flags;
        t[20..].copy_from_slice(b"GET ");
        t
    }

    #[test]
    fn tcp_round_trip_through_the_pool() {
        let r = setup();
        let nat = r.find("nat").unwrap();
        let client = a6("fd00::1");
        let server6 = a6("64:ff9b::198.51.100.7");
        let syn = ip6::build(&client, &server6, ip6::NXT_TCP, 64, &tcp(40000, 80, 0x02));
        r.inject(nat, 0, Packet::from_slice(&syn));
        let out = sink_contents(&r, "v4");
        let v4 = &out[0].1;
        let h = ip::Ipv4Header::new(v4).unwrap();
        assert_eq!(
            (h.src(), h.dst(), h.protocol(), h.ttl()),
            ([192, 0, 2, 1], [198, 51, 100, 7], 6, 64)
        );
        assert_eq!(ip::check(v4, true), Ok((20, 44)));
        let pport = ip::get16(v4, 20);
        assert_eq!((pport, ip::get16(v4, 22)), (1024, 80));
        // The TCP checksum is right over the IPv4 pseudo-header.
        let sum = checksum::finish(checksum::add(
            super::pseudo4(&h.src(), &h.dst(), 6, 24),
            &v4[20..],
        ));
        assert_eq!(sum, 0);
        // The reply comes back to the client.
        let reply = ip::build(
            [198, 51, 100, 7],
            [192, 0, 2, 1],
            6,
            50,
            &tcp(80, pport, 0x12),
        );
        r.inject(nat, 1, Packet::from_slice(&reply));
        let back = &sink_contents(&r, "v6")[0].1;
        let h6 = ip6::Ipv6Header::new(back).unwrap();
        assert_eq!((h6.src(), h6.dst(), h6.hop_limit()), (server6, client, 50));
        assert_eq!((ip::get16(back, 40), ip::get16(back, 42)), (80, 40000));
        assert_eq!(ip6::upper_checksum(&server6, &client, 6, &back[40..]), 0);
        assert_eq!(r.read("nat.mapping_count").unwrap(), "1");
        assert_eq!(
            r.read("nat.table").unwrap(),
            "tcp fd00::1 40000 => 192.0.2.1 1024 => 198.51.100.7 80\n"
        );
        // A second packet of the flow reuses the mapping.
        r.inject(nat, 0, Packet::from_slice(&syn));
        assert_eq!(ip::get16(&sink_contents(&r, "v4")[1].1, 20), 1024);
        // Unmapped IPv4 traffic and non-prefix IPv6 destinations are dropped.
        let stray = ip::build(
            [198, 51, 100, 7],
            [192, 0, 2, 1],
            6,
            50,
            &tcp(80, 999, 0x12),
        );
        r.inject(nat, 1, Packet::from_slice(&stray));
        let off = ip6::build(&client, &a6("2001:db8::1"), ip6::NXT_TCP, 64, &tcp(1, 2, 2));
        r.inject(nat, 0, Packet::from_slice(&off));
        assert_eq!(r.read("nat.drops").unwrap(), "2");
    }

    #[test]
    fn ping_and_icmp_errors_are_translated() {
        let r = setup();
        let nat = r.find("nat").unwrap();
        let client = a6("fd00::1");
        let server6 = a6("64:ff9b::10.0.0.9");
        let echo = [128, 0, 0, 0, 0x33, 0x44, 0, 1, 9, 9];
        r.inject(
            nat,
            0,
            Packet::from_slice(&ip6::build(&client, &server6, ip6::NXT_ICMP6, 64, &echo)),
        );
        let v4 = sink_contents(&r, "v4")[0].1.clone();
        assert_eq!((v4[9], v4[20]), (1, 8));
        assert_eq!(checksum::checksum(&v4[20..]), 0);
        let mut reply = v4[20..].to_vec();
        reply[0] = 0;
        ip::put16(&mut reply, 2, 0);
        let c = checksum::checksum(&reply);
        ip::put16(&mut reply, 2, c);
        r.inject(
            nat,
            1,
            Packet::from_slice(&ip::build([10, 0, 0, 9], [192, 0, 2, 1], 1, 60, &reply)),
        );
        let back = sink_contents(&r, "v6")[0].1.clone();
        assert_eq!((back[40], ip::get16(&back, 44)), (129, 0x3344));
        assert_eq!(ip6::upper_checksum(&server6, &client, 58, &back[40..]), 0);
        // A router on the way says fragmentation needed, quoting the echo.
        let mut err = alloc::vec![3, 4, 0, 0, 0, 0, 0x05, 0x78];
        err.extend_from_slice(&v4[..28]);
        let c = checksum::checksum(&err);
        ip::put16(&mut err, 2, c);
        r.inject(
            nat,
            1,
            Packet::from_slice(&ip::build([10, 0, 0, 254], [192, 0, 2, 1], 1, 60, &err)),
        );
        let e6 = sink_contents(&r, "v6")[1].1.clone();
        assert_eq!((e6[40], e6[41]), (2, 0));
        assert_eq!(u32::from_be_bytes([e6[44], e6[45], e6[46], e6[47]]), 1420);
        assert_eq!(e6[8..24], a6("64:ff9b::10.0.0.254"));
        // The quoted packet is the client's own.
        assert_eq!(e6[48 + 8..48 + 24], client);
        assert_eq!(ip::get16(&e6, 48 + 44), 0x3344);
        assert_eq!(
            ip6::upper_checksum(&e6[8..24].try_into().unwrap(), &client, 58, &e6[40..]),
            0
        );
    }

    #[test]
    fn mappings_move_to_another_instance() {
        let a = setup();
        let b = setup();
        let nat = a.find("nat").unwrap();
        let client = a6("fd00::1");
        let server6 = a6("64:ff9b::198.51.100.7");
        for sport in [40000, 40001] {
            let syn = ip6::build(&client, &server6, ip6::NXT_TCP, 64, &tcp(sport, 80, 0x02));
            a.inject(nat, 0, Packet::from_slice(&syn));
        }
        let only_first = crate::state::FlowFilter::parse("src port 1024").unwrap();
        let blob = a
            .with_element(nat, |e, _| e.state().unwrap().export_flows(&only_first))
            .unwrap();
        let now = b.now();
        let n = b.with_element(nat, |e, _| e.state().unwrap().import_flows(&blob, now));
        assert_eq!(n, Some(Ok(1)));
        assert_eq!(
            b.read("nat.table").unwrap(),
            "tcp fd00::1 40000 => 192.0.2.1 1024 => 198.51.100.7 80\n"
        );
        // The importing instance answers the server's reply for the client.
        let reply = ip::build(
            [198, 51, 100, 7],
            [192, 0, 2, 1],
            6,
            50,
            &tcp(80, 1024, 0x12),
        );
        b.inject(nat, 1, Packet::from_slice(&reply));
        assert_eq!(sink_contents(&b, "v6")[0].1[24..40], client);
        let gone = a.with_element(nat, |e, _| e.state().unwrap().delete_flows(&only_first));
        assert_eq!(gone, Some(1));
        assert_eq!(a.read("nat.mapping_count").unwrap(), "1");
        let bad = b.with_element(nat, |e, _| e.state().unwrap().import_flows(&[1, 2, 3], now));
        assert!(matches!(bad, Some(Err(_))));
    }

    #[test]
    fn icmp6_errors_from_the_client_reach_the_server() {
        let r = setup();
        let nat = r.find("nat").unwrap();
        let client = a6("fd00::1");
        let server6 = a6("64:ff9b::198.51.100.7");
        let req = ip6::build(
            &client,
            &server6,
            ip6::NXT_UDP,
            64,
            &[0x9c, 0x40, 0, 53, 0, 8, 0, 0],
        );
        r.inject(nat, 0, Packet::from_slice(&req));
        let pport = ip::get16(&sink_contents(&r, "v4")[0].1, 20);
        // The server's answer, as the client got it, and the client's
        // port unreachable about it.
        let answer = ip6::build(
            &server6,
            &client,
            ip6::NXT_UDP,
            60,
            &[0, 53, 0x9c, 0x40, 0, 8, 0, 0],
        );
        let mut err = alloc::vec![1, 4, 0, 0, 0, 0, 0, 0];
        err.extend_from_slice(&answer);
        let e = ip6::build(&client, &server6, ip6::NXT_ICMP6, 64, &err);
        r.inject(nat, 0, Packet::from_slice(&e));
        let v4 = sink_contents(&r, "v4")[1].1.clone();
        let h = ip::Ipv4Header::new(&v4).unwrap();
        assert_eq!(
            (h.src(), h.dst(), h.protocol()),
            ([192, 0, 2, 1], [198, 51, 100, 7], 1)
        );
        assert_eq!(ip::check(&v4, true).map(|(_, l)| l), Ok(v4.len()));
        assert_eq!((v4[20], v4[21]), (3, 3));
        assert_eq!(checksum::checksum(&v4[20..]), 0);
        // The quoted packet is the server's own: to the pool port.
        let inner = &v4[28..];
        assert_eq!(ip::check(inner, true).map(|(_, l)| l), Ok(28));
        assert_eq!(
            (&inner[12..16], &inner[16..20]),
            (&[198, 51, 100, 7][..], &[192, 0, 2, 1][..])
        );
        assert_eq!((ip::get16(inner, 20), ip::get16(inner, 22)), (53, pport));
        // An error about an unmapped flow is dropped.
        let mut stray = err.clone();
        stray[8 + 40 + 2..8 + 40 + 4].copy_from_slice(&[0, 9]);
        r.inject(
            nat,
            0,
            Packet::from_slice(&ip6::build(&client, &server6, ip6::NXT_ICMP6, 64, &stray)),
        );
        assert_eq!(sink_contents(&r, "v4").len(), 2);
    }

    #[test]
    fn capacity_and_arguments() {
        let r = setup();
        let nat = r.find("nat").unwrap();
        for port in 1..=4 {
            let p = ip6::build(
                &a6("fd00::1"),
                &a6("64:ff9b::1.2.3.4"),
                ip6::NXT_UDP,
                64,
                &[0, port, 0, 53, 0, 8, 0, 0],
            );
            r.inject(nat, 0, Packet::from_slice(&p));
        }
        assert_eq!(r.read("nat.mapping_count").unwrap(), "3");
        assert_eq!(r.read("nat.mapping_failures").unwrap(), "1");
        assert!(build_from_source("Idle -> [0]n :: NAT64(1.2.3.4, PREFIX 64:ff9b::/64); Idle -> [1]n; n[0] -> Discard; n[1] -> Discard;").is_err());
        assert!(build_from_source(
            "Idle -> [0]n :: NAT64(fd00::1); Idle -> [1]n; n[0] -> Discard; n[1] -> Discard;"
        )
        .is_err());
    }
}

//! Tests of the rewriter elements through a router, with crafted packets
//! whose checksums are verified by full recomputation.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::checksum::{add, finish};
use crate::lang::FlatConfig;
use crate::packet::Packet;
use crate::router::Router;
use crate::state::{FlowFilter, Role, StatefulElement};
use crate::testing::{build, flat, router, sink_contents};
use crate::time::{SimClock, Timestamp};

const TCP: u8 = 6;
const UDP: u8 = 17;
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;

type A = [u8; 4];

fn ip(proto: u8, src: A, dst: A, l4: &[u8]) -> Vec<u8> {
    let total = 20 + l4.len();
    let mut v = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0x12,
        0x34,
        0x40,
        0,
        64,
        proto,
        0,
        0,
    ];
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    let c = finish(add(0, &v));
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v.extend_from_slice(l4);
    v
}

fn pseudo(src: A, dst: A, proto: u8, l4: &[u8]) -> u32 {
    let mut acc = add(0, &src);
    acc = add(acc, &dst);
    acc = add(acc, &[0, proto]);
    acc = add(acc, &(l4.len() as u16).to_be_bytes());
    add(acc, l4)
}

fn tcp(src: A, sport: u16, dst: A, dport: u16, flags: u8, payload: usize) -> Vec<u8> {
    let mut l4 = vec![0u8; 20 + payload];
    l4[0..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[4..8].copy_from_slice(&0x0102_0304u32.to_be_bytes());
    l4[12] = 5 << 4;
    l4[13] = flags;
    l4[14] = 0xff;
    for (k, b) in l4[20..].iter_mut().enumerate() {
        *b = k as u8 ^ 0x5a;
    }
    let c = finish(pseudo(src, dst, TCP, &l4));
    l4[16..18].copy_from_slice(&c.to_be_bytes());
    ip(TCP, src, dst, &l4)
}

fn udp(src: A, sport: u16, dst: A, dport: u16, payload: usize, csum: bool) -> Vec<u8> {
    let mut l4 = vec![0u8; 8 + payload];
    l4[0..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[4..6].copy_from_slice(&((8 + payload) as u16).to_be_bytes());
    for (k, b) in l4[8..].iter_mut().enumerate() {
        *b = k as u8 ^ 0x33;
    }
    if csum {
        let mut c = finish(pseudo(src, dst, UDP, &l4));
        if c == 0 {
            c = 0xffff;
        }
        l4[6..8].copy_from_slice(&c.to_be_bytes());
    }
    ip(UDP, src, dst, &l4)
}

fn icmp(src: A, dst: A, typ: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut l4 = vec![typ, code, 0, 0];
    l4.extend_from_slice(&rest);
    l4.extend_from_slice(body);
    let c = finish(add(0, &l4));
    l4[2..4].copy_from_slice(&c.to_be_bytes());
    ip(1, src, dst, &l4)
}

/// Full recomputation of every checksum the packet carries.
fn verify(p: &[u8]) {
    let hl = (p[0] & 15) as usize * 4;
    assert_eq!(finish(add(0, &p[..hl])), 0, "IP header checksum");
    let src: A = p[12..16].try_into().unwrap();
    let dst: A = p[16..20].try_into().unwrap();
    let l4 = &p[hl..];
    match p[9] {
        TCP => assert_eq!(finish(pseudo(src, dst, TCP, l4)), 0, "TCP checksum"),
        UDP if l4[6..8] != [0, 0] => {
            assert_eq!(finish(pseudo(src, dst, UDP, l4)), 0, "UDP checksum")
        }
        1 => {
            assert_eq!(finish(add(0, l4)), 0, "ICMP checksum");
            if matches!(l4[0], 3 | 11) {
                verify_quoted(&l4[8..]);
            }
        }
        _ => {}
    }
}

/// The quoted header of an ICMP error: IP checksum, and the transport
/// checksum's change matches the addresses and ports (it covers the whole
/// original segment, of which only the first bytes are quoted).
fn verify_quoted(q: &[u8]) {
    let hl = (q[0] & 15) as usize * 4;
    assert_eq!(finish(add(0, &q[..hl])), 0, "quoted IP header checksum");
}

fn addr(p: &[u8]) -> (A, u16, A, u16) {
    let hl = (p[0] & 15) as usize * 4;
    (
        p[12..16].try_into().unwrap(),
        u16::from_be_bytes([p[hl], p[hl + 1]]),
        p[16..20].try_into().unwrap(),
        u16::from_be_bytes([p[hl + 2], p[hl + 3]]),
    )
}

const IN1: A = [10, 0, 0, 1];
const IN2: A = [10, 0, 0, 2];
const EXT: A = [1, 2, 3, 4];
const SRV: A = [192, 168, 1, 10];

/// The graph of a rewriter `class(config)` with `nin` inputs (from `Idle`
/// sources) and `nout` outputs into sink `s`.
fn rig_graph(class: &str, config: &str, nin: usize, nout: usize) -> FlatConfig {
    let names: Vec<String> = (0..nin).map(|i| format!("src{i}")).collect();
    let mut els = vec![("rw", class, config), ("s", "TestSink", "")];
    els.extend(names.iter().map(|n| (n.as_str(), "Idle", "")));
    let conns: Vec<_> = (0..nin)
        .map(|i| (2 + i, 0, 0, i))
        .chain((0..nout).map(|o| (0, o, 1, o)))
        .collect();
    flat(&els, &conns)
}

/// A rewriter router built from [`rig_graph`].
fn rig(class: &str, config: &str, nin: usize, nout: usize) -> Router {
    router(rig_graph(class, config, nin, nout)).0
}

/// The configuration error [`rig_graph`] gives.
fn rig_errors(class: &str, config: &str, nin: usize, nout: usize) -> String {
    match build(rig_graph(class, config, nin, nout)) {
        Ok(_) => panic!("expected a configuration error"),
        Err(e) => format!("{e}"),
    }
}

fn send(r: &Router, port: usize, bytes: Vec<u8>) {
    r.inject(0, port, Packet::from_slice(&bytes));
}

fn out(r: &Router) -> Vec<(usize, Vec<u8>)> {
    sink_contents(r, "s")
}

fn last(r: &Router) -> (usize, Vec<u8>) {
    out(r).pop().expect("a packet came out")
}

fn at(r: &Router, secs: i64) {
    r.clock()
        .advance_to(SimClock::START + Timestamp::new(secs, 0));
    r.run_timers();
}

fn sorted(s: String) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn pattern_rewrites_forward_and_reply_with_correct_checksums() {
    let r = rig(
        "IPRewriter",
        "pattern 1.2.3.4 10000-10999# - - 0 1, drop",
        2,
        2,
    );
    send(&r, 0, tcp(IN1, 40001, SRV, 80, SYN, 0));
    let (port, p) = last(&r);
    assert_eq!(port, 0);
    assert_eq!(addr(&p), (EXT, 10000, SRV, 80));
    verify(&p);
    send(&r, 1, tcp(SRV, 80, EXT, 10000, SYN | ACK, 0));
    let (port, p) = last(&r);
    assert_eq!(port, 1);
    assert_eq!(addr(&p), (SRV, 80, IN1, 40001));
    verify(&p);
    // Reply-side traffic to an unmapped port is dropped by `drop`.
    send(&r, 1, tcp(SRV, 80, EXT, 10001, ACK, 0));
    assert_eq!(out(&r).len(), 2);
    // UDP with and without a checksum.
    send(&r, 0, udp(IN1, 5353, [8, 8, 8, 8], 53, 20, true));
    let (_, p) = last(&r);
    assert_eq!(addr(&p), (EXT, 10001, [8, 8, 8, 8], 53));
    verify(&p);
    send(&r, 0, udp(IN2, 5353, [8, 8, 8, 8], 53, 20, false));
    let (_, p) = last(&r);
    assert_eq!(addr(&p), (EXT, 10002, [8, 8, 8, 8], 53));
    assert_eq!(&p[26..28], &[0, 0], "zero UDP checksum stays zero");
    verify(&p);
    assert_eq!(r.read("rw.table_size").unwrap(), "3");
    assert_eq!(r.read("rw.mapping_failures").unwrap(), "0");
    assert_eq!(
        r.read("rw.patterns").unwrap(),
        "1.2.3.4 10000-10999 - - [3]\n<drop>\n"
    );
}

#[test]
fn table_text_matches_click() {
    let r = rig(
        "IPRewriter",
        "pattern 1.2.3.4 10000-10999# - - 0 1, drop",
        2,
        2,
    );
    send(&r, 0, tcp(IN1, 40001, SRV, 80, SYN, 0));
    send(&r, 0, udp(IN1, 5353, [8, 8, 8, 8], 53, 4, true));
    assert_eq!(
        sorted(r.read("rw.tcp_table").unwrap()),
        vec![
            "(10.0.0.1, 40001, 192.168.1.10, 80) => (1.2.3.4, 10000, 192.168.1.10, 80) [*0 1] i0 exp300",
            "(192.168.1.10, 80, 1.2.3.4, 10000) => (192.168.1.10, 80, 10.0.0.1, 40001) [0 *1] i0 exp300",
        ]
    );
    assert_eq!(
        sorted(r.read("rw.udp_table").unwrap()),
        vec![
            "(10.0.0.1, 5353, 8.8.8.8, 53) => (1.2.3.4, 10001, 8.8.8.8, 53) [*0 1] i0 exp300",
            "(8.8.8.8, 53, 1.2.3.4, 10001) => (8.8.8.8, 53, 10.0.0.1, 5353) [0 *1] i0 exp300",
        ]
    );
    r.write("rw.tcp_lookup", "10.0.0.1 40001 192.168.1.10 80")
        .unwrap();
    assert_eq!(
        r.read("rw.tcp_lookup").unwrap(),
        "1.2.3.4 10000 192.168.1.10 80"
    );
    r.write("rw.tcp_lookup", "10.0.0.9 1 1.1.1.1 80").unwrap();
    assert_eq!(r.read("rw.tcp_lookup").unwrap(), "");
    assert!(r.write("rw.tcp_lookup", "nonsense").is_err());
}

#[test]
fn spec_kinds_pass_keep_drop() {
    let r = rig("IPRewriter", "pass 1, keep 0 1, drop, nochange", 4, 2);
    send(&r, 0, tcp(IN1, 1, SRV, 80, SYN, 0));
    assert_eq!(last(&r).0, 1);
    assert_eq!(r.read("rw.table_size").unwrap(), "0");
    // pass also lets non-TCP/UDP through.
    send(&r, 0, ip(47, IN1, SRV, &[0; 8]));
    assert_eq!(last(&r).0, 1);
    send(&r, 3, ip(47, IN1, SRV, &[0; 8]));
    assert_eq!(last(&r).0, 0);
    // keep: identity mappings, reply to output 1 whatever input it uses.
    let syn = tcp(IN2, 2, SRV, 80, SYN, 0);
    send(&r, 1, syn.clone());
    assert_eq!(last(&r), (0, syn));
    let back = tcp(SRV, 80, IN2, 2, SYN | ACK, 0);
    send(&r, 2, back.clone());
    assert_eq!(last(&r), (1, back));
    // drop
    let n = out(&r).len();
    send(&r, 2, tcp(IN1, 9, SRV, 9, SYN, 0));
    send(&r, 1, ip(47, IN1, SRV, &[0; 8]));
    assert_eq!(out(&r).len(), n);
    assert_eq!(
        r.read("rw.patterns").unwrap(),
        "<nochange>\n<keep> [1]\n<drop>\n<nochange>\n"
    );
}

#[test]
fn configuration_errors_are_clear() {
    let e = rig_errors("IPRewriter", "pattern 1.2.3.4 456-19 - - 0 1", 1, 2);
    assert!(e.contains("input spec 0: bad source port"), "{e}");
    let e = rig_errors("IPRewriter", "pattern 1.2.3.4 1x - - 0 1", 1, 2);
    assert!(e.contains("bad source port"), "{e}");
    let e = rig_errors("IPRewriter", "pattern 1.2.3.4 1-65536 - - 0 1", 1, 2);
    assert!(e.contains("bad source port"), "{e}");
    let e = rig_errors("IPRewriter", "pattern 1.2.3.4 1024 - - 0 2", 1, 2);
    assert!(e.contains("input spec 0: output port out of range"), "{e}");
    let e = rig_errors("IPRewriter", "drop", 2, 1);
    assert!(e.contains("need 2 arguments, one per input port"), "{e}");
    let e = rig_errors("IPRewriter", "frobnicate, drop", 2, 1);
    assert!(e.contains("input spec 0: unknown specification"), "{e}");
    let e = rig_errors("IPRewriter", "drop, s", 2, 1);
    assert!(
        e.contains("input spec 1: element is not an IPMapper"),
        "{e}"
    );
    let e = rig_errors("IPRewriter", "drop 3", 1, 1);
    assert!(e.contains("syntax error, expected 'drop'"), "{e}");
    let e = rig_errors("IPRewriter", "pattern NOPE 0 0", 1, 1);
    assert!(e.contains("no such pattern 'NOPE'"), "{e}");
    let e = rig_errors("IPRewriter", "keep 0", 1, 1);
    assert!(e.contains("bad forward port"), "{e}");
    let e = rig_errors("IPRewriter", "drop, TCP_TIMEOUT soon", 1, 1);
    assert!(e.contains("TCP_TIMEOUT"), "{e}");
}

#[test]
fn sequential_ports_are_reused_across_remote_endpoints() {
    // Click's IPRewriter-03: a port in use towards one remote endpoint is
    // free towards another.
    let r = rig("IPRewriter", "pattern 1.2.3.4 1024-1025# - - 0 1", 1, 2);
    let s1: A = [10, 0, 0, 4];
    let s2: A = [10, 0, 0, 8];
    send(&r, 0, udp(IN1, 7, s1, 1, 0, true));
    assert_eq!(addr(&last(&r).1).1, 1024);
    send(&r, 0, udp(IN2, 7, s1, 1, 0, true));
    assert_eq!(addr(&last(&r).1).1, 1025);
    send(&r, 0, udp(IN1, 7, s2, 2, 0, true));
    assert_eq!(addr(&last(&r).1).1, 1024, "1024 reused for another remote");
    send(&r, 0, udp([10, 0, 0, 3], 7, s1, 1, 0, true));
    assert_eq!(out(&r).len(), 3, "no port left towards 10.0.0.4:1");
    assert_eq!(r.read("rw.mapping_failures").unwrap(), "1");
    // Replies from both remotes to port 1024 reach the right hosts.
    send(&r, 0, udp(s1, 1, EXT, 1024, 0, true));
    assert_eq!(addr(&last(&r).1), (s1, 1, IN1, 7));
    send(&r, 0, udp(s2, 2, EXT, 1024, 0, true));
    assert_eq!(addr(&last(&r).1), (s2, 2, IN1, 7));
}

#[test]
fn own_port_preferred_by_default() {
    let r = rig("IPRewriter", "pattern 1.2.3.4 1024-65535 - - 0 1", 1, 2);
    send(&r, 0, tcp(IN1, 5000, SRV, 80, SYN, 0));
    assert_eq!(addr(&last(&r).1).1, 5000);
    send(&r, 0, tcp(IN2, 5000, SRV, 80, SYN, 0));
    let p = addr(&last(&r).1).1;
    assert!(p != 5000 && p >= 1024);
}

#[test]
fn tcp_lifetimes_follow_connection_state() {
    let r = rig(
        "IPRewriter",
        "pattern 1.2.3.4 2000-2999# - - 0 1, drop, REAP_INTERVAL 1s",
        2,
        2,
    );
    // Flow A: SYN only -> TCP_NODATA_TIMEOUT (300 s).
    send(&r, 0, tcp(IN1, 1, SRV, 80, SYN, 0));
    // Flow B: data both ways -> TCP_TIMEOUT (24 h).
    send(&r, 0, tcp(IN1, 2, SRV, 80, ACK, 10));
    send(&r, 0, tcp(SRV, 80, EXT, 2001, ACK, 10));
    // Flow C: data both ways then FIN both ways -> TCP_DONE_TIMEOUT (240 s).
    send(&r, 0, tcp(IN1, 3, SRV, 80, ACK, 10));
    send(&r, 0, tcp(SRV, 80, EXT, 2002, ACK, 10));
    send(&r, 0, tcp(IN1, 3, SRV, 80, FIN | ACK, 0));
    send(&r, 0, tcp(SRV, 80, EXT, 2002, FIN | ACK, 0));
    // Flow D: RST -> done at once.
    send(&r, 0, tcp(IN1, 4, SRV, 80, SYN, 0));
    send(&r, 0, tcp(SRV, 80, EXT, 2003, RST, 0));
    let t = r.read("rw.tcp_table").unwrap();
    assert!(
        t.contains(
            "(10.0.0.1, 1, 192.168.1.10, 80) => (1.2.3.4, 2000, 192.168.1.10, 80) [*0 1] i0 exp300"
        ),
        "{t}"
    );
    assert!(t.contains("(10.0.0.1, 2, 192.168.1.10, 80) => (1.2.3.4, 2001, 192.168.1.10, 80) [*0 1] i0 exp86400"), "{t}");
    assert!(
        t.contains(
            "(10.0.0.1, 3, 192.168.1.10, 80) => (1.2.3.4, 2002, 192.168.1.10, 80) [*0 1] i0 exp240"
        ),
        "{t}"
    );
    assert!(
        t.contains(
            "(10.0.0.1, 4, 192.168.1.10, 80) => (1.2.3.4, 2003, 192.168.1.10, 80) [*0 1] i0 exp240"
        ),
        "{t}"
    );
    at(&r, 239);
    assert_eq!(r.read("rw.table_size").unwrap(), "4");
    at(&r, 241);
    assert_eq!(r.read("rw.table_size").unwrap(), "2");
    at(&r, 299);
    assert_eq!(r.read("rw.table_size").unwrap(), "2");
    at(&r, 301);
    assert_eq!(r.read("rw.table_size").unwrap(), "1");
    // A packet restarts the clock: B lives 24 h after its last packet.
    send(&r, 0, tcp(IN1, 2, SRV, 80, ACK, 10));
    at(&r, 301 + 86_399);
    assert_eq!(r.read("rw.table_size").unwrap(), "1");
    at(&r, 301 + 86_401);
    assert_eq!(r.read("rw.table_size").unwrap(), "0");
    // Expired mappings no longer translate replies.
    send(&r, 0, tcp(SRV, 80, EXT, 2001, ACK, 10));
    let (_, p) = last(&r);
    assert_eq!(addr(&p).0, EXT, "an unknown reply is treated as a new flow");
}

#[test]
fn syn_after_fin_reopens_direction() {
    let r = rig(
        "TCPRewriter",
        "pattern 1.2.3.4 2000-2999# - - 0 1, REAP_INTERVAL 1s",
        1,
        2,
    );
    send(&r, 0, tcp(IN1, 1, SRV, 80, FIN, 0));
    send(&r, 0, tcp(SRV, 80, EXT, 2000, FIN, 0));
    assert!(r.read("rw.table").unwrap().contains("exp240"));
    send(&r, 0, tcp(IN1, 1, SRV, 80, SYN, 0));
    assert!(r.read("rw.table").unwrap().contains("exp300"));
}

#[test]
fn udp_timeouts_and_streaming() {
    let r = rig(
        "IPRewriter",
        "pattern 1.2.3.4 3000-3999# - - 0 1, UDP_TIMEOUT 30s, UDP_STREAMING_TIMEOUT 100s, REAP_INTERVAL 1s",
        1,
        2,
    );
    let dns: A = [8, 8, 8, 8];
    send(&r, 0, udp(IN1, 1, dns, 53, 4, true));
    // Streaming: three packets and a reply.
    send(&r, 0, udp(IN1, 2, dns, 53, 4, true));
    send(&r, 0, udp(IN1, 2, dns, 53, 4, true));
    send(&r, 0, udp(dns, 53, EXT, 3001, 4, true));
    let t = r.read("rw.udp_table").unwrap();
    assert!(
        t.contains("(10.0.0.1, 1, 8.8.8.8, 53) => (1.2.3.4, 3000, 8.8.8.8, 53) [*0 1] i0 exp30"),
        "{t}"
    );
    assert!(
        t.contains("(10.0.0.1, 2, 8.8.8.8, 53) => (1.2.3.4, 3001, 8.8.8.8, 53) [*0 1] i0 exp100"),
        "{t}"
    );
    at(&r, 29);
    assert_eq!(r.read("rw.table_size").unwrap(), "2");
    at(&r, 31);
    assert_eq!(r.read("rw.table_size").unwrap(), "1");
    at(&r, 101);
    assert_eq!(r.read("rw.table_size").unwrap(), "0");
}

#[test]
fn icmp_error_about_a_mapped_flow_is_translated_back() {
    let r = rig(
        "IPRewriter",
        "pattern 1.2.3.4 10000-10999# - - 0 1, drop",
        2,
        2,
    );
    send(&r, 0, udp(IN1, 5353, SRV, 53, 12, true));
    let (_, fwd) = last(&r);
    // A router on the way says the port is unreachable, quoting the
    // translated packet's header and first 8 bytes.
    let rtr: A = [203, 0, 113, 1];
    let quoted = &fwd[..28];
    send(&r, 1, icmp(rtr, EXT, 3, 3, [0; 4], quoted));
    let (port, p) = last(&r);
    assert_eq!(port, 1);
    verify(&p);
    assert_eq!(&p[12..16], &rtr, "outer source kept");
    assert_eq!(&p[16..20], &IN1, "outer destination translated");
    let q = &p[28..];
    assert_eq!(addr(q), (IN1, 5353, SRV, 53), "quoted header translated");
    // The quoted UDP checksum equals the original packet's.
    let orig = udp(IN1, 5353, SRV, 53, 12, true);
    assert_eq!(&q[26..28], &orig[26..28]);
    assert_eq!(&q[..28], &orig[..28]);
    // An ICMP error about an unknown flow is dropped on a `drop` input.
    let n = out(&r).len();
    let other = udp(EXT, 1, SRV, 2, 0, true);
    send(&r, 1, icmp(rtr, EXT, 3, 3, [0; 4], &other[..28]));
    assert_eq!(out(&r).len(), n);
    // Truncated quotes never panic.
    for cut in 0..28 {
        send(&r, 1, icmp(rtr, EXT, 11, 0, [0; 4], &fwd[..cut]));
    }
}

#[test]
fn icmp_error_from_inside_gets_outside_addresses() {
    let r = rig(
        "IPRewriter",
        "pattern 1.2.3.4 10000-10999# - - 0 1, drop",
        2,
        2,
    );
    send(&r, 0, tcp(IN1, 4000, SRV, 80, SYN, 0));
    send(&r, 1, tcp(SRV, 80, EXT, 10000, SYN | ACK, 0));
    let (_, reply) = last(&r);
    // The inside host rejects the reply with an ICMP error quoting it.
    send(&r, 0, icmp(IN1, SRV, 3, 3, [0; 4], &reply[..28]));
    let (port, p) = last(&r);
    assert_eq!(port, 0);
    verify(&p);
    assert_eq!(&p[12..16], &EXT, "inside address hidden");
    assert_eq!(addr(&p[28..]), (SRV, 80, EXT, 10000));
}

/// Found by the `frames` fuzz target: an error from a router on the inside
/// (not the quoted packet's destination) kept its inside source address.
#[test]
fn icmp_error_from_an_inside_router_gets_the_outside_source() {
    let r = rig(
        "IPRewriter",
        "pattern 1.2.3.4 10000-10999# - - 0 1, drop",
        2,
        2,
    );
    send(&r, 0, tcp(IN1, 4000, SRV, 80, SYN, 0));
    send(&r, 1, tcp(SRV, 80, EXT, 10000, SYN | ACK, 0));
    let (_, reply) = last(&r);
    let inside_router: A = [10, 0, 0, 254];
    send(&r, 0, icmp(inside_router, SRV, 11, 0, [0; 4], &reply[..28]));
    let (port, p) = last(&r);
    assert_eq!(port, 0);
    verify(&p);
    assert_eq!(&p[12..16], &EXT, "inside router's address hidden");
    assert_eq!(&p[16..20], &SRV);
    assert_eq!(addr(&p[28..]), (SRV, 80, EXT, 10000));
}

#[test]
fn two_thousand_concurrent_flows() {
    let r = rig(
        "IPRewriter",
        "pattern 1.2.3.4 20000-29999# - - 0 1, drop",
        2,
        2,
    );
    for i in 0..2000u32 {
        let src = [10, 1, (i >> 8) as u8, i as u8];
        send(&r, 0, tcp(src, 1000 + (i % 7) as u16, SRV, 443, SYN, 0));
    }
    assert_eq!(r.read("rw.table_size").unwrap(), "2000");
    let got = out(&r);
    assert_eq!(got.len(), 2000);
    let mut ports: Vec<u16> = got.iter().map(|(_, p)| addr(p).1).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 2000, "distinct external ports");
    for i in (0..2000u32).rev() {
        send(&r, 1, tcp(SRV, 443, EXT, 20000 + i as u16, SYN | ACK, 0));
        let (port, p) = last(&r);
        assert_eq!(port, 1);
        assert_eq!(addr(&p).2, [10, 1, (i >> 8) as u8, i as u8]);
        assert_eq!(addr(&p).3, 1000 + (i % 7) as u16);
        verify(&p);
    }
}

#[test]
fn round_robin_mapper_spreads_connections_and_keeps_them() {
    let b1: A = [10, 9, 0, 1];
    let b2: A = [10, 9, 0, 2];
    let vip: A = [5, 5, 5, 5];
    let (r, _) = router(flat(
        &[
            (
                "rr",
                "RoundRobinIPMapper",
                "- - 10.9.0.1 - 0 1, - - 10.9.0.2 - 0 1",
            ),
            ("rw", "IPRewriter", "rr, drop"),
            ("s", "TestSink", ""),
            ("i0", "Idle", ""),
            ("i1", "Idle", ""),
        ],
        &[(3, 0, 1, 0), (4, 0, 1, 1), (1, 0, 2, 0), (1, 1, 2, 1)],
    ));
    let rw = r.find("rw").unwrap();
    let mut backend = Vec::new();
    for c in 0..20u16 {
        let client = [172, 16, 0, c as u8 + 1];
        r.inject(
            rw,
            0,
            Packet::from_slice(&tcp(client, 30000 + c, vip, 80, SYN, 0)),
        );
        let (_, p) = sink_contents(&r, "s").pop().unwrap();
        verify(&p);
        backend.push(addr(&p).2);
    }
    assert_eq!(backend.iter().filter(|b| **b == b1).count(), 10);
    assert_eq!(backend.iter().filter(|b| **b == b2).count(), 10);
    assert_ne!(backend[0], backend[1], "consecutive connections alternate");
    // Every later packet of a connection goes to the same backend, and
    // replies look like they come from the virtual address.
    for round in 0..3 {
        for c in (0..20u16).rev() {
            let client = [172, 16, 0, c as u8 + 1];
            r.inject(
                rw,
                0,
                Packet::from_slice(&tcp(client, 30000 + c, vip, 80, ACK, round)),
            );
            let (_, p) = sink_contents(&r, "s").pop().unwrap();
            assert_eq!(addr(&p).2, backend[c as usize]);
            let be = backend[c as usize];
            r.inject(
                rw,
                1,
                Packet::from_slice(&tcp(be, 80, client, 30000 + c, ACK, 3)),
            );
            let (port, p) = sink_contents(&r, "s").pop().unwrap();
            assert_eq!(port, 1);
            assert_eq!(addr(&p), (vip, 80, client, 30000 + c));
            verify(&p);
        }
    }
    assert_eq!(r.read("rw.table_size").unwrap(), "20");
    assert_eq!(r.read("rw.patterns").unwrap(), "<mapper> [20]\n<drop>\n");
}

#[test]
fn named_patterns_are_shared() {
    let (r, _) = router(flat(
        &[
            ("rw", "IPRewriter", "pattern NAT 0 1, pattern NAT 0 1"),
            ("pats", "IPRewriterPatterns", "NAT 1.2.3.4 7000-7999# - -"),
            ("s", "TestSink", ""),
            ("i0", "Idle", ""),
            ("i1", "Idle", ""),
        ],
        &[(3, 0, 0, 0), (4, 0, 0, 1), (0, 0, 2, 0), (0, 1, 2, 1)],
    ));
    r.inject(0, 0, Packet::from_slice(&tcp(IN1, 1, SRV, 80, SYN, 0)));
    r.inject(0, 1, Packet::from_slice(&tcp(IN2, 1, SRV, 80, SYN, 0)));
    let got = sink_contents(&r, "s");
    assert_eq!(addr(&got[0].1).1, 7000);
    assert_eq!(addr(&got[1].1).1, 7001, "one cursor for both inputs");
    let e = match build(flat(
        &[(
            "p",
            "IPRewriterPatterns",
            "X 1.2.3.4 7000-7999# - -, X - - - -",
        )],
        &[],
    )) {
        Ok(_) => panic!("duplicate accepted"),
        Err(e) => format!("{e}"),
    };
    assert!(e.contains("pattern 'X' already defined"), "{e}");
}

#[test]
fn capacity_evicts_earliest_expiring_unguaranteed_flow() {
    let r = rig(
        "IPRewriter",
        "pattern 1.2.3.4 5000-5999# - - 0 1, MAPPING_CAPACITY 3, TCP_GUARANTEE 1s",
        1,
        2,
    );
    send(&r, 0, tcp(IN1, 1, SRV, 80, SYN, 0));
    at(&r, 10);
    send(&r, 0, tcp(IN1, 2, SRV, 80, SYN, 0));
    send(&r, 0, tcp(IN1, 3, SRV, 80, SYN, 0));
    at(&r, 20);
    send(&r, 0, tcp(IN1, 1, SRV, 80, ACK, 0)); // flow 1 used again
                                               // A fourth flow while all three are past no guarantee? Flow 1 is
                                               // guaranteed (last packet now); 2 and 3 expire first, 2 was made first.
    send(&r, 0, tcp(IN1, 4, SRV, 80, SYN, 0));
    assert_eq!(r.read("rw.table_size").unwrap(), "3");
    let t = r.read("rw.tcp_table").unwrap();
    assert!(!t.contains("(10.0.0.1, 2,"), "{t}");
    assert!(
        t.contains("(10.0.0.1, 1,") && t.contains("(10.0.0.1, 3,") && t.contains("(10.0.0.1, 4,")
    );
    // All guaranteed: the new flow is refused.
    send(&r, 0, tcp(IN1, 5, SRV, 80, SYN, 0));
    send(&r, 0, tcp(IN1, 6, SRV, 80, SYN, 0));
    assert_eq!(r.read("rw.table_size").unwrap(), "3");
    assert!(r.read("rw.mapping_failures").unwrap() != "0");
    r.write("rw.capacity", "1").unwrap();
    assert_eq!(r.read("rw.size").unwrap(), "1");
    r.write("rw.clear", "").unwrap();
    assert_eq!(r.read("rw.table_size").unwrap(), "0");
}

fn state_of(r: &Router, f: impl FnOnce(&mut dyn StatefulElement) -> Vec<u8>) -> Vec<u8> {
    r.with_element(0, |e, _| f(e.state().unwrap())).unwrap()
}

#[test]
fn export_import_continues_connections() {
    let cfg = "pattern 1.2.3.4 10000-10999# - - 0 1, drop, REAP_INTERVAL 1s";
    let a = rig("IPRewriter", cfg, 2, 2);
    let b = rig("IPRewriter", cfg, 2, 2);
    // Ten connections through A, some with data, then half the packets.
    let mut seq: Vec<(usize, Vec<u8>)> = Vec::new();
    for c in 0..10u16 {
        let h = [10, 0, 1, c as u8];
        seq.push((0, tcp(h, 100 + c, SRV, 80, SYN, 0)));
        seq.push((1, tcp(SRV, 80, EXT, 10000 + 2 * c, SYN | ACK, 0)));
        seq.push((0, udp(h, 200 + c, SRV, 53, 5, true)));
    }
    for c in 0..10u16 {
        let h = [10, 0, 1, c as u8];
        seq.push((0, tcp(h, 100 + c, SRV, 80, ACK, 10)));
        seq.push((1, tcp(SRV, 80, EXT, 10000 + 2 * c, ACK, 20)));
        seq.push((1, udp(SRV, 53, EXT, 10001 + 2 * c, 5, true)));
        seq.push((0, tcp(h, 100 + c, SRV, 80, FIN, 0)));
    }
    // New connections after the move continue the port sequence.
    for c in 10..13u16 {
        seq.push((0, tcp([10, 0, 2, c as u8], 1, SRV, 80, SYN, 0)));
    }
    let half = 30;
    for (port, p) in &seq[..half] {
        send(&a, *port, p.clone());
    }
    at(&a, 5);
    at(&b, 5);
    let flows = state_of(&a, |s| s.export_flows(&FlowFilter::all()));
    let shared = state_of(&a, |s| s.export_shared(Role::Supporting));
    let n = b
        .with_element(0, |e, cx| {
            let s = e.state().unwrap();
            s.import_shared(Role::Supporting, &shared, cx.now())
                .unwrap();
            s.import_flows(&flows, cx.now()).unwrap()
        })
        .unwrap();
    assert_eq!(n, 20);
    assert_eq!(
        sorted(a.read("rw.tcp_table").unwrap()),
        sorted(b.read("rw.tcp_table").unwrap())
    );
    assert_eq!(
        sorted(a.read("rw.udp_table").unwrap()),
        sorted(b.read("rw.udp_table").unwrap())
    );
    let a0 = out(&a).len();
    for (port, p) in &seq[half..] {
        send(&a, *port, p.clone());
        send(&b, *port, p.clone());
    }
    assert_eq!(out(&a)[a0..], out(&b)[..], "B continues exactly as A");
    assert_eq!(out(&b).len(), seq.len() - half);
    // Timeouts carry over too: the UDP flows and the SYN-only connections
    // expire in both; the TCP connections with data both ways stay.
    at(&a, 400);
    at(&b, 400);
    assert_eq!(b.read("rw.table_size").unwrap(), "10");
    assert_eq!(
        a.read("rw.table_size").unwrap(),
        b.read("rw.table_size").unwrap()
    );
    // A filter selects by either direction; delete removes.
    let f = FlowFilter::parse("src port 10000").unwrap();
    let one = state_of(&a, |s| s.export_flows(&f));
    let c = rig("IPRewriter", cfg, 2, 2);
    let n = c
        .with_element(0, |e, cx| {
            e.state().unwrap().import_flows(&one, cx.now()).unwrap()
        })
        .unwrap();
    assert_eq!(n, 1);
    let deleted = a
        .with_element(0, |e, _| e.state().unwrap().delete_flows(&f))
        .unwrap();
    assert_eq!(deleted, 1);
    // A blob for another class is refused.
    let d = rig("UDPRewriter", "drop", 1, 1);
    let res = d
        .with_element(0, |e, cx| e.state().unwrap().import_flows(&flows, cx.now()))
        .unwrap();
    assert!(res.is_err());
}

#[test]
fn ipaddrrewriter_table_and_any_protocol() {
    let r = rig(
        "IPAddrRewriter",
        "pattern 1.2.3.100-1.2.3.110# - 0 1, drop",
        2,
        2,
    );
    send(&r, 0, tcp(IN1, 1, SRV, 80, SYN, 0));
    let (_, p) = last(&r);
    assert_eq!(addr(&p), ([1, 2, 3, 100], 1, SRV, 80));
    verify(&p);
    send(&r, 0, udp(IN2, 1, SRV, 53, 3, true));
    let (_, p) = last(&r);
    assert_eq!(&p[12..16], &[1, 2, 3, 101]);
    verify(&p);
    // ICMP echo and a reply to the mapped address.
    send(&r, 0, icmp(IN1, SRV, 8, 0, [0, 1, 0, 1], &[1, 2, 3]));
    let (_, p) = last(&r);
    assert_eq!(&p[12..16], &[1, 2, 3, 100]);
    verify(&p);
    send(
        &r,
        1,
        icmp(SRV, [1, 2, 3, 100], 0, 0, [0, 1, 0, 1], &[1, 2, 3]),
    );
    let (port, p) = last(&r);
    assert_eq!(port, 1);
    assert_eq!(&p[16..20], &IN1);
    verify(&p);
    assert_eq!(
        sorted(r.read("rw.table").unwrap()),
        vec![
            "0.0.0.0 => 0.0.0.0 [0 *1] i0 exp7200",
            "0.0.0.0 => 0.0.0.0 [0 *1] i0 exp7200",
            "10.0.0.1 => 1.2.3.100 [*0 1] i0 exp7200",
            "10.0.0.2 => 1.2.3.101 [*0 1] i0 exp7200",
        ]
    );
    assert_eq!(
        r.read("rw.patterns").unwrap(),
        "1.2.3.100-1.2.3.110 - [2]\n<drop>\n"
    );
}

#[test]
fn icmp_ping_rewriter_maps_identifiers() {
    let r = rig(
        "ICMPPingRewriter",
        "pattern 1.2.3.4 100-199# - - 0 1, drop",
        2,
        2,
    );
    send(&r, 0, icmp(IN1, SRV, 8, 0, [0x12, 0x34, 0, 1], &[9; 16]));
    let (port, p) = last(&r);
    assert_eq!(port, 0);
    verify(&p);
    assert_eq!(&p[12..16], &EXT);
    assert_eq!(u16::from_be_bytes([p[24], p[25]]), 100);
    send(&r, 1, icmp(SRV, EXT, 0, 0, [0, 100, 0, 1], &[9; 16]));
    let (port, p) = last(&r);
    assert_eq!(port, 1);
    verify(&p);
    assert_eq!(&p[16..20], &IN1);
    assert_eq!(u16::from_be_bytes([p[24], p[25]]), 0x1234);
    // An unexpected reply is dropped.
    let n = out(&r).len();
    send(&r, 1, icmp(SRV, EXT, 0, 0, [0, 101, 0, 1], &[9; 16]));
    assert_eq!(out(&r).len(), n);
    let t = r.read("rw.table").unwrap();
    assert!(
        t.contains(
            "(10.0.0.1, 192.168.1.10, 4660) => (1.2.3.4, 192.168.1.10, 100) [*0 1] i0 exp300"
        ),
        "{t}"
    );
}

/// Click 1.x's `ICMPPingRewriter(SRC, DST)`, as thomer-nat.click writes
/// it (an AddressInfo name, one input, two outputs): new requests get SRC
/// and identifiers counted from 0, replies go back on output 1, and a
/// reply of no mapping passes unchanged on output 1.
#[test]
fn icmp_ping_rewriter_click1_form() {
    let (r, _) = crate::testing::router_from_source(
        "AddressInfo(ex 1.2.3.4 00:01:02:03:04:05);
         Idle -> rw :: ICMPPingRewriter(ex, -);
         rw[0] -> s :: TestSink; rw[1] -> [1]s;",
    );
    let rw = r.find("rw").unwrap();
    let send = |p: Vec<u8>| r.inject(rw, 0, Packet::from_slice(&p));
    send(icmp(IN1, SRV, 8, 0, [0x12, 0x34, 0, 1], &[9; 16]));
    send(icmp(IN2, SRV, 8, 0, [0x12, 0x34, 0, 1], &[9; 16]));
    let o = out(&r);
    for (k, (port, p)) in o.iter().enumerate() {
        assert_eq!(*port, 0);
        verify(p);
        assert_eq!((&p[12..16], &p[16..20]), (&EXT[..], &SRV[..]));
        assert_eq!(u16::from_be_bytes([p[24], p[25]]), k as u16);
    }
    send(icmp(SRV, EXT, 0, 0, [0, 1, 0, 1], &[9; 16]));
    let (port, p) = last(&r);
    assert_eq!(port, 1);
    verify(&p);
    assert_eq!(&p[16..20], &IN2);
    assert_eq!(u16::from_be_bytes([p[24], p[25]]), 0x1234);
    let stray = icmp(SRV, EXT, 0, 0, [0, 77, 0, 1], &[9; 16]);
    send(stray.clone());
    assert_eq!(last(&r), (1, stray));
    // Other ICMP is not the rewriter's: dropped, as in Click 1.x.
    let n = out(&r).len();
    send(icmp(IN1, SRV, 13, 0, [0, 1, 0, 1], &[0; 12]));
    assert_eq!(out(&r).len(), n);
}

/// The Click 1.x form with two inputs and one output: DST rewritten,
/// everything on output 0, and input 1 drops what has no mapping.
#[test]
fn icmp_ping_rewriter_click1_form_second_input_drops() {
    let r = rig("ICMPPingRewriter", "-, 192.168.1.99, DST_ANNO false", 2, 1);
    send(&r, 0, icmp(IN1, SRV, 8, 0, [0, 9, 0, 1], &[1; 8]));
    let (port, p) = last(&r);
    assert_eq!(port, 0);
    verify(&p);
    assert_eq!((&p[12..16], &p[16..20]), (&IN1[..], &[192, 168, 1, 99][..]));
    assert_eq!(u16::from_be_bytes([p[24], p[25]]), 0);
    send(
        &r,
        1,
        icmp([192, 168, 1, 99], IN1, 0, 0, [0, 0, 0, 1], &[1; 8]),
    );
    let (port, p) = last(&r);
    assert_eq!(port, 0);
    assert_eq!((&p[12..16], &p[16..20]), (&SRV[..], &IN1[..]));
    assert_eq!(u16::from_be_bytes([p[24], p[25]]), 9);
    let n = out(&r).len();
    send(&r, 1, icmp(SRV, IN1, 0, 0, [0, 5, 0, 1], &[1; 8]));
    send(&r, 1, icmp(IN2, SRV, 8, 0, [0, 5, 0, 1], &[1; 8]));
    assert_eq!(out(&r).len(), n);
    let e = rig_errors("ICMPPingRewriter", "1.2.3.4, -", 1, 3);
    assert!(e.contains("Click 1.x form"), "{e}");
    // One address is not the old form (it had two arguments), nor a spec.
    let e = rig_errors("ICMPPingRewriter", "1.2.3.4", 1, 2);
    assert!(e.contains("unknown specification"), "{e}");
}

#[test]
fn udprewriter_and_tcprewriter_basics() {
    let r = rig("UDPRewriter", "pattern 1.2.3.4 4000-4999# - - 0 1", 1, 2);
    send(&r, 0, udp(IN1, 9, SRV, 53, 1, true));
    let (_, p) = last(&r);
    assert_eq!(addr(&p).1, 4000);
    verify(&p);
    send(&r, 0, tcp(IN1, 9, SRV, 80, SYN, 0));
    let (_, p) = last(&r);
    assert_eq!(addr(&p).1, 4001);
    verify(&p);
    assert!(r.read("rw.table").unwrap().contains("exp300"));
    let t = rig("TCPRewriter", "pattern 1.2.3.4 4000-4999# - - 0 1", 1, 2);
    send(&t, 0, udp(IN1, 9, SRV, 53, 1, true));
    assert!(out(&t).is_empty(), "TCPRewriter drops UDP");
    send(&t, 0, tcp(IN1, 9, SRV, 80, SYN, 0));
    verify(&last(&t).1);
    t.write("rw.lookup", "10.0.0.1 9 192.168.1.10 80").unwrap();
    assert_eq!(t.read("rw.lookup").unwrap(), "1.2.3.4 4000 192.168.1.10 80");
}

#[test]
fn dst_anno_is_set() {
    let (r, _) = router(flat(
        &[
            ("rw", "IPRewriter", "pattern - - 10.9.9.9 8080 0 1"),
            ("s", "TestSink", ""),
            ("i", "Idle", ""),
        ],
        &[(2, 0, 0, 0), (0, 0, 1, 0), (0, 1, 1, 1)],
    ));
    r.inject(0, 0, Packet::from_slice(&tcp(IN1, 1, SRV, 80, SYN, 0)));
    let anno = r
        .with_element(1, |e, _| {
            e.downcast_ref::<crate::testing::TestSink>().unwrap().got[0]
                .1
                .dst_ip_anno()
        })
        .unwrap();
    assert_eq!(anno, [10, 9, 9, 9]);
    let (_, p) = sink_contents(&r, "s").pop().unwrap();
    assert_eq!(addr(&p), (IN1, 1, [10, 9, 9, 9], 8080));
    verify(&p);
}

#[test]
fn malformed_packets_never_panic() {
    let mut samples = vec![
        tcp(IN1, 1, SRV, 80, SYN, 4),
        udp(IN1, 1, SRV, 53, 4, true),
        icmp(IN1, SRV, 8, 0, [0, 1, 0, 1], &[1; 4]),
    ];
    let q = udp(EXT, 10000, SRV, 53, 0, true);
    samples.push(icmp(SRV, EXT, 3, 3, [0; 4], &q));
    for class in [
        "IPRewriter",
        "TCPRewriter",
        "UDPRewriter",
        "IPAddrRewriter",
        "ICMPPingRewriter",
    ] {
        let r = rig(
            class,
            "pattern 1.2.3.4 10000-10999# - - 0 1, keep 0 1",
            2,
            2,
        );
        let r2 = rig(class, "pattern 1.2.3.4 10000-10999# - - 0 1, pass 1", 2, 2);
        for s in &samples {
            for cut in 0..=s.len() {
                for port in 0..2 {
                    let mut b = s[..cut].to_vec();
                    send(&r, port, b.clone());
                    send(&r2, port, b.clone());
                    // Lying header lengths.
                    if !b.is_empty() {
                        b[0] = 0x4f;
                        send(&r, port, b.clone());
                        b[0] = 0x41;
                        send(&r2, port, b.clone());
                    }
                    if b.len() > 6 {
                        b[6] = 0x20; // a fragment
                        send(&r, port, b);
                    }
                }
            }
        }
        send(&r, 0, Vec::new());
    }
}

#[test]
fn reap_timer_does_not_spin_when_empty() {
    let r = rig(
        "IPRewriter",
        "pattern 1.2.3.4 10000-10999# - - 0 1, drop, TCP_TIMEOUT 1s",
        2,
        2,
    );
    send(&r, 0, tcp(IN1, 1, SRV, 80, RST, 0));
    assert!(!r.run_until_idle());
    assert_eq!(r.read("rw.table_size").unwrap(), "0");
}

#[test]
fn config_text_load_balancer_with_named_patterns() {
    let src = "
        IPRewriterPatterns(TO_A - - 10.9.0.1 - , TO_B - - 10.9.0.2 -);
        rr :: RoundRobinIPMapper(TO_A 0 1, TO_B 0 1);
        lb :: IPRewriter(rr, drop, TCP_DONE_TIMEOUT 10s);
        Idle -> [0]lb; Idle -> [1]lb;
        lb[0] -> s :: TestSink; lb[1] -> [1]s;
    ";
    let (r, _) = crate::testing::router_from_source(src);
    let lb = r.find("lb").unwrap();
    let vip: A = [5, 5, 5, 5];
    for c in 0..4u8 {
        r.inject(
            lb,
            0,
            Packet::from_slice(&tcp([172, 16, 0, c], 999, vip, 80, SYN, 0)),
        );
    }
    let dsts: Vec<A> = sink_contents(&r, "s")
        .iter()
        .map(|(_, p)| addr(p).2)
        .collect();
    assert_eq!(
        dsts,
        vec![[10, 9, 0, 1], [10, 9, 0, 2], [10, 9, 0, 1], [10, 9, 0, 2]]
    );
    assert_eq!(r.read("lb.table_size").unwrap(), "4");
    let e = match crate::testing::build_from_source(
        "Idle -> rw :: IPRewriter(pattern 1.2.3.4 99999 - - 0 0) -> Discard;",
    ) {
        Ok(_) => panic!("bad port accepted"),
        Err(e) => format!("{e}"),
    };
    assert!(
        e.contains("config:1:") && e.contains("input spec 0: bad source port"),
        "{e}"
    );
}

#[test]
fn out_of_memory_for_a_new_flow_is_a_counted_mapping_failure() {
    let r = rig("IPRewriter", "pattern 1.2.3.4 1024-65535 - - 0 1", 1, 2);
    // The table starts with room for 1024 flows; the next one must grow it.
    for k in 0..1024u32 {
        let src = [10, 1, (k >> 8) as u8, k as u8];
        send(&r, 0, udp(src, 7, SRV, 53, 0, true));
    }
    assert_eq!(out(&r).len(), 1024);
    crate::fallible::fail_in_tests(true);
    send(&r, 0, udp([10, 2, 0, 1], 7, SRV, 53, 0, true));
    // Known flows need no memory and still pass.
    send(&r, 0, udp([10, 1, 0, 5], 7, SRV, 53, 0, true));
    crate::fallible::fail_in_tests(false);
    assert_eq!(out(&r).len(), 1025, "the new flow's packet was dropped");
    assert_eq!(r.read("rw.mapping_failures").unwrap(), "1");
    send(&r, 0, udp([10, 2, 0, 1], 7, SRV, 53, 0, true));
    assert_eq!(out(&r).len(), 1026, "with memory back the flow is made");
    assert_eq!(r.read("rw.size").unwrap(), "1025");
    assert_eq!(r.read("rw.table_size").unwrap(), "1025");
}

/// A move as the toolstack does it: events mode at A, get and delete at
/// A, put at B, then A's held packets re-processed at B. B's output for
/// them is what A would have sent, A forgets the flows, and the flows not
/// moved are untouched.
#[test]
fn events_mode_hands_moved_flows_back_for_reprocessing() {
    use crate::state::{self, Chunks, Parts};
    let cfg = "pattern 1.2.3.4 10000-10999# - - 0 1, drop";
    let a = rig("IPRewriter", cfg, 2, 2);
    let b = rig("IPRewriter", cfg, 2, 2);
    let reference = rig("IPRewriter", cfg, 2, 2);
    for c in 0..8u16 {
        let h = [10, 0, 1, c as u8];
        send(&a, 0, tcp(h, 100 + c, SRV, 80, SYN, 0));
        send(&a, 1, tcp(SRV, 80, EXT, 10000 + c, SYN | ACK, 0));
    }
    let moved = FlowFilter::parse("src net 10.0.1.0/30").unwrap();
    let with = |r: &Router, f: &mut dyn FnMut(&mut dyn StatefulElement) -> Vec<u8>| {
        r.with_element(0, |e, _| f(e.state().unwrap())).unwrap()
    };
    // The reference keeps every flow and processes everything itself.
    let all = with(&a, &mut |s| s.export_flows(&FlowFilter::all()));
    reference
        .with_element(0, |e, cx| e.state().unwrap().import_flows(&all, cx.now()))
        .unwrap()
        .unwrap();

    let covered = a
        .with_element(0, |e, _| e.state().unwrap().set_events(Some(&moved)))
        .unwrap()
        .unwrap();
    assert_eq!(covered, 4);
    let chunks = a
        .with_element(0, |e, _| {
            let s = e.state().unwrap();
            let c = state::get(s, "IPRewriter", &moved, Parts::FLOWS).unwrap();
            assert_eq!(state::delete(s, "IPRewriter", &moved).unwrap(), 4);
            c
        })
        .unwrap();
    let chunks = Chunks::from_bytes(&chunks.to_bytes()).unwrap();
    assert_eq!(chunks.flow_count(), 4);
    let n = b
        .with_element(0, |e, cx| {
            state::put(e.state().unwrap(), "IPRewriter", &chunks, cx.now())
        })
        .unwrap()
        .unwrap();
    assert_eq!(n.flows, 4);

    // Traffic of every flow, both directions, still reaches A.
    let a0 = out(&a).len();
    let mut moved_pkts = Vec::new();
    for c in 0..8u16 {
        let h = [10, 0, 1, c as u8];
        let pkts = [
            (0, tcp(h, 100 + c, SRV, 80, ACK, 10)),
            (1, tcp(SRV, 80, EXT, 10000 + c, ACK, 20)),
        ];
        for (port, p) in pkts {
            send(&a, port, p.clone());
            if c < 4 {
                moved_pkts.push((port, p));
            }
        }
    }
    // A processed only the flows that stayed.
    assert_eq!(out(&a).len() - a0, 8);
    let mut events = Vec::new();
    a.with_element(0, |e, _| e.state().unwrap().take_events(&mut events))
        .unwrap();
    assert_eq!(events.len(), 8);
    assert_eq!(
        events
            .iter()
            .map(|e| (e.port as usize, e.data.clone()))
            .collect::<Vec<_>>(),
        moved_pkts,
        "held in arrival order"
    );
    assert_eq!(state::reprocess(&b, 0, &events), 8);
    for (port, p) in &moved_pkts {
        send(&reference, *port, p.clone());
    }
    assert_eq!(out(&b), out(&reference), "B sends what A would have sent");
    // Leaving events mode: A has none of the moved flows any more.
    a.with_element(0, |e, _| e.state().unwrap().set_events(None))
        .unwrap()
        .unwrap();
    assert_eq!(a.read("rw.table_size").unwrap(), "4");
    assert_eq!(b.read("rw.table_size").unwrap(), "4");
}

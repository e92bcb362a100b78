//! Tests of the IPFilter expression language on hand-built packets.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::elements::classify::compile::{ip_view, Program, Rule};
use crate::elements::classify::ipclassifier::ip_classifier;
use crate::elements::classify::ipfilter::IPFilter;
use crate::packet::Packet;

/// An IPv4 packet under construction.
#[derive(Clone)]
struct Ip {
    tos: u8,
    id: u16,
    frag: u16,
    ttl: u8,
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
    options: Vec<u8>,
    payload: Vec<u8>,
    /// Keep only this many bytes of the finished packet.
    cut: Option<usize>,
}

fn ip(proto: u8) -> Ip {
    Ip {
        tos: 0,
        id: 0,
        frag: 0,
        ttl: 64,
        proto,
        src: [10, 0, 0, 1],
        dst: [10, 0, 0, 2],
        options: Vec::new(),
        payload: Vec::new(),
        cut: None,
    }
}

fn tcp(sport: u16, dport: u16, flags: u8, win: u16) -> Ip {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[12] = 0x50;
    t[13] = flags;
    t[14..16].copy_from_slice(&win.to_be_bytes());
    Ip {
        payload: t,
        ..ip(6)
    }
}

fn udp(sport: u16, dport: u16) -> Ip {
    let mut u = vec![0u8; 8];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    Ip {
        payload: u,
        ..ip(17)
    }
}

fn icmp(ty: u8) -> Ip {
    Ip {
        payload: vec![ty, 0, 0, 0, 0, 0, 0, 0],
        ..ip(1)
    }
}

impl Ip {
    fn src(mut self, a: [u8; 4]) -> Self {
        self.src = a;
        self
    }
    fn dst(mut self, a: [u8; 4]) -> Self {
        self.dst = a;
        self
    }
    fn with(mut self, f: impl FnOnce(&mut Ip)) -> Self {
        f(&mut self);
        self
    }
    fn packet(&self) -> Packet {
        let hl = 20 + self.options.len();
        let total = hl + self.payload.len();
        let mut b = vec![0u8; total];
        b[0] = 0x40 | (hl / 4) as u8;
        b[1] = self.tos;
        b[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        b[4..6].copy_from_slice(&self.id.to_be_bytes());
        b[6..8].copy_from_slice(&self.frag.to_be_bytes());
        b[8] = self.ttl;
        b[9] = self.proto;
        b[12..16].copy_from_slice(&self.src);
        b[16..20].copy_from_slice(&self.dst);
        b[20..hl].copy_from_slice(&self.options);
        b[hl..].copy_from_slice(&self.payload);
        if let Some(c) = self.cut {
            b.truncate(c);
        }
        let mut p = Packet::from_slice(&b);
        p.set_ip_header(0, hl);
        p
    }
}

fn rules(exprs: &[&str]) -> IPFilter {
    let v: Vec<String> = exprs.iter().map(|s| String::from(*s)).collect();
    match ip_classifier(&v, v.len()) {
        Ok(f) => f,
        Err(e) => panic!("{exprs:?}: {e}"),
    }
}

/// True if the single expression `e` matches `p` (also checking the
/// compiled program against the tree's reference evaluation).
fn m(e: &str, p: &Ip) -> bool {
    let expr = parse_expr(&tokenize(e)).unwrap_or_else(|err| panic!("{e}: {err}"));
    let pk = p.packet();
    let reference = expr.eval(&ip_view(&pk));
    let prog = Program::new(vec![Rule {
        expr,
        output: Some(0),
    }]);
    assert_eq!(prog.classify(&ip_view(&pk)) == Some(0), reference, "{e}");
    reference
}

fn err(e: &str) -> String {
    match parse_expr(&tokenize(e)) {
        Ok(x) => panic!("{e}: parsed as {}", x.unparse()),
        Err(m) => m,
    }
}

#[test]
fn tokens() {
    assert_eq!(
        tokenize("port>1023&&!(src net 10.0.0.0/8)||ip[9:1]!=6"),
        vec![
            "port",
            ">",
            "1023",
            "&&",
            "!",
            "(",
            "src",
            "net",
            "10.0.0.0/8",
            ")",
            "||",
            "ip",
            "[",
            "9:1",
            "]",
            "!=",
            "6"
        ]
    );
    assert_eq!(tokenize("a ? b : c"), vec!["a", "?", "b", ":", "c"]);
    assert_eq!(
        tokenize("x <= 3 >= == = < é"),
        vec!["x", "<=", "3", ">=", "==", "=", "<", "é"]
    );
}

#[test]
fn hosts_and_nets() {
    let p = tcp(1, 2, 0, 0).src([10, 0, 0, 1]).dst([192, 168, 1, 9]);
    assert!(m("host 10.0.0.1", &p));
    assert!(m("host 192.168.1.9", &p));
    assert!(m("src host 10.0.0.1", &p));
    assert!(!m("dst host 10.0.0.1", &p));
    assert!(m("dst 192.168.1.9", &p));
    assert!(m("10.0.0.1", &p));
    assert!(!m("src and dst host 10.0.0.1", &p));
    assert!(m("src or dst host 192.168.1.9", &p));
    assert!(m("src host != 10.0.0.2", &p));
    assert!(!m("src host != 10.0.0.1", &p));
    assert!(m("net 192.168.0.0/16", &p));
    assert!(m("dst net 192.168.1.0 mask 255.255.255.0", &p));
    assert!(!m("src net 192.168.0.0/16", &p));
    assert!(m("src net 10.0.0.0/255.0.0.0", &p));
    assert!(m("192.168.0.0/16", &p));
    assert!(m("src host & 255.0.0.0 10.0.0.0", &p));
    assert!(!m("dst host & 255.255.0.0 10.0.0.0", &p));
    assert!(m("src 10.0.0.7 or 10.0.0.1", &p));
}

#[test]
fn ports_protocols_and_names() {
    let web = tcp(40000, 80, 0x02, 1000);
    assert!(m("port 80", &web));
    assert!(m("port www", &web));
    assert!(m("www", &web));
    assert!(m("dst port 80", &web));
    assert!(!m("src port 80", &web));
    assert!(m("tcp port 80", &web));
    assert!(!m("udp port 80", &web));
    assert!(m("tcp dst port www", &web));
    assert!(m("src port > 1023", &web));
    assert!(m("src port >= 40000", &web));
    assert!(!m("src port > 40000", &web));
    assert!(m("dst port < 81", &web));
    assert!(m("dst port <= 80", &web));
    assert!(!m("dst port < 80", &web));
    assert!(m("dst port != 81", &web));
    assert!(m("dst port & 0xff00 = 0", &web));
    assert!(m("tcp", &web) && m("ip proto tcp", &web) && m("ip proto 6", &web));
    assert!(m("proto 6", &web));
    assert!(!m("udp", &web));
    assert!(m("ip proto != 17", &web));
    assert!(m("ip proto < 10", &web));
    assert!(m("ip proto tcpudp", &web));
    let dns = udp(5353, 53);
    assert!(m("udp port domain", &dns));
    assert!(m("port dns", &dns));
    assert!(m("udp dst port 53", &dns));
    assert!(!m("tcp port 53", &dns));
    assert!(m("ip proto tcpudp", &dns));
    assert!(!m("port 53", &icmp(8)));
    assert!(m("ipip", &ip(4)));
    assert!(m("igmp", &ip(2)));
    assert!(m("ip proto 47 or ipip", &ip(47)));
    assert!(m("gre", &ip(47)));
    for (name, port) in [("ssh", 22u16), ("https", 443), ("ntp", 123), ("snmp", 161)] {
        assert!(
            m(&alloc::format!("dst port {name}"), &udp(1, port)),
            "{name}"
        );
    }
}

#[test]
fn tcp_flags_window_and_icmp() {
    let syn = tcp(1, 2, 0x02, 0);
    let synack = tcp(1, 2, 0x12, 65535);
    assert!(m("tcp opt syn", &syn));
    assert!(m("syn", &syn));
    assert!(m("syn and not ack", &syn));
    assert!(!m("syn and not ack", &synack));
    assert!(m(
        "tcp opt ack && !(tcp opt syn || tcp opt fin || tcp opt rst)",
        &tcp(1, 2, 0x10, 5)
    ));
    assert!(!m("tcp opt ack && !(tcp opt syn || tcp opt fin)", &synack));
    for (f, bit) in [
        ("fin", 1u8),
        ("syn", 2),
        ("rst", 4),
        ("psh", 8),
        ("ack", 16),
        ("urg", 32),
    ] {
        assert!(m(f, &tcp(1, 2, bit, 0)), "{f}");
        assert!(!m(f, &tcp(1, 2, !bit, 0)), "{f}");
    }
    assert!(!m("syn", &udp(1, 2)));
    assert!(m("tcp win 0", &syn));
    assert!(m("tcp win > 60000", &synack));
    assert!(!m("tcp win 0", &udp(0, 0)));
    assert!(m("icmp type echo", &icmp(8)));
    assert!(m("icmp type echo-reply", &icmp(0)));
    assert!(m("echo-reply", &icmp(0)));
    assert!(m("icmp type 3", &icmp(3)));
    assert!(m("icmp type unreachable", &icmp(3)));
    assert!(m("icmp type != timeexceeded", &icmp(8)));
    assert!(!m("icmp type != timeexceeded", &icmp(11)));
    // `!=` keeps the implied ICMP test; `not` does not.
    assert!(!m("icmp type != timeexceeded", &udp(1, 2)));
    assert!(m("not icmp type timeexceeded", &udp(1, 2)));
    assert!(m("icmp type > 10", &icmp(11)));
}

#[test]
fn ip_header_fields() {
    let p = udp(1, 2).with(|i| {
        i.tos = 0xb8 | 0x01;
        i.ttl = 1;
        i.id = 48879;
    });
    assert!(m("ip tos 0xb9", &p));
    assert!(m("ip dscp 46", &p));
    assert!(m("ip ect", &p));
    assert!(!m("ip ce", &p));
    assert!(m("ip ce", &udp(1, 2).with(|i| i.tos = 3)));
    assert!(!m("ip ect", &udp(1, 2)));
    assert!(m("ip ttl < 2", &p));
    assert!(m("ip ttl 1", &p));
    assert!(m("ip ttl > 0", &p));
    assert!(m("ip id 48879", &p));
    assert!(m("ip len 28", &p));
    assert!(m("ip len > 27 and ip len < 29", &p));
    assert!(m("ip hl 5", &p));
    assert!(m("ip vers 4", &p));
    assert!(m("ip[9] = 17", &p));
    assert!(m("ip[8:2] = 0x0111", &p));
    assert!(m("ip[12:4] = 0x0a000001", &p));
    assert!(m("transp[0:2] = 1", &p));
    assert!(m("udp[2:2] = 2", &p));
    assert!(m("ip[9] & 0x10 != 0", &p));
    assert!(m("ip[9] & 0x10 > 0", &p));
    assert!(m("ip[1] & 3 = 1", &p));
}

#[test]
fn relations_on_bit_prefixes_agree_with_arithmetic() {
    for v in [
        0u16, 1, 2, 79, 80, 81, 1023, 1024, 1025, 8080, 8081, 32767, 32768, 65534, 65535,
    ] {
        for n in [0u16, 1, 80, 1023, 1024, 8081, 32768, 65535] {
            let p = tcp(v, 0, 0, 0);
            assert_eq!(m(&alloc::format!("src port > {n}"), &p), v > n, "{v}>{n}");
            assert_eq!(m(&alloc::format!("src port < {n}"), &p), v < n, "{v}<{n}");
            assert_eq!(
                m(&alloc::format!("src port >= {n}"), &p),
                v >= n,
                "{v}>={n}"
            );
            assert_eq!(
                m(&alloc::format!("src port <= {n}"), &p),
                v <= n,
                "{v}<={n}"
            );
        }
    }
    for ttl in 0..=255u8 {
        let p = udp(1, 2).with(|i| i.ttl = ttl);
        assert_eq!(m("ip ttl > 100", &p), ttl > 100);
        assert_eq!(m("ip ttl < 7", &p), ttl < 7);
        assert_eq!(m("ip ttl & 0x0f > 3", &p), ttl & 0x0f > 3);
    }
}

#[test]
fn operators_precedence_and_ternary() {
    let web = tcp(40000, 80, 0x02, 0);
    assert!(m("tcp and port 80", &web));
    assert!(m("tcp && port 80", &web));
    assert!(m("tcp port 80", &web));
    assert!(m("udp or tcp", &web));
    assert!(m("udp || tcp", &web));
    assert!(!m("not tcp", &web));
    assert!(!m("! tcp", &web));
    assert!(m("!udp", &web));
    assert!(m("udp or tcp and port 80", &web));
    assert!(!m("(udp or tcp) and port 81", &web));
    assert!(m("udp and port 81 or tcp", &web));
    assert!(m("not not tcp", &web));
    assert!(m("true", &web) && !m("false", &web) && m("not false", &web));
    assert!(m("tcp ? port 80 : port 53", &web));
    assert!(m("tcp ? port 80 : port 53", &udp(1, 53)));
    assert!(!m("tcp ? port 81 : port 53", &web));
    assert!(m("udp ? false : icmp ? false : tcp", &web));
    assert!(m("- ", &web) && m("any", &web) && m("all", &web));
    // Juxtaposition is "and"; `src host A B` tests two things.
    assert!(m("src host 10.0.0.1 dst port 80", &web));
}

#[test]
fn inheritance() {
    assert!(m("src port 80 or 81", &tcp(81, 1, 0, 0)));
    assert!(!m("src port 80 or 81", &tcp(1, 81, 0, 0)));
    assert!(m("udp dst port 123 or 161", &udp(1, 161)));
    assert!(!m("udp dst port 123 or 161", &tcp(1, 161, 0, 0)));
    assert!(!m("udp dst port 123 or 161", &udp(161, 1)));
    assert!(m("dst port 7777 or 8888", &udp(1, 8888)));
    assert!(m("ip ttl 5 or 6", &udp(1, 2).with(|i| i.ttl = 6)));
    assert!(m("ip proto 6 or 17", &udp(1, 2)));
    assert!(m("src host 10.0.0.9 or 10.0.0.1", &udp(1, 2)));
    assert!(!m("dst host 10.0.0.9 or 10.0.0.1", &udp(1, 2)));
    assert!(m("port 80 or 53", &udp(53, 1)));
    // Qualifiers break the chain.
    assert!(m("src port 80 or dst port 81", &tcp(1, 81, 0, 0)));
}

#[test]
fn ether_hosts() {
    let mut pk = udp(1, 2).packet();
    pk.push(14);
    {
        let d = pk.data_mut();
        d[0..6].copy_from_slice(&[0, 1, 2, 3, 4, 5]);
        d[6..12].copy_from_slice(&[0xa, 0xb, 0xc, 0xd, 0xe, 0xf]);
        d[12] = 8;
        d[13] = 0;
    }
    pk.set_mac_header(0);
    let t = |e: &str| {
        parse_expr(&tokenize(e))
            .unwrap_or_else(|x| panic!("{e}: {x}"))
            .eval(&ip_view(&pk))
    };
    assert!(t("ether host 00:01:02:03:04:05"));
    assert!(t("ether dst 00:01:02:03:04:05"));
    assert!(t("ether src host 0a:0b:0c:0d:0e:0f"));
    assert!(!t("ether src host 00:01:02:03:04:05"));
    assert!(t("00:01:02:03:04:05"));
    assert!(t("ether src & ff:ff:ff:ff:ff:00 0a:0b:0c:0d:0e:ff"));
    assert!(!t("ether host 00:01:02:03:04:06"));
}

#[test]
fn fragments() {
    let first = tcp(1, 80, 0x02, 0).with(|i| i.frag = 0x2000);
    let later = tcp(1, 80, 0x02, 0).with(|i| i.frag = 0x00b9);
    let whole = tcp(1, 80, 0x02, 0).with(|i| i.frag = 0x4000); // DF only
    assert!(m("ip frag", &first) && m("ip frag", &later));
    assert!(!m("ip frag", &whole));
    assert!(m("ip unfrag", &whole) && !m("ip unfrag", &later));
    assert!(m("port 80", &first));
    assert!(!m("port 80", &later));
    assert!(!m("syn", &later));
    assert!(!m("tcp win 0", &later));
    assert!(!m("transp[0:2] = 1", &later));
    assert!(m("tcp", &later));
    assert!(!m("icmp type echo", &icmp(8).with(|i| i.frag = 1)));
}

#[test]
fn ip_options_move_the_transport_header() {
    let p = tcp(1234, 80, 0x02, 0).with(|i| i.options = vec![1, 1, 1, 0, 7, 4, 0, 0]);
    assert!(m("ip hl 7", &p));
    assert!(m("ip hl > 5", &p));
    assert!(m("dst port 80", &p));
    assert!(m("src port 1234", &p));
    assert!(m("syn", &p));
    assert!(m("transp[2:2] = 80", &p));
    assert!(m("ip[20] = 1", &p));
}

#[test]
fn truncated_packets_neq_versus_not() {
    // IP header plus two bytes of TCP: source port present, dst port not.
    let p = tcp(5, 80, 0, 0).with(|i| i.cut = Some(22));
    assert!(m("src tcp port 5", &p));
    assert!(!m("dst tcp port 80", &p));
    assert!(!m("dst tcp port != 80", &p));
    assert!(m("not dst tcp port 80", &p));
    assert!(!m("src tcp port != 5", &p));
    assert!(!m("dst port > 10", &p));
    assert!(!m("dst port <= 10", &p));
    assert!(m("not dst port > 10", &p));
    // Flags are at byte 13: missing.
    assert!(!m("syn", &p));
    assert!(m("not syn", &p));
    // No transport bytes at all.
    let q = tcp(5, 80, 0, 0).with(|i| i.cut = Some(20));
    assert!(!m("src port 5", &q));
    assert!(!m("src port != 5", &q));
    assert!(m("not src port 5", &q));
    assert!(m("tcp", &q));
    // Truncated IP header: fields past the end are short.
    let r = udp(1, 2).with(|i| i.cut = Some(10));
    assert!(m("ip ttl 64", &r));
    assert!(!m("src host 10.0.0.1", &r));
    assert!(m("not src host 10.0.0.1", &r));
    assert!(!m("src host != 10.0.0.9", &r));
}

#[test]
fn error_messages() {
    assert_eq!(err("port foo"), "expected port number or name, got 'foo'");
    assert_eq!(err("src host foo"), "expected IP address, got 'foo'");
    assert_eq!(
        err("icmp type blah"),
        "expected ICMP type number or name, got 'blah'"
    );
    assert_eq!(err("ip ttl"), "'ip ttl': value missing");
    assert_eq!(err("80"), "specify header field or 'port'");
    assert!(err("icmp type www").contains("meaningless"));
    assert_eq!(err("tcp and"), "missing expression after 'and'");
    assert_eq!(err("tcp or"), "missing expression after 'or'");
    assert_eq!(err("(tcp"), "missing ')'");
    assert_eq!(err("()"), "missing expression after '('");
    assert_eq!(err("not"), "missing expression after 'not'");
    assert_eq!(err("tcp ? udp"), "missing ':' in ternary expression");
    assert_eq!(err("tcp )"), "garbage after expression at ')'");
    assert_eq!(err("blah"), "expected a test, got 'blah'");
    assert_eq!(err("ip ttl > foo"), "dangling operator near 'foo'");
    assert_eq!(err("ip ttl 256"), "'ip ttl': out of range, bound 255");
    assert_eq!(
        err("src port 70000"),
        "'src port': out of range, bound 65535"
    );
    assert_eq!(
        err("ip[3:2] = 1"),
        "field [3:2] does not fit in a single word"
    );
    assert_eq!(
        err("ip[0:5] = 1"),
        "LEN in '[POS:LEN]' out of range, should be between 1 and 4"
    );
    assert_eq!(
        err("ip[x] = 1"),
        "syntax error after '[', expected '[POS]' or '[POS:LEN]'"
    );
    assert_eq!(err("ip[1 = 1"), "missing ']'");
    assert_eq!(err("host > 1.2.3.4"), "'host': operator not supported");
    assert_eq!(
        err("tcp opt != syn"),
        "'tcp opt': operator or mask not supported"
    );
    assert_eq!(
        err("udp opt syn"),
        "'syn' is meaningless with 'udp tcp opt'; try 'tcp opt syn'"
    );
    assert_eq!(
        err("echo"),
        "'echo' is ambiguous; try 'port echo', 'icmp type echo'"
    );
    assert_eq!(err("icmp port 80"), "'port': bad protocol 1");
    assert_eq!(err("ip ttl & 0 = 1"), "zero mask ignored");
    assert_eq!(
        err("ip ttl & 0x100 = 1"),
        "'ip ttl': mask out of range, bound 0xFF"
    );
    assert_eq!(
        err("src src host 1.2.3.4"),
        "'src' or 'dst' specified twice"
    );
    assert_eq!(err("host port 1"), "type specified twice");
    assert_eq!(err("tcp udp port 1"), "transport protocol specified twice");
    assert_eq!(err("ip ttl >"), "missing value after '>'");
    assert_eq!(err("ip frag 3"), "'ip frag': value not supported");
    assert_eq!(err("ether proto 6"), "'proto': ip only");
}

#[test]
fn rule_actions_and_element_errors() {
    let f = IPFilter::new(
        &[
            String::from("allow tcp && dst port 80"),
            String::from("1 udp && dst port domain"),
            String::from("drop icmp"),
            String::from("2 ip frag"),
            String::from("deny all"),
        ],
        3,
    )
    .unwrap();
    assert_eq!(f.classify(&tcp(1, 80, 0, 0).packet()), Some(0));
    assert_eq!(f.classify(&udp(1, 53).packet()), Some(1));
    assert_eq!(f.classify(&icmp(8).packet()), None);
    assert_eq!(
        f.classify(&udp(1, 1).with(|i| i.frag = 5).packet()),
        Some(2)
    );
    assert_eq!(f.classify(&udp(1, 1).packet()), None);
    let e = |r: &str, n: usize| IPFilter::new(&[String::from(r)], n).err().unwrap();
    assert_eq!(e("5 tcp", 2), "pattern 0: slot '5' out of range");
    assert_eq!(
        e("maybe tcp", 2),
        "pattern 0: unknown slot ID 'maybe' (expected allow, deny, drop or an output number)"
    );
    assert_eq!(
        e("allow tcp", 0),
        "pattern 0: 'allow' is meaningless, element has zero outputs"
    );
    assert_eq!(
        e("allow port foo", 1),
        "pattern 0: expected port number or name, got 'foo'"
    );
    assert_eq!(e("", 1), "empty pattern 0");
    // A bare action matches everything.
    let f = IPFilter::new(&[String::from("allow")], 1).unwrap();
    assert_eq!(f.classify(&udp(1, 1).packet()), Some(0));
    // No match: drop.
    let f = rules(&["tcp"]);
    assert_eq!(f.classify(&udp(1, 1).packet()), None);
}

/// The 23 expressions of conformance case j_ipclassifier, each with a
/// packet that must reach its output (and none earlier).
#[test]
fn j_ipclassifier_expressions() {
    let f = rules(&[
        "src host 10.0.0.1 and dst port www and syn and not ack",
        "ip len > 1000",
        "tcp opt ack && !(tcp opt syn || tcp opt fin || tcp opt rst)",
        "tcp and (dst port 443 or dst port ssh)",
        "src net 10.0.0.4/30 and udp port domain",
        "ip[9] = 2",
        "dst net 224.0.0.0 mask 240.0.0.0",
        "icmp type echo or icmp type echo-reply",
        "icmp type != timeexceeded",
        "ip frag",
        "tcp dst port >= 1024 and tcp dst port < 8081",
        "udp dst port 123 or 161",
        "ip ttl < 2",
        "ip dscp 46 or ip ce",
        "ip ect",
        "ip proto 47 or ipip",
        "transp[0:2] = 53",
        "src net 172.16.0.0/12 or src host 192.168.1.200",
        "ip id 48879 or tcp win 0 or tcp win > 60000",
        "ip hl > 5",
        "src tcp port != 80 and tcp opt syn",
        "not udp",
        "-",
    ]);
    let other = [10, 9, 9, 9];
    let cases: Vec<(Ip, usize)> = vec![
        (tcp(1000, 80, 0x02, 100), 0),
        (udp(1, 2).with(|i| i.payload.resize(1200, 0)), 1),
        (tcp(1000, 22, 0x10, 100), 2),
        (tcp(1000, 443, 0x11, 100).src(other), 3),
        (udp(53, 9).src([10, 0, 0, 6]), 4),
        (ip(2).src(other).with(|i| i.payload = vec![0; 8]), 5),
        (udp(9, 9).src(other).dst([239, 1, 1, 1]), 6),
        (icmp(0).src(other), 7),
        (icmp(3).src(other), 8),
        (udp(9, 9).src(other).with(|i| i.frag = 0x2000), 9),
        (tcp(80, 8080, 0x02, 100).src(other), 10),
        (udp(9, 161).src(other), 11),
        (udp(9, 9).src(other).with(|i| i.ttl = 1), 12),
        (udp(9, 9).src(other).with(|i| i.tos = 46 << 2), 13),
        (udp(9, 9).src(other).with(|i| i.tos = 1), 14),
        (ip(47).src(other).with(|i| i.payload = vec![0; 8]), 15),
        (udp(53, 9).src(other), 16),
        (udp(9, 9).src([172, 20, 1, 1]), 17),
        (tcp(80, 9, 0x08, 0).src(other), 18),
        (
            udp(9, 9).src(other).with(|i| i.options = vec![1, 1, 1, 1]),
            19,
        ),
        (tcp(81, 9, 0x02, 100).src(other), 20),
        (tcp(80, 9, 0x01, 100).src(other), 21),
        (udp(9, 9).src(other), 22),
        // Timeexceeded is not "!= timeexceeded": falls to "not udp".
        (icmp(11).src(other), 21),
        // A later fragment of a DNS packet is only "ip frag".
        (udp(53, 9).src([10, 0, 0, 6]).with(|i| i.frag = 0x0010), 9),
    ];
    for (i, (p, want)) in cases.iter().enumerate() {
        assert_eq!(f.classify(&p.packet()), Some(*want), "case {i}");
    }
}

/// Random rule sets and packets: the indexed program must pick the same
/// rule as evaluating every rule's tree in order.
#[test]
fn index_agrees_with_linear_evaluation() {
    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let prims = [
        "tcp",
        "udp",
        "icmp",
        "syn",
        "ack",
        "ip frag",
        "ip unfrag",
        "src host 10.0.0.1",
        "dst net 10.0.0.0/30",
        "src net 10.0.1.0/24",
        "dst port 80",
        "src port 53",
        "port 80 or 53",
        "dst port > 1000",
        "ip ttl < 3",
        "icmp type echo",
        "udp dst port 123 or 161",
        "true",
        "ip proto 47",
        "not tcp",
        "ip[9] = 17",
        "transp[0:2] = 53",
        "tcp win 0",
        "src port != 80",
        "dst host 10.0.0.3",
    ];
    for _ in 0..60 {
        let n = 1 + rnd(12) as usize;
        let mut rs = Vec::new();
        for k in 0..n {
            let a = prims[rnd(prims.len() as u64) as usize];
            let b = prims[rnd(prims.len() as u64) as usize];
            let text = match rnd(4) {
                0 => String::from(a),
                1 => alloc::format!("{a} and {b}"),
                2 => alloc::format!("({a}) or ({b})"),
                _ => alloc::format!("{a} and not ({b})"),
            };
            rs.push(Rule {
                expr: parse_expr(&tokenize(&text)).unwrap(),
                output: Some(k),
            });
        }
        // Small sets get a branching program; check the index on them too.
        let prog = Program::new(rs.clone());
        let index = Program::indexed(rs.clone());
        for _ in 0..200 {
            let proto = [6u8, 17, 1, 47][rnd(4) as usize];
            let mut p =
                ip(proto)
                    .src([10, 0, rnd(2) as u8, rnd(4) as u8])
                    .dst([10, 0, 0, rnd(4) as u8]);
            let mut pay = vec![0u8; 20];
            pay[0..2].copy_from_slice(&[0u16, 53, 80, 1001][rnd(4) as usize].to_be_bytes());
            pay[2..4].copy_from_slice(&[80u16, 123, 161, 2000][rnd(4) as usize].to_be_bytes());
            pay[0] |= if rnd(8) == 0 { 8 } else { 0 };
            pay[13] = rnd(64) as u8;
            p.payload = pay;
            p.ttl = rnd(5) as u8;
            p.frag = [0u16, 0x2000, 0x0004][rnd(3) as usize];
            if rnd(5) == 0 {
                p.cut = Some(rnd(44) as usize);
            }
            let pk = p.packet();
            let v = ip_view(&pk);
            let want = rs.iter().position(|r| r.expr.eval(&v));
            assert_eq!(prog.matching_rule(&v), want);
            assert_eq!(index.matching_rule(&v), want);
        }
    }
}

/// Arbitrary text never panics the parser.
#[test]
fn random_text_never_panics() {
    let alphabet: Vec<&str> = vec![
        "tcp",
        "udp",
        "port",
        "80",
        "src",
        "dst",
        "and",
        "or",
        "not",
        "(",
        ")",
        "[",
        "]",
        "?",
        ":",
        "!",
        "&",
        "&&",
        "|",
        "=",
        "!=",
        ">",
        "<",
        ">=",
        "ip",
        "ether",
        "host",
        "net",
        "10.0.0.1",
        "1.2.3.4/8",
        "mask",
        "255.0.0.0",
        "opt",
        "syn",
        "icmp",
        "type",
        "echo",
        "frag",
        "ttl",
        "win",
        "transp",
        "9:2",
        "0,3",
        "-",
        "0xff",
        "00:11:22:33:44:55",
        "é",
        "www",
        "proto",
        "ect",
        "ce",
        "tos",
        "dscp",
        "len",
        "id",
        "hl",
        "vers",
        "unfrag",
        "all",
        "4294967295",
        "-1",
        "99999999999",
        "true",
        "false",
        ";",
        ",",
        "@",
        "x",
        "ip6",
        "icmp6",
        "nxt",
        "hlim",
        "flow",
        "plen",
        "tc",
        "code",
        "2001:db8::1",
        "fe80::/10",
        "::/0",
        "neighborsolicit",
    ];
    let mut seed = 99u64;
    let mut rnd = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for _ in 0..20_000 {
        let n = rnd(12);
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(alphabet[rnd(alphabet.len())]);
            if rnd(3) != 0 {
                s.push(' ');
            }
        }
        let _ = parse_expr(&tokenize(&s));
        if let Err(e) = parse_rule_in(&s, 3, rnd(2) == 0) {
            assert!(s.is_char_boundary(e.offset), "{s:?}: {e:?}");
        }
    }
    // Raw bytes too, and deep nesting.
    for _ in 0..5_000 {
        let n = rnd(20);
        let s: String = (0..n).map(|_| (rnd(95) as u8 + 32) as char).collect();
        let _ = parse_expr(&tokenize(&s));
    }
    let deep = "(".repeat(10_000) + "tcp";
    assert_eq!(err(&deep), "expression nested too deeply");
    let nots = "not ".repeat(10_000) + "tcp";
    assert_eq!(err(&nots), "expression nested too deeply");
}

/// An IPv6 packet under construction (the fixed header, then `ext`
/// extension headers as given, then `payload`).
#[derive(Clone)]
struct Ip6 {
    tc: u8,
    flow: u32,
    nxt: u8,
    hlim: u8,
    src: [u8; 16],
    dst: [u8; 16],
    ext: Vec<u8>,
    payload: Vec<u8>,
    /// The transport header annotation's offset (the classifier must not
    /// depend on it).
    transp: usize,
}

fn a6(s: &str) -> [u8; 16] {
    s.parse::<core::net::Ipv6Addr>().unwrap().octets()
}

fn ip6(nxt: u8, payload: Vec<u8>) -> Ip6 {
    Ip6 {
        tc: 0,
        flow: 0,
        nxt,
        hlim: 64,
        src: a6("2001:db8::1"),
        dst: a6("2001:db8::2"),
        ext: Vec::new(),
        payload,
        transp: 40,
    }
}

fn tcp6(sport: u16, dport: u16, flags: u8) -> Ip6 {
    ip6(6, tcp(sport, dport, flags, 0).payload)
}

fn udp6(sport: u16, dport: u16) -> Ip6 {
    ip6(17, udp(sport, dport).payload)
}

fn icmp6(ty: u8, code: u8) -> Ip6 {
    ip6(58, vec![ty, code, 0, 0, 0, 0, 0, 0])
}

impl Ip6 {
    fn with(mut self, f: impl FnOnce(&mut Ip6)) -> Self {
        f(&mut self);
        self
    }
    /// Puts a hop-by-hop options header before the payload.
    fn hop_by_hop(self) -> Self {
        self.with(|i| {
            i.ext = vec![i.nxt, 0, 1, 4, 0, 0, 0, 0];
            i.nxt = 0;
        })
    }
    fn packet(&self) -> Packet {
        let plen = self.ext.len() + self.payload.len();
        let mut b = vec![0u8; 40];
        let w0 = 6u32 << 28 | u32::from(self.tc) << 20 | (self.flow & 0xfffff);
        b[0..4].copy_from_slice(&w0.to_be_bytes());
        b[4..6].copy_from_slice(&(plen as u16).to_be_bytes());
        b[6] = self.nxt;
        b[7] = self.hlim;
        b[8..24].copy_from_slice(&self.src);
        b[24..40].copy_from_slice(&self.dst);
        b.extend_from_slice(&self.ext);
        b.extend_from_slice(&self.payload);
        let mut p = Packet::from_slice(&b);
        p.set_ip_header(0, self.transp);
        p
    }
}

/// Like [`m`] for an IPv6 packet, compiled as in an element with IPv6
/// tests.
fn m6(e: &str, p: &Ip6) -> bool {
    let (expr, _) = parse_tokens(&tokenize(e), true).unwrap_or_else(|err| panic!("{e}: {err:?}"));
    let pk = p.packet();
    let reference = expr.eval(&ip_view(&pk));
    let prog = Program::new(vec![Rule {
        expr,
        output: Some(0),
    }]);
    assert_eq!(prog.classify(&ip_view(&pk)) == Some(0), reference, "{e}");
    reference
}

#[test]
fn ip6_hosts_and_nets() {
    let p = tcp6(1000, 80, 0x02);
    assert!(m6("ip6 src host 2001:db8::1", &p));
    assert!(m6("src host 2001:db8::1", &p));
    assert!(!m6("dst host 2001:db8::1", &p));
    assert!(m6("host 2001:db8::2", &p));
    assert!(m6("2001:db8::2", &p));
    assert!(m6("src 2001:db8::1 and dst 2001:db8::2", &p));
    assert!(m6("dst net 2001:db8::/32", &p));
    assert!(!m6("dst net 2001:db9::/32", &p));
    assert!(m6("net 2001:db8::/126", &p));
    assert!(m6("src and dst net 2001:db8::/64", &p));
    assert!(!m6("src and dst net 2001:db8::2/127", &p));
    assert!(m6("src or dst net 2001:db8::2/127", &p));
    assert!(m6("dst host != 2001:db8::3", &p));
    assert!(!m6("dst host != 2001:db8::2", &p));
    assert!(m6("not src host ::1", &p));
    assert!(m6("ip6 net ::/0", &p));
    // Inherited qualifiers, as for IPv4.
    assert!(m6("src host ::1 or 2001:db8::1", &p));
    let ll = p.clone().with(|i| {
        i.src = a6("fe80::1");
        i.dst = a6("ff02::1");
    });
    assert!(m6("src net fe80::/10 and dst net ff00::/8", &ll));
    assert!(!m6("src net fe80::/10 and dst net ff00::/8", &p));
    // IPv4 packets never match an IPv6 address, even when the bytes at
    // the IPv6 address offsets agree.
    let v4 = tcp(1, 2, 0, 0)
        .src([0x20, 0x01, 0x0d, 0xb8])
        .dst([0, 0, 0, 0]);
    assert!(!m("src net 2001:db8::/32", &v4));
    assert!(!m("ip6", &v4));
    assert!(m("not ip6", &v4));
    assert!(m("ip", &v4));
    assert!(!m6("ip", &p));
    assert!(m6("ip6", &p));
}

#[test]
fn ip6_header_fields() {
    let p = udp6(5353, 53).with(|i| {
        i.tc = 0xb8;
        i.flow = 0x12345;
        i.hlim = 1;
    });
    assert!(m6("ip6 nxt 17", &p));
    assert!(!m6("ip6 nxt 6", &p));
    assert!(m6("ip6 proto 17", &p));
    assert!(m6("ip6 nxt > 16 and ip6 nxt < 18", &p));
    assert!(m6("ip6 hlim < 2", &p));
    assert!(m6("hlim 1", &p));
    assert!(!m6("ip6 hlim >= 2", &p));
    assert!(m6("ip6 flow 0x12345", &p));
    assert!(m6("ip6 flow > 0x12344", &p));
    assert!(!m6("ip6 flow 0x12346", &p));
    assert!(m6("ip6 tc 0xb8", &p));
    assert!(m6("ip6 tc & 0xfc = 0xb8", &p));
    assert!(m6("ip6 plen 8", &p));
    assert!(m6("ip6 plen >= 8 && plen <= 8", &p));
    assert!(m6("ip6 vers 6", &p));
    assert!(m6("ip vers 6", &p));
    assert!(m6("ip6[6] = 17", &p));
    assert!(m6("ip6[7:1] < 2", &p));
    assert!(m6("ip6[8:4] = 0x20010db8", &p));
    // Relations agree with arithmetic on every value of a byte field.
    for hlim in [0u8, 1, 63, 64, 65, 254, 255] {
        let q = p.clone().with(|i| i.hlim = hlim);
        for n in [0u32, 1, 64, 255] {
            assert_eq!(m6(&format!("ip6 hlim > {n}"), &q), u32::from(hlim) > n);
            assert_eq!(m6(&format!("ip6 hlim <= {n}"), &q), u32::from(hlim) <= n);
            assert_eq!(m6(&format!("ip6 hlim != {n}"), &q), u32::from(hlim) != n);
        }
    }
}

#[test]
fn ip6_transport_tests() {
    let web = tcp6(40000, 80, 0x02);
    assert!(m6("ip6 tcp dst port 80", &web));
    assert!(m6("ip6 and tcp port www", &web));
    assert!(m6("ip6 and dst port >= 80 and src port > 1023", &web));
    assert!(!m6("ip6 and udp port 80", &web));
    assert!(m6("ip6 tcp opt syn and not tcp opt ack", &web));
    assert!(m6("ip6 and tcp[13] & 2 != 0", &web));
    assert!(m6("ip6 and tcp win 0", &web));
    assert!(m6("ip6 and transp[2:2] = 80", &web));
    assert!(m6("ip6 and tcpudp port 80", &web));
    let dns = udp6(5353, 53);
    assert!(m6("ip6 udp port domain", &dns));
    assert!(m6("ip6 and udp src port 5353", &dns));
    assert!(!m6("ip6 and tcp", &dns));
    // The transport header annotation plays no part.
    let odd = web.clone().with(|i| i.transp = 8);
    assert!(m6("ip6 tcp dst port 80", &odd));
    // Extension headers: the next header is not the transport, so no
    // transport test matches (the IPv6 header tests still do).
    let ext = web.clone().hop_by_hop();
    assert!(!m6("ip6 tcp dst port 80", &ext));
    assert!(!m6("ip6 and tcp", &ext));
    assert!(m6("ip6 nxt 0 and dst host 2001:db8::2", &ext));
    // ICMPv6 types and codes, by number and name.
    let echo = icmp6(128, 0);
    assert!(m6("icmp6 type echo", &echo));
    assert!(m6("icmp6 type 128", &echo));
    assert!(m6("icmp6 type echo or echo-reply", &icmp6(129, 0)));
    assert!(m6("icmp6 type > 127", &echo));
    assert!(m6("icmp6 code 0", &echo));
    assert!(m6("icmp6 type neighborsolicit", &icmp6(135, 0)));
    assert!(m6("icmp6 type unreachable and icmp6 code 4", &icmp6(1, 4)));
    assert!(m6("icmp6", &echo));
    assert!(!m6("icmp6", &web));
    assert!(m6("ip6 proto icmp6", &echo));
    // The number is Click's IPv4 protocol test: no IPv6 element.
    assert!(m("proto 58", &ip(58)));
    let f = rules(&["proto 58", "-"]);
    assert_eq!(f.classify(&echo.packet()), Some(1));
    // A short transport header: equality false, `not` true, as for IPv4.
    let short = web.clone().with(|i| i.payload.truncate(2));
    assert!(!m6("ip6 and tcp dst port 80", &short));
    assert!(!m6("ip6 and tcp dst port != 80", &short));
    assert!(m6("ip6 and tcp and not dst port 80", &short));
    // IPv4's `icmp code` (ours: Click has `icmp type` only).
    assert!(m("icmp code 0", &icmp(8)));
    assert!(!m("icmp code 1", &icmp(8)));
}

#[test]
fn ip6_and_ip4_rules_in_one_element() {
    let f = rules(&[
        "ip6 and tcp dst port 80",
        "tcp dst port 22",
        "src host 10.0.0.1",
        "ip frag",
        "udp port 53 and ip ttl 64",
        "-",
    ]);
    assert_eq!(f.classify(&tcp6(1, 80, 0).packet()), Some(0));
    assert_eq!(
        f.classify(&tcp(1, 80, 0, 0).src([9, 9, 9, 9]).packet()),
        Some(5)
    );
    // A test of either version applies to both.
    assert_eq!(f.classify(&tcp6(1, 22, 0).packet()), Some(1));
    assert_eq!(f.classify(&tcp(1, 22, 0, 0).packet()), Some(1));
    // IPv4 tests check the version: an IPv6 packet whose bytes at the IPv4
    // offsets would match them does not.
    let tricky = udp6(1, 53).with(|i| {
        i.src = a6("2001:db8:a00:1::1");
        i.hlim = 0xff;
        i.nxt = 17;
    });
    let pk = tricky.packet();
    assert_eq!(pk.data()[12..16], [10, 0, 0, 1]);
    assert_eq!(f.classify(&pk), Some(5));
    let far = |i: Ip| i.src([9, 9, 9, 9]);
    assert_eq!(
        f.classify(&far(udp(1, 1)).with(|i| i.frag = 5).packet()),
        Some(3)
    );
    assert_eq!(f.classify(&far(udp(1, 53)).packet()), Some(4));
    assert_eq!(f.classify(&udp6(1, 53).packet()), Some(5));
    // Without IPv6 tests the element is Click's: no version checks, so an
    // IPv6 packet is read at the IPv4 offsets.
    let v4only = rules(&["src host 10.0.0.1", "-"]);
    assert_eq!(v4only.classify(&pk), Some(0));
    // IPFilter rules too; the index agrees with the reference evaluation.
    let g = IPFilter::new(
        &[
            String::from("allow ip6 and icmp6 type echo"),
            String::from("1 dst port 443"),
            String::from("deny ip6 hlim < 2"),
            String::from("2 all"),
        ],
        3,
    )
    .unwrap();
    assert_eq!(g.classify(&icmp6(128, 0).packet()), Some(0));
    assert_eq!(g.classify(&icmp(8).packet()), Some(2));
    assert_eq!(g.classify(&tcp6(1, 443, 0).packet()), Some(1));
    assert_eq!(g.classify(&udp(1, 443).packet()), Some(1));
    assert_eq!(g.classify(&udp6(1, 1).with(|i| i.hlim = 1).packet()), None);
    assert_eq!(g.classify(&udp6(1, 1).packet()), Some(2));
}

#[test]
fn ip6_errors() {
    assert_eq!(
        err("ip host 2001:db8::1"),
        "'host': IPv6 address after 'ip'"
    );
    assert_eq!(err("ip6 host 10.0.0.1"), "'host': IPv4 address after 'ip6'");
    assert_eq!(
        err("ip6 net 2001:db8::/129"),
        "expected IPv6 prefix, got '2001:db8::/129'"
    );
    assert_eq!(
        err("ip6 host & 255.255.0.0 2001:db8::1"),
        "'host': bad mask"
    );
    assert_eq!(err("ip6 ttl 3"), "'ip ttl': ip only");
    assert_eq!(err("ip6 frag"), "'ip frag': ip only");
    assert_eq!(err("ip nxt 6"), "'ip6 nxt': ip6 only");
    assert_eq!(err("ether hlim 6"), "'ip6 hlim': ip6 only");
    assert_eq!(err("ip6 hlim 256"), "'ip6 hlim': out of range, bound 255");
    assert_eq!(
        err("ip6 flow 0x100000"),
        "'ip6 flow': out of range, bound 1048575"
    );
    assert_eq!(
        err("icmp6 type foo"),
        "expected ICMPv6 type number or name, got 'foo'"
    );
    assert_eq!(
        err("icmp6 type timestamp"),
        "'timestamp' is meaningless with 'icmp6 icmp6 type'; try 'icmp type timestamp'"
    );
    assert_eq!(
        err("neighborsolicit"),
        "'neighborsolicit' is meaningless with ''; try 'icmp6 type neighborsolicit'"
    );
    assert_eq!(err("host > 2001:db8::1"), "'host': operator not supported");
    assert_eq!(err("ip6 5"), "specify header field or 'port'");
    assert_eq!(err("ip6 & 3"), "'ip version': mask not supported");
    assert_eq!(
        err("ip6[3:2] = 1"),
        "field [3:2] does not fit in a single word"
    );
}

#[test]
fn errors_carry_the_offset_of_the_word_at_fault() {
    let at = |text: &str| parse_expr_text(text, false).unwrap_err().offset;
    assert_eq!(at("tcp and port foo"), 13);
    assert_eq!(at("ip ttl 300 or tcp"), 7);
    assert_eq!(at("tcp or blah"), 7);
    assert_eq!(at("(tcp"), 4);
    assert_eq!(at("tcp )"), 4);
    assert_eq!(at("ip6 hlim 256"), 9);
    assert_eq!(at("ip[1 = 1"), 2);
    assert_eq!(at("ip[x] = 1"), 2);
    assert_eq!(at("tcp and ip[1] = 1 and )"), 22);
    assert_eq!(at("ip ttl & foo = 1"), 9);
    assert_eq!(at("icmp type www or tcp"), 10);
    assert_eq!(at("ip ttl > foo or tcp"), 9);
    let rule = |text: &str| parse_rule_in(text, 2, false).unwrap_err();
    let e = rule("  1 udp and dst port 70000");
    assert_eq!(
        (e.message.as_str(), e.offset),
        ("'dst port': out of range, bound 65535", 21)
    );
    assert_eq!(rule("9 tcp").offset, 0);
    assert_eq!(rule("allow tcp and").offset, 13);
    // Through the element: the argument and the offset in it.
    let e = IPFilter::new(
        &[
            String::from("allow tcp"),
            String::from(" \"deny ip ttl 999\""),
        ],
        1,
    )
    .err()
    .unwrap();
    assert_eq!(e.arg, Some(crate::error::ArgPos::At(1, 14)));
}

/// Found by the ipfilter fuzz target: the dispatch byte (here the TTL,
/// which two tuples key on) must not filter out a tuple keyed on another
/// byte of the same word (the protocol).
#[test]
fn dispatch_keeps_tuples_keyed_on_other_bytes_of_its_word() {
    let rules: Vec<Rule> = [
        "deny icmp type echo",
        "1 ip ttl 2",
        "1 ip ttl 3 and ip tos 4",
        "2 -",
    ]
    .iter()
    .map(|r| {
        let (a, expr) = parse_rule(r, 3).unwrap();
        let output = match a {
            Action::Output(o) => Some(o),
            Action::Drop => None,
        };
        Rule { expr, output }
    })
    .collect();
    let exprs: Vec<Expr> = rules.iter().map(|r| r.expr.clone()).collect();
    let prog = Program::indexed(rules);
    for ttl in [2u8, 3, 255] {
        let pk = icmp(8).with(|i| i.ttl = ttl).packet();
        assert_eq!(prog.classify(&ip_view(&pk)), None, "ttl {ttl}");
        assert!(exprs[0].eval(&ip_view(&pk)));
    }
    let pk = udp(1, 1).with(|i| i.ttl = 2).packet();
    assert_eq!(prog.classify(&ip_view(&pk)), Some(1));
}

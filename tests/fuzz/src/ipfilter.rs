//! Fuzzes the IPFilter expression language: the input's lines (up to a
//! NUL byte) are an IPFilter's rules, the bytes after it one more packet
//! to classify. Nothing may panic; an error must point inside its rule;
//! and for every packet (a fixed IPv4/IPv6 set plus the input's) the
//! element's compiled program must pick the rule the reference
//! evaluation of the rules' trees picks (the first that matches).

use click::elements::classify::compile::expr::{parse_rule_in, Action};
use click::elements::classify::compile::ip_view;
use click::elements::classify::compile::tree::Expr;
use click::elements::classify::ipfilter::IPFilter;
use click::packet::Packet;

const OUTPUTS: usize = 3;

/// One input.
pub fn run(data: &[u8]) {
    let (text, extra) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(text) = std::str::from_utf8(text) else { return };
    let rules: Vec<String> = text.lines().map(String::from).collect();
    let mut packets = fixed_packets();
    if let Some(b) = extra {
        packets.push(frame(b));
    }
    let Some(reference) = parse_like_the_element(&rules) else {
        assert!(IPFilter::new(&rules, OUTPUTS).is_err(), "rules the reference rejects were accepted");
        return;
    };
    let f = match IPFilter::new(&rules, OUTPUTS) {
        Ok(f) => f,
        Err(e) => panic!("reference accepted rules the element rejects: {e}"),
    };
    let _ = f.program().unparse();
    for p in &packets {
        let v = ip_view(p);
        let want = reference.iter().find(|(e, _)| e.eval(&v)).and_then(|&(_, o)| o);
        assert_eq!(f.classify(p), want, "rules {rules:?}, packet {:02x?}", p.data());
    }
}

/// Each rule's tree and output, parsed as IPFilter does (again with IPv6
/// tests in mind if any rule has them); `None` if a rule is bad.
fn parse_like_the_element(rules: &[String]) -> Option<Vec<(Expr, Option<usize>)>> {
    let pass = |mixed: bool| -> Option<(Vec<(Expr, Option<usize>)>, bool)> {
        let mut any6 = false;
        let mut out = Vec::new();
        for r in rules {
            let text = click::confparse::unquote(r.trim());
            let text = text.as_str();
            if text.trim().is_empty() {
                return None;
            }
            match parse_rule_in(text, OUTPUTS, mixed) {
                Ok((a, e, ip6)) => {
                    any6 |= ip6;
                    out.push((e, match a {
                        Action::Output(o) => Some(o),
                        Action::Drop => None,
                    }));
                }
                Err(e) => {
                    assert!(text.is_char_boundary(e.offset), "{text:?}: offset {} outside", e.offset);
                    return None;
                }
            }
        }
        Some((out, any6))
    };
    let (first, any6) = pass(false)?;
    if any6 { pass(true).map(|p| p.0) } else { Some(first) }
}

/// An Ethernet frame around `ip` with the MAC and IP header annotations
/// set (the IP header length from the version and IHL nibbles).
fn frame(ip: &[u8]) -> Packet {
    let mut b = vec![0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    b.extend_from_slice(ip);
    let hl = match ip.first() {
        Some(v) if v >> 4 == 6 => 40,
        Some(v) => usize::from(v & 0xf) * 4,
        None => 0,
    };
    let mut p = Packet::from_slice(&b);
    p.set_mac_header(0);
    p.set_ip_header(14, hl.min(ip.len()));
    p
}

fn fixed_packets() -> Vec<Packet> {
    let tcp4 = [
        0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
        0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x72, 0x10, 0, 0, 0, 0, // TCP SYN
    ];
    let mut frag4 = tcp4;
    frag4[6] = 0x20;
    frag4[7] = 0x05;
    let udp4 = [
        0x45, 0xb8, 0, 28, 0, 2, 0x40, 0, 1, 17, 0, 0, 192, 168, 1, 1, 8, 8, 8, 8, 0x14, 0xe9, 0, 53, 0, 8, 0, 0,
    ];
    let icmp4 = [0x46, 0, 0, 32, 0, 3, 0, 0, 255, 1, 0, 0, 10, 0, 0, 3, 10, 0, 0, 1, 1, 1, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0];
    let mut v6 = vec![0x6b, 0x81, 0x23, 0x45, 0, 20, 6, 1];
    v6.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x0a, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    v6.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    v6.extend_from_slice(&tcp4[20..]);
    let mut icmp6 = v6[..40].to_vec();
    icmp6[5] = 8;
    icmp6[6] = 58;
    icmp6.extend_from_slice(&[128, 0, 0, 0, 0, 0, 0, 0]);
    vec![
        frame(&tcp4),
        frame(&tcp4[..22]),
        frame(&frag4),
        frame(&udp4),
        frame(&icmp4),
        frame(&v6),
        frame(&v6[..44]),
        frame(&icmp6),
        frame(&[]),
    ]
}

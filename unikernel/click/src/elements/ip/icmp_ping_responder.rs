//! `ICMPPingResponder`: turns ICMP echo requests into echo replies.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! Needs the IP header annotation (set by `CheckIPHeader`). An ICMP echo
//! request (protocol 1, type 8, at least 8 ICMP bytes) is answered in
//! place: source and destination addresses swapped, the fragment field
//! cleared, TTL 255, type 0 code 0, both checksums updated incrementally;
//! the destination IP annotation becomes the new destination, the paint
//! annotation 0 and the timestamp the current time. The reply leaves on
//! output 0. Anything else leaves on output 1, or is dropped when output 1
//! is not connected.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader
//!   -> ICMPPingResponder -> Unstrip(14) -> EtherMirror -> Discard;
//! ```

use alloc::boxed::Box;

use crate::element::{simple_action, Element, ElementClass};
use crate::net::{checksum, icmp, ip};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `ICMPPingResponder` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ICMPPingResponder",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(IcmpPingResponder)),
};

/// Answers pings.
pub struct IcmpPingResponder;

/// True if `p` is an echo request we can answer.
fn is_echo(p: &Packet) -> bool {
    let (Some(h), Some(t)) = (p.network_header(), p.transport_header()) else {
        return false;
    };
    p.ip_header_len().is_some_and(|l| l >= ip::MIN_HEADER_LEN)
        && h.len() >= ip::MIN_HEADER_LEN
        && t.len() >= icmp::HEADER_LEN
        && h[9] == ip::PROTO_ICMP
        && t[0] == icmp::ECHO
}

/// Rewrites an echo request into its reply.
fn reply(p: &mut Packet) -> [u8; 4] {
    let h = p.network_header_mut().expect("checked by is_echo");
    let mut sum = ip::get16(h, ip::SUM_OFF);
    let (s, d) = h[ip::SRC_OFF..ip::SRC_OFF + 8].split_at_mut(4);
    s.swap_with_slice(d);
    let new_dst = [h[16], h[17], h[18], h[19]];
    sum = checksum::update(sum, ip::get16(h, 6), 0);
    ip::put16(h, 6, 0);
    let old = ip::get16(h, ip::TTL_OFF);
    h[ip::TTL_OFF] = 255;
    sum = checksum::update(sum, old, ip::get16(h, ip::TTL_OFF));
    ip::put16(h, ip::SUM_OFF, sum);

    let t = p.transport_header_mut().expect("checked by is_echo");
    let old = ip::get16(t, 0);
    t[0] = icmp::ECHO_REPLY;
    t[1] = 0;
    let sum = checksum::update(ip::get16(t, 2), old, ip::get16(t, 0));
    // The zero check covers the checksum field itself, already updated.
    ip::put16(t, 2, sum);
    let sum = checksum::fix_zero(sum, t);
    ip::put16(t, 2, sum);
    new_dst
}

impl IcmpPingResponder {
    fn action(&self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        if !is_echo(&p) {
            cx.push(1, p);
            return None;
        }
        let dst = reply(&mut p);
        p.set_dst_ip_anno(dst);
        p.set_timestamp(cx.now());
        p.set_paint(0);
        Some(p)
    }
}

impl Element for IcmpPingResponder {
    simple_action!();
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::{checksum, ip};
    use crate::packet::Packet;
    use crate::testing::{flat, router, sink_contents};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn reply_matches_click_bytes() {
        let (r, _) = router(flat(
            &[
                ("p", "ICMPPingResponder", ""),
                ("s", "TestSink", ""),
                ("o", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (0, 1, 2, 0), (3, 0, 0, 0)],
        ));
        // The IP part of the reply real Click wrote in conformance case
        // f_responders, and the request it answered (TTL 64, DF set,
        // type 8).
        let want = hex("4500002400010000ff01a6d90a0000fe0a00000100006e20004300076162636465666768");
        let mut req = want.clone();
        req[6] = 0x40;
        req[8] = 64;
        req[12..16].copy_from_slice(&[10, 0, 0, 1]);
        req[16..20].copy_from_slice(&[10, 0, 0, 254]);
        ip::set_checksum(&mut req, 20);
        req[20] = 8;
        ip::put16(&mut req, 22, 0);
        let c = checksum::checksum(&req[20..]);
        ip::put16(&mut req, 22, c);
        let mut p = Packet::from_slice(&req);
        p.set_ip_header(0, 20);
        p.set_paint(7);
        r.inject(0, 0, p);
        assert_eq!(sink_contents(&r, "s"), alloc::vec![(0, want)]);
        r.with_element(1, |e, cx| {
            let s = e.downcast_ref::<crate::testing::TestSink>().unwrap();
            let q = &s.got[0].1;
            assert_eq!(q.dst_ip_anno(), [10, 0, 0, 1]);
            assert_eq!(q.paint(), 0);
            assert_eq!(q.timestamp(), cx.now());
        });

        // Not echo requests: a reply, UDP, a truncated ICMP header, no
        // annotation at all.
        let mut not = req.clone();
        not[20] = 0;
        let mut udp = req.clone();
        udp[9] = 17;
        for b in [not, udp, req[..26].to_vec()] {
            let mut p = Packet::from_slice(&b);
            p.set_ip_header(0, 20);
            r.inject(0, 0, p);
        }
        r.inject(0, 0, Packet::from_slice(&req));
        assert_eq!(sink_contents(&r, "s").len(), 1);
        assert_eq!(sink_contents(&r, "o").len(), 4);
    }

    #[test]
    fn all_zero_icmp_body_gets_ffff() {
        let (r, _) = router(flat(
            &[
                ("p", "ICMPPingResponder", ""),
                ("s", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (2, 0, 0, 0)],
        ));
        // Type 8, everything else zero: checksum ~0x0800 = 0xF7FF; the
        // reply's incremental update gives 0x0000, fixed to 0xFFFF.
        let mut icmp = [0u8; 8];
        icmp[0] = 8;
        ip::put16(&mut icmp, 2, 0xF7FF);
        let mut p = Packet::from_slice(&ip::build([10, 0, 0, 1], [10, 0, 0, 2], 1, 9, &icmp));
        p.set_ip_header(0, 20);
        r.inject(0, 0, p);
        let got = sink_contents(&r, "s");
        assert_eq!(ip::get16(&got[0].1, 22), 0xFFFF);
        assert_eq!(checksum::checksum(&got[0].1[..20]), 0);
    }
}

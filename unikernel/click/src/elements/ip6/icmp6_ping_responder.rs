//! `ICMP6PingResponder`: turns ICMPv6 echo requests into echo replies.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! Click has no IPv6 echo responder; this is `ICMPPingResponder`'s
//! counterpart. Needs the IPv6 header annotation (else the header is
//! taken to start the packet). An ICMPv6 echo request (type 128 code 0,
//! after any extension headers, not fragmented, to a unicast address) is
//! answered in place: addresses swapped, hop limit 255, type 129, the
//! checksum updated incrementally; the destination IPv6 annotation
//! becomes the new destination. The reply leaves on output 0. Anything
//! else leaves on output 1, or is dropped when output 1 is not connected.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIP6Header
//!   -> ICMP6PingResponder -> Unstrip(14) -> EtherMirror -> Discard;
//! ```

use alloc::boxed::Box;

use crate::element::{simple_action, Element, ElementClass};
use crate::net::{checksum, ip, ip6};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `ICMP6PingResponder` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ICMP6PingResponder",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(Icmp6PingResponder)),
};

/// ICMPv6 echo request.
pub const ECHO_REQUEST: u8 = 128;
/// ICMPv6 echo reply.
pub const ECHO_REPLY: u8 = 129;

/// Answers IPv6 pings.
pub struct Icmp6PingResponder;

/// Rewrites the echo request at the start of `b` into its reply; `None`
/// (nothing changed) when it is not one.
fn reply(b: &mut [u8]) -> Option<[u8; 16]> {
    let t = ip6::transport(b).ok()?;
    let h = ip6::Ipv6Header::new(b)?;
    if t.proto != ip6::NXT_ICMP6
        || t.fragment.is_some()
        || ip6::is_multicast(&h.dst())
        || b.len() < t.offset + 8
        || b[t.offset] != ECHO_REQUEST
        || b[t.offset + 1] != 0
    {
        return None;
    }
    let new_dst = h.src();
    for i in 0..16 {
        b.swap(ip6::SRC_OFF + i, ip6::DST_OFF + i);
    }
    b[ip6::HLIM_OFF] = 255;
    let m = &mut b[t.offset..];
    let old = ip::get16(m, 0);
    m[0] = ECHO_REPLY;
    let sum = checksum::update(ip::get16(m, 2), old, ip::get16(m, 0));
    ip::put16(m, 2, sum);
    Some(new_dst)
}

impl Icmp6PingResponder {
    fn action(&self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let dst = match super::ip6_offset(&p) {
            Some(off) => reply(&mut p.data_mut()[off..]),
            None => None,
        };
        match dst {
            Some(d) => {
                p.set_dst_ip6_anno(d);
                p.set_timestamp(cx.now());
                Some(p)
            }
            None => {
                cx.push(1, p);
                None
            }
        }
    }
}

impl Element for Icmp6PingResponder {
    simple_action!();
}

#[cfg(test)]
mod tests {
    use crate::net::ip6;
    use crate::packet::Packet;
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn answers_echo_requests_only() {
        let (r, _) = router_from_source(
            "Idle -> e :: ICMP6PingResponder -> ok :: TestSink; e[1] -> other :: TestSink;",
        );
        let e = r.find("e").unwrap();
        let a: [u8; 16] = "fd00::1".parse::<core::net::Ipv6Addr>().unwrap().octets();
        let b: [u8; 16] = "fd00::2".parse::<core::net::Ipv6Addr>().unwrap().octets();
        let echo = [128, 0, 0, 0, 0x12, 0x34, 0, 1, 0xaa, 0xbb];
        r.inject(
            e,
            0,
            Packet::from_slice(&ip6::build(&a, &b, ip6::NXT_ICMP6, 64, &echo)),
        );
        let mut reply = echo;
        reply[0] = 129;
        r.inject(
            e,
            0,
            Packet::from_slice(&ip6::build(&a, &b, ip6::NXT_ICMP6, 64, &reply)),
        );
        let mut mc = b;
        mc[0] = 0xff;
        r.inject(
            e,
            0,
            Packet::from_slice(&ip6::build(&a, &mc, ip6::NXT_ICMP6, 64, &echo)),
        );
        r.inject(e, 0, Packet::from_slice(&[0x60; 30]));
        let ok = sink_contents(&r, "ok");
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].1, ip6::build(&b, &a, ip6::NXT_ICMP6, 255, &reply));
        assert_eq!(sink_contents(&r, "other").len(), 3);
    }
}

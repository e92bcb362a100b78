//! Every element of the ethernet, ip and monitor groups on random, mostly
//! short and malformed packets: nothing may panic, and pass-through
//! elements must let every packet through.

use alloc::vec::Vec;

use crate::packet::{Packet, PacketType};
use crate::testing::{through_element, Rng};

/// A random packet that often looks almost like IPv4 or ARP.
fn random_packet(rng: &mut Rng) -> Packet {
    let len = rng.below(90) as usize;
    let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    let ip_at = if rng.below(2) == 0 { 0 } else { 14 };
    if b.len() > ip_at {
        b[ip_at] = [0x45, 0x46, 0x4f, 0x44, 0x65, b[ip_at]][rng.below(6) as usize];
    }
    if b.len() > ip_at + 3 && rng.below(2) == 0 {
        let l = (b.len() - ip_at) as u16 - rng.below(3) as u16;
        b[ip_at + 2..ip_at + 4].copy_from_slice(&l.to_be_bytes());
    }
    if b.len() > ip_at + 9 && rng.below(3) == 0 {
        b[ip_at + 9] = [1, 6, 17][rng.below(3) as usize];
    }
    if b.len() > 13 && rng.below(4) == 0 {
        b[12..14].copy_from_slice(&[8, 6]);
    }
    let mut p = Packet::from_slice(&b);
    match rng.below(4) {
        0 => {}
        1 => p.set_ip_header(rng.below(len as u64 + 5) as usize, rng.below(70) as usize),
        2 => {
            p.set_mac_header(0);
            p.pull(rng.below(20) as usize);
        }
        _ => p.set_ip_header(ip_at.min(len), 20),
    }
    let d = rng.next_u64().to_be_bytes();
    p.set_dst_ip_anno([d[0] & 0x1f, d[1], d[2], d[3]]);
    if rng.below(8) == 0 {
        p.anno_mut().packet_type = PacketType::Broadcast;
    }
    p
}

#[test]
fn random_short_packets_never_panic() {
    let _g = super::icmp_error::tests::ID_LOCK
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let cases: &[(&str, &str, usize, usize)] = &[
        ("EtherEncap", "0x0800, 1:2:3:4:5:6, a:b:c:d:e:f", 1, 1),
        ("EtherRewrite", "1:2:3:4:5:6, a:b:c:d:e:f", 1, 1),
        ("EtherMirror", "", 1, 1),
        ("ARPResponder", "10.0.0.0/8 1:2:3:4:5:6", 1, 2),
        ("ARPQuerier", "10.0.0.1/24, 1:2:3:4:5:6, CAPACITY 8", 2, 2),
        (
            "CheckIPHeader",
            "INTERFACES 10.0.0.1/24, DETAILS true",
            1,
            2,
        ),
        ("CheckIPHeader", "OFFSET 14", 1, 1),
        ("CheckIPHeader2", "OFFSET 200", 1, 2),
        ("MarkIPHeader", "", 1, 1),
        ("MarkIPHeader", "14", 1, 1),
        ("DecIPTTL", "", 1, 2),
        ("SetIPChecksum", "", 1, 1),
        ("ICMPError", "10.0.0.1, unreachable, host", 1, 1),
        ("ICMPError", "10.0.0.1, parameterproblem, MTU 68", 1, 1),
        ("ICMPError", "10.0.0.1, redirect", 1, 1),
        ("ICMPPingResponder", "", 1, 2),
        ("FlowMonitor", "CAPACITY 4", 1, 1),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for &(class, cfg, nin, nout) in cases {
        // Nothing panics, and handlers keep working afterwards.
        let got = through_element((class, cfg, nin, nout), 3000, &mut || {
            let port = rng.below(nin as u64) as usize;
            (port, random_packet(&mut rng))
        });
        let passes_all = matches!(
            class,
            "EtherEncap" | "EtherRewrite" | "EtherMirror" | "MarkIPHeader" | "FlowMonitor"
        );
        if passes_all {
            assert_eq!(got, 3000, "{class}");
        } else {
            assert!(got <= 3000 * 2, "{class}: {got}");
        }
    }
}

/// The f_responders pipeline written as configuration text: check, answer
/// pings, mirror the Ethernet header; expiring packets become ICMP errors.
#[test]
fn responder_pipeline_from_config_text() {
    use crate::net::ip;
    use crate::testing::{router_from_source, sink_contents};
    let _g = super::icmp_error::tests::ID_LOCK
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let (r, _) = router_from_source(
        "Idle -> c :: CheckIPHeader(OFFSET 14) -> ICMPPingResponder -> EtherMirror -> s :: TestSink;\n\
         Idle -> ttl :: DecIPTTL -> Discard;\n\
         ttl[1] -> ICMPError(10.0.0.254, timeexceeded)\n\
           -> EtherEncap(0x0800, 02:00:00:00:00:fe, 02:00:00:00:00:01) -> e :: TestSink;",
    );
    let mut frame = Vec::from([2, 0, 0, 0, 0, 0xfe, 2, 0, 0, 0, 0, 1, 8, 0]);
    let echo = [8u8, 0, 0xf7, 0xfe, 0, 1, 0, 0];
    frame.extend(ip::build([10, 0, 0, 1], [10, 0, 0, 254], 1, 64, &echo));
    r.inject(r.find("c").unwrap(), 0, Packet::from_slice(&frame));
    let got = sink_contents(&r, "s");
    assert_eq!(&got[0].1[..12], &[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0xfe]);
    assert_eq!((got[0].1[14 + 8], got[0].1[34]), (255, 0));

    let mut p = Packet::from_slice(&ip::build([10, 0, 0, 1], [10, 0, 1, 1], 17, 1, &[0; 8]));
    p.set_ip_header(0, 20);
    r.inject(r.find("ttl").unwrap(), 0, p);
    let err = sink_contents(&r, "e");
    assert_eq!(err[0].1.len(), 14 + 20 + 8 + 28);
    assert_eq!((err[0].1[23], err[0].1[34]), (1, 11));
}

//! Every IPv6 element on random, mostly malformed IPv6 packets (short,
//! wrong payload lengths, long or looping extension-header chains,
//! fragments, neighbour-discovery look-alikes): nothing may panic, and
//! pass-through elements let every packet through.

use alloc::vec::Vec;

use crate::net::ip6;
use crate::packet::{Packet, PacketType};
use crate::testing::{through_element, Rng};

/// A random packet that often looks almost like IPv6 (at offset 0 or
/// after an Ethernet header).
fn random_ip6_packet(rng: &mut Rng) -> Packet {
    let len = rng.below(160) as usize;
    let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    let at = if rng.below(2) == 0 { 0 } else { 14 };
    if b.len() > 14 && at == 14 {
        b[12..14].copy_from_slice(&[0x86, 0xdd]);
    }
    if b.len() > at {
        b[at] = [0x60, 0x60, 0x6f, 0x45, b[at]][rng.below(5) as usize];
    }
    if b.len() > at + 7 {
        let l = (b.len().saturating_sub(at + 40) as u16)
            .wrapping_add(rng.below(3) as u16)
            .wrapping_sub(1);
        b[at + 4..at + 6].copy_from_slice(&l.to_be_bytes());
        b[at + 6] = [0, 6, 17, 43, 44, 58, 60, 51, b[at + 6]][rng.below(9) as usize];
        b[at + 7] = [255, 1, 0, 64][rng.below(4) as usize];
    }
    // Extension headers pointing at more extension headers.
    let mut o = at + 40;
    while o + 8 <= b.len() && rng.below(3) != 0 {
        b[o] = [0, 43, 44, 60, 51, 58, 6][rng.below(7) as usize];
        b[o + 1] = rng.below(3) as u8;
        o += 8;
    }
    if b.len() > at + 41 && b[at + 6] == 58 {
        b[at + 40] = [128, 135, 136, 1, 3][rng.below(5) as usize];
    }
    let mut p = Packet::from_slice(&b);
    match rng.below(4) {
        0 => {}
        1 => p.set_ip_header(rng.below(len as u64 + 5) as usize, rng.below(70) as usize),
        2 => {
            p.set_mac_header(0);
            p.pull(rng.below(20) as usize);
        }
        _ => p.set_ip_header(at.min(len), 40),
    }
    let mut d = [0u8; 16];
    d[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
    d[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
    if rng.below(2) == 0 {
        d[0] = 0xfd;
    }
    p.set_dst_ip6_anno(d);
    if rng.below(8) == 0 {
        p.anno_mut().packet_type = PacketType::Multicast;
    }
    p
}

#[test]
fn random_ip6_packets_never_panic() {
    let cases: &[(&str, &str, usize, usize)] = &[
        ("CheckIP6Header", "", 1, 2),
        ("CheckIP6Header", "fd00::1, 14", 1, 1),
        ("MarkIP6Header", "", 1, 1),
        ("MarkIP6Header", "14", 1, 1),
        ("DecIP6HLIM", "", 1, 2),
        ("IP6Mirror", "", 1, 1),
        ("GetIP6Address", "24", 1, 1),
        ("ICMP6Error", "fd00::1, 1, 4", 1, 1),
        ("ICMP6Error", "fd00::1, 2, 0", 1, 1),
        ("ICMP6Error", "fd00::1, 4, 2", 1, 1),
        ("ICMP6PingResponder", "", 1, 2),
        ("IP6NDAdvertiser", "::/0 02:00:00:00:00:01", 1, 1),
        ("IP6NDSolicitor", "fd00::1, 02:00:00:00:00:01", 2, 2),
        ("LookupIP6Route", "fd00::/8 ::0 0, ::/0 fd00::1 1", 1, 2),
        ("NAT64", "192.0.2.1, PREFIX fd00::/96", 2, 2),
        ("ProtocolTranslator64", "", 1, 1),
        (
            "AddressTranslator",
            "0, 1, 1, 0, ::ffff:192.0.2.1 6000 6010",
            2,
            2,
        ),
        (
            "AddressTranslator",
            "1, 0, fd00::1 ::1.0.0.1, 1, 0, 0, ::1.0.0.2",
            2,
            2,
        ),
        ("ProtocolTranslator46", "", 1, 1),
        ("IP6Reassembler", "", 1, 1),
        ("IP6Reassembler", "MAX_MEMORY 1, TIMEOUT 1ms", 1, 1),
    ];
    let mut rng = Rng(0x0DDB_1A5E_5BAD_5EED);
    for &(class, cfg, nin, nout) in cases {
        // Nothing panics, and handlers keep working afterwards.
        let got = through_element((class, cfg, nin, nout), 3000, &mut || {
            let port = rng.below(nin as u64) as usize;
            (port, random_ip6_packet(&mut rng))
        });
        if matches!(class, "MarkIP6Header" | "IP6Mirror" | "GetIP6Address") {
            assert_eq!(got, 3000, "{class}");
        } else {
            assert!(got <= 3000 * 2, "{class}: {got}");
        }
    }
}

/// Packets `CheckIP6Header` must refuse, one of each kind, and nothing
/// else: its counters name every reason.
#[test]
fn malformed_packets_are_dropped_and_counted() {
    use crate::testing::router_from_source;
    let (r, _) = router_from_source("Idle -> c :: CheckIP6Header -> s :: TestSink;");
    let c = r.find("c").unwrap();
    let a = [0xfd; 16];
    let ok = ip6::build(&a, &a, ip6::NXT_UDP, 64, &[0; 8]);
    let mut long = ok.clone();
    long[5] = 9;
    // A first fragment whose chain continues past it (RFC 7112).
    let frag = ip6::build(
        &a,
        &a,
        ip6::NXT_FRAGMENT,
        64,
        &[ip6::NXT_ROUTING, 0, 0, 1, 0, 0, 0, 1],
    );
    let endless: Vec<u8> = [ip6::NXT_DSTOPTS, 0, 0, 0, 0, 0, 0, 0]
        .iter()
        .copied()
        .cycle()
        .take(800)
        .collect();
    let endless = ip6::build(&a, &a, ip6::NXT_DSTOPTS, 64, &endless);
    for b in [&ok[..20], &long[..], &frag[..], &endless[..], &ok[..]] {
        r.inject(c, 0, Packet::from_slice(b));
    }
    assert_eq!(r.read("s.count").unwrap(), "1");
    assert_eq!(r.read("c.drops").unwrap(), "4");
}

//! A two-interface IP router in the style of Click's `fake-iprouter.click`
//! (static routes, names from `AddressInfo`), fed Ethernet frames.

use alloc::vec::Vec;

use crate::net::checksum;
use crate::packet::Packet;
use crate::router::Router;
use crate::testing::{router_from_source, sink_contents};

const CONFIG: &str = r#"
AddressInfo(
    eth0 10.0.0.1/24 00:00:c0:ae:67:ef,
    eth1 10.0.1.1/24 00:00:c0:4f:71:ef,
    host1 10.0.1.2 00:00:c0:11:22:33,
    gw0 10.0.0.254
);
ClickyInfo(STYLE "* { color: black }");

c0 :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
c1 :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
Idle -> c0; Idle -> c1;
out0 :: TestSink; out1 :: TestSink; tohost :: TestSink;

c0[0] -> ARPResponder(eth0) -> out0;
c1[0] -> ARPResponder(eth1) -> out1;
c0[1] -> [1]arpq0 :: ARPQuerier(eth0, eth0) -> out0;
c1[1] -> Discard;
c0[3] -> Discard; c1[3] -> Discard;

ip :: Strip(14) -> CheckIPHeader -> GetIPAddress(16)
    -> rt :: StaticIPLookup(eth0:ip/32 0, eth1:ip/32 0, eth0:bcast/32 0,
                            eth0:ipnet 1, eth1:ipnet 2, 0.0.0.0/0 gw0 1);
c0[2] -> Paint(1) -> ip;
c1[2] -> Paint(2) -> ip;
rt[0] -> tohost;

rt[1] -> DropBroadcasts -> cp0 :: PaintTee(1) -> FixIPSrc(eth0)
    -> dt0 :: DecIPTTL -> arpq0;
rt[2] -> DropBroadcasts -> cp1 :: PaintTee(2) -> FixIPSrc(eth1)
    -> dt1 :: DecIPTTL -> EtherEncap(0x0800, eth1, host1) -> out1;
cp0[1] -> ICMPError(eth0, redirect, host) -> rt;
cp1[1] -> ICMPError(eth1, redirect, host) -> rt;
dt0[1] -> ICMPError(eth0, timeexceeded) -> rt;
dt1[1] -> ICMPError(eth1, timeexceeded) -> rt;
"#;

const ETH0: [u8; 6] = [0, 0, 0xc0, 0xae, 0x67, 0xef];
const ETH1: [u8; 6] = [0, 0, 0xc0, 0x4f, 0x71, 0xef];
const HOST1: [u8; 6] = [0, 0, 0xc0, 0x11, 0x22, 0x33];
const PEER: [u8; 6] = [2, 0, 0, 0, 0, 9];

/// An Ethernet frame holding a UDP packet from `src` to `dst`.
fn udp_frame(src: [u8; 4], dst: [u8; 4], ttl: u8) -> Packet {
    let mut f = Vec::new();
    f.extend_from_slice(&ETH0);
    f.extend_from_slice(&PEER);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = alloc::vec![0x45, 0, 0, 28, 0, 1, 0, 0, ttl, 17, 0, 0];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let sum = checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[0x30, 0x39, 0, 53, 0, 8, 0, 0]);
    Packet::from_slice(&f)
}

fn arp_request(target: [u8; 4]) -> Packet {
    let mut f = Vec::new();
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&PEER);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&PEER);
    f.extend_from_slice(&[10, 0, 0, 9]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target);
    Packet::from_slice(&f)
}

fn setup() -> Router {
    router_from_source(CONFIG).0
}

#[test]
fn forwards_between_interfaces_with_ttl_and_checksum() {
    let r = setup();
    r.inject(
        r.find("c0").unwrap(),
        0,
        udp_frame([10, 0, 0, 9], [10, 0, 1, 2], 64),
    );
    let out = sink_contents(&r, "out1");
    assert_eq!(out.len(), 1);
    let f = &out[0].1;
    assert_eq!(f[..6], HOST1);
    assert_eq!(f[6..12], ETH1);
    assert_eq!(f[14 + 8], 63);
    assert_eq!(checksum::checksum(&f[14..34]), 0);
    assert!(sink_contents(&r, "out0").is_empty());
}

#[test]
fn default_route_sends_to_the_gateway_via_arp() {
    let r = setup();
    r.inject(
        r.find("c1").unwrap(),
        0,
        udp_frame([10, 0, 1, 2], [8, 8, 8, 8], 64),
    );
    // ARPQuerier asks for the gateway the route put in the annotation,
    // not for the packet's destination.
    let out = sink_contents(&r, "out0");
    assert_eq!(out.len(), 1, "{out:?}");
    let q = &out[0].1;
    assert_eq!(q[12..14], [0x08, 0x06]);
    assert_eq!(q[6..12], ETH0);
    assert_eq!(q[38..42], [10, 0, 0, 254]);
}

#[test]
fn router_addresses_go_to_the_host_and_arp_is_answered() {
    let r = setup();
    r.inject(
        r.find("c0").unwrap(),
        0,
        udp_frame([10, 0, 0, 9], [10, 0, 0, 1], 64),
    );
    r.inject(
        r.find("c0").unwrap(),
        0,
        udp_frame([10, 0, 0, 9], [10, 0, 0, 255], 64),
    );
    assert_eq!(sink_contents(&r, "tohost").len(), 2);
    r.inject(r.find("c0").unwrap(), 0, arp_request([10, 0, 0, 1]));
    let out = sink_contents(&r, "out0");
    assert_eq!(out.len(), 1);
    let a = &out[0].1;
    assert_eq!(a[20..22], [0, 2], "an ARP reply");
    assert_eq!(a[22..28], ETH0);
    assert_eq!(a[28..32], [10, 0, 0, 1]);
}

#[test]
fn expiring_packets_get_a_time_exceeded_from_the_router() {
    let r = setup();
    r.inject(
        r.find("c1").unwrap(),
        0,
        udp_frame([10, 0, 1, 2], [10, 0, 0, 9], 1),
    );
    // The ICMP error goes back out of eth1 towards 10.0.1.2, from eth1.
    let out = sink_contents(&r, "out1");
    assert_eq!(out.len(), 1, "{out:?}");
    let f = &out[0].1;
    assert_eq!(f[14 + 9], 1, "ICMP");
    assert_eq!(f[14 + 12..14 + 16], [10, 0, 1, 1]);
    assert_eq!(f[14 + 16..14 + 20], [10, 0, 1, 2]);
    assert_eq!(f[34], 11, "time exceeded");
    assert!(sink_contents(&r, "out0").is_empty());
}

#[test]
fn same_interface_forwarding_also_sends_a_redirect() {
    let r = setup();
    r.inject(
        r.find("c1").unwrap(),
        0,
        udp_frame([10, 0, 1, 2], [10, 0, 1, 5], 64),
    );
    let out = sink_contents(&r, "out1");
    let protos: Vec<(u8, u8)> = out.iter().map(|(_, f)| (f[14 + 9], f[34])).collect();
    assert_eq!(out.len(), 2, "{protos:?}");
    assert!(protos.contains(&(1, 5)), "an ICMP redirect: {protos:?}");
    assert!(
        protos.iter().any(|&(p, _)| p == 17),
        "the UDP packet: {protos:?}"
    );
}

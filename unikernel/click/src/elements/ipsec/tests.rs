//! An ESP tunnel between two RadixIPsecLookup routers in one graph, wired
//! as Click's `ipsec-router.click` wires one end: encapsulation,
//! authentication and encryption out; decryption, verification and
//! decapsulation in.

use alloc::vec::Vec;

use crate::net::{checksum, ip};
use crate::packet::Packet;
use crate::router::Router;
use crate::testing::{build_from_source, router_from_source, sink_contents};

const KEYS: &str = "ABCDEFFF001DEFD2354550FE40CD708E 112233EE556677888877665544332211 300 64";

fn tunnel() -> Router {
    let conf = alloc::format!(
        "a :: RadixIPsecLookup(10.9.0.0/16 10.0.0.2 1 234 {KEYS}, 10.0.0.2/32 3);
         Idle -> ain :: CheckIPHeader -> [0] a;
         a[1] -> IPsecESPEncap -> IPsecAuthHMACSHA1(0) -> IPsecAES(1) -> IPsecEncap(50) -> [0] a;
         a[3] -> FixIPSrc(10.0.0.1) -> wire :: Tee(2);
         a[0] -> Discard; a[2] -> Discard;
         wire[0] -> w :: TestSink;
         wire[1] -> bin :: CheckIPHeader -> [0] b :: RadixIPsecLookup(10.0.0.2/32 - 0 234 {KEYS}, 10.9.0.0/16 3);
         b[0] -> StripIPHeader -> IPsecAES(0) -> v :: IPsecAuthHMACSHA1(1) -> IPsecESPUnencap
           -> CheckIPHeader -> [0] b;
         b[1] -> Discard; b[2] -> host :: TestSink; b[3] -> out :: TestSink;"
    );
    router_from_source(&conf).0
}

fn udp(payload: &[u8]) -> Vec<u8> {
    ip::build(
        [10, 1, 0, 5],
        [10, 9, 1, 1],
        ip::PROTO_UDP,
        64,
        &[
            &[0x12, 0x34, 0, 53, 0, 8 + payload.len() as u8, 0, 0],
            payload,
        ]
        .concat(),
    )
}

#[test]
fn packets_cross_the_tunnel_encrypted_and_authenticated() {
    let r = tunnel();
    let ain = r.find("ain").unwrap();
    let inner = udp(b"attack at dawn, bring snacks");
    r.inject(ain, 0, Packet::from_slice(&inner));
    r.inject(ain, 0, Packet::from_slice(&inner));
    let wire = sink_contents(&r, "w");
    assert_eq!(wire.len(), 2);
    let w = &wire[0].1;
    assert_eq!(w[9], 50, "ESP");
    assert_eq!(&w[12..20], &[10, 0, 0, 1, 10, 0, 0, 2]);
    assert_eq!(checksum::checksum(&w[..20]), 0);
    assert_eq!(
        &w[20..28],
        &[0, 0, 0, 234, 0, 0, 1, 44],
        "SPI 234, replay 300"
    );
    assert_eq!(&wire[1].1[24..28], &[0, 0, 1, 45], "the counter moves");
    // ESP header, payload padded to 8 with its trailer, 12-byte digest.
    assert_eq!(w.len(), 20 + 16 + (inner.len() + 2).div_ceil(8) * 8 + 12);
    assert!(!w.windows(6).any(|x| x == b"attack"), "encrypted");
    let out = sink_contents(&r, "out");
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].1, inner, "decrypted, verified, unwrapped");

    // Tampering fails authentication; a replayed packet is refused.
    let bin = r.find("bin").unwrap();
    let mut bad = w.clone();
    let n = bad.len();
    bad[n - 20] ^= 1;
    r.inject(bin, 0, Packet::from_slice(&bad));
    assert_eq!(r.read("v.drops").unwrap(), "1");
    r.inject(bin, 0, Packet::from_slice(&wire[1].1));
    assert_eq!(sink_contents(&r, "out").len(), 2, "replay refused");
    // Not ESP, for this router: to the host.
    let mut plain = udp(b"hi");
    plain[16..20].copy_from_slice(&[10, 0, 0, 2]);
    ip::set_checksum(&mut plain, 20);
    r.inject(bin, 0, Packet::from_slice(&plain));
    assert_eq!(sink_contents(&r, "host").len(), 1);
    // An unknown SPI is dropped; so is a truncated ESP packet.
    let mut other = w.clone();
    other[23] = 99;
    r.inject(bin, 0, Packet::from_slice(&other));
    let mut short = w[..40].to_vec();
    short[2..4].copy_from_slice(&40u16.to_be_bytes());
    ip::set_checksum(&mut short, 20);
    r.inject(bin, 0, Packet::from_slice(&short));
    assert_eq!(sink_contents(&r, "out").len(), 2);
    assert_eq!(
        r.read("a.table").unwrap(),
        "10.9.0.0/16 10.0.0.2 1 234\n10.0.0.2/32 - 3\n"
    );
}

#[test]
fn route_handlers_and_errors() {
    let r = tunnel();
    r.write("a.add", "10.8.0.0/16 3").unwrap();
    assert!(r.write("a.add", "10.8.0.0/16 2").is_err(), "exists");
    r.write("a.set", "10.8.0.0/16 2").unwrap();
    r.write("a.ctrl", "remove 10.8.0.0/16\nadd 10.7.0.0/16 - 3")
        .unwrap();
    assert!(r.read("a.table").unwrap().ends_with("10.7.0.0/16 - 3\n"));
    assert!(r.write("a.remove", "10.6.0.0/16").is_err());
    for bad in [
        "10.0.0.0/8 9",
        "10.0.0.0/8 1 234 short 112233EE556677888877665544332211 300 64",
        "10.0.0.0/8 1 234 ABCDEFFF001DEFD2354550FE40CD708E",
        "nonsense",
    ] {
        let conf = alloc::format!("Idle -> RadixIPsecLookup({bad}) => Discard, Discard, Discard;");
        assert!(build_from_source(&conf).is_err(), "{bad}");
    }
    // The IPsec elements need the table upstream.
    assert!(build_from_source("Idle -> IPsecESPEncap -> Discard;").is_err());
}

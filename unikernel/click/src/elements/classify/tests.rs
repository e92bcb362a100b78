//! The three elements inside routers built from configuration text.

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use crate::packet::Packet;
use crate::testing::{build_from_source, router_from_source, sink_contents};

/// A 14-byte Ethernet header and a 20-byte IP header with `proto`, then
/// `rest` as the transport header; the IP header annotation is set when
/// `mark`.
fn frame(proto: u8, rest: &[u8], mark: bool) -> Packet {
    let mut d = vec![0u8; 14 + 20];
    d[12] = 8;
    d[14] = 0x45;
    d[14 + 2..14 + 4].copy_from_slice(&((20 + rest.len()) as u16).to_be_bytes());
    d[14 + 8] = 64;
    d[14 + 9] = proto;
    d[14 + 12..14 + 16].copy_from_slice(&[10, 0, 0, 1]);
    d[14 + 16..14 + 20].copy_from_slice(&[10, 0, 0, 2]);
    d.extend_from_slice(rest);
    let mut p = Packet::from_slice(&d);
    if mark {
        p.set_ip_header(14, 20);
    }
    p
}

fn ports(sport: u16, dport: u16) -> Vec<u8> {
    let mut v = vec![0u8; 20];
    v[0..2].copy_from_slice(&sport.to_be_bytes());
    v[2..4].copy_from_slice(&dport.to_be_bytes());
    v
}

#[test]
fn ipfilter_in_a_router() {
    let (r, _) = router_from_source(
        "f :: IPFilter(allow tcp && dst port 80,   // web
                       1 udp dst port domain,
                       deny all);
         s :: TestSink;
         Idle -> f; f[0] -> [0] s; f[1] -> [1] s;",
    );
    let f = r.find("f").unwrap();
    r.inject(f, 0, frame(6, &ports(1, 80), true));
    r.inject(f, 0, frame(17, &ports(1, 53), true));
    r.inject(f, 0, frame(6, &ports(1, 81), true));
    r.inject(f, 0, frame(1, &[8, 0, 0, 0], true));
    let got: Vec<(usize, u8)> = sink_contents(&r, "s")
        .iter()
        .map(|(port, d)| (*port, d[14 + 9]))
        .collect();
    assert_eq!(got, vec![(0, 6), (1, 17)]);
    let prog = r.read("f.program").unwrap();
    assert!(prog.contains("rule 2 -> drop: true"), "{prog}");
    assert!(r.read("f.config").unwrap().contains("dst port domain"));
}

#[test]
fn ipclassifier_and_classifier_in_a_router() {
    let (r, _) = router_from_source(
        "c :: Classifier(12/0800, 12/0806, -);
         ipc :: IPClassifier(src port 80 or 81, udp, -);
         s :: TestSink;
         Idle -> c;
         c[0] -> [5] s;
         c[1] -> [3] s; c[2] -> [4] s;
         Idle -> ipc; ipc[0] -> [0] s; ipc[1] -> [1] s; ipc[2] -> [2] s;",
    );
    let ipc = r.find("ipc").unwrap();
    r.inject(ipc, 0, frame(6, &ports(81, 1), true));
    r.inject(ipc, 0, frame(17, &ports(1, 1), true));
    r.inject(ipc, 0, frame(6, &ports(1, 1), true));
    // Without the IP header annotation every test is on missing bytes.
    r.inject(ipc, 0, frame(6, &ports(80, 1), false));
    let c = r.find("c").unwrap();
    let mut arp = frame(0, &[], false);
    arp.data_mut()[13] = 6;
    r.inject(c, 0, arp);
    r.inject(c, 0, Packet::from_slice(&[0; 10]));
    r.inject(c, 0, frame(6, &[], false));
    let got: Vec<usize> = sink_contents(&r, "s").iter().map(|(p, _)| *p).collect();
    assert_eq!(got, vec![0, 1, 2, 2, 3, 4, 5]);
}

#[test]
fn batches_keep_order_per_output() {
    let (r, _) = router_from_source(
        "f :: IPFilter(0 dst port 1, 1 dst port 2, drop dst port 3);
         s :: TestSink; Idle -> f; f[0] -> [0] s; f[1] -> [1] s;",
    );
    let f = r.find("f").unwrap();
    let mut b = crate::batch::Batch::new();
    for d in [1u16, 1, 2, 3, 1, 2, 2, 9] {
        let _ = b.push(frame(17, &ports(0, d), true));
    }
    r.with_element(f, |e, cx| e.push_batch(cx, 0, b));
    let got: Vec<(usize, u8)> = sink_contents(&r, "s")
        .iter()
        .map(|(p, d)| (*p, d[34 + 3]))
        .collect();
    assert_eq!(got, vec![(0, 1), (0, 1), (1, 2), (0, 1), (1, 2), (1, 2)]);
}

#[test]
fn a_filtered_batch_keeps_its_order_on_its_one_output() {
    let (r, _) = router_from_source(
        "f :: IPFilter(allow dst port 1, deny all); s :: TestSink; Idle -> f -> s;",
    );
    let f = r.find("f").unwrap();
    let mut b = crate::batch::Batch::new();
    for (i, d) in [3u16, 1, 1, 3, 1, 3, 3, 1].into_iter().enumerate() {
        let _ = b.push(frame(17, &ports(i as u16, d), true));
    }
    r.with_element(f, |e, cx| e.push_batch(cx, 0, b));
    let got: Vec<u8> = sink_contents(&r, "s")
        .iter()
        .map(|(_, d)| d[34 + 1])
        .collect();
    assert_eq!(got, vec![1, 2, 4, 7]);
}

#[test]
fn configuration_errors_are_located() {
    let errs = |src: &str| -> Vec<alloc::string::String> {
        match build_from_source(src) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
        }
    };
    let e = errs("Idle -> f :: IPFilter(allow tcp,\n  allow port foo) -> Discard;");
    assert!(
        e.iter()
            .any(|m| m
                .ends_with("'f :: IPFilter': pattern 1: expected port number or name, got 'foo'")),
        "{e:?}"
    );
    let e = errs("Idle -> c :: Classifier(12/080, -) => Discard, Discard;");
    assert!(
        e.iter()
            .any(|m| m.contains("pattern 0: value has odd number of hex digits")),
        "{e:?}"
    );
    let e = errs("Idle -> c :: IPClassifier(tcp, udp) -> Discard;");
    assert!(
        e.iter()
            .any(|m| m.contains("need 1 arguments, one per output port (got 2)")),
        "{e:?}"
    );
}

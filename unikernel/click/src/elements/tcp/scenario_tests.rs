//! Click's `test-tcp.click` endpoint, whole: TCPDemux, TCPAck, TCPConn,
//! TCPBuffer, BufferConverter, CopyFlowID and CopyTCPSeq wired as that file
//! wires them (devices replaced by test elements), talking to a scripted
//! peer.

use alloc::vec::Vec;

use super::test_util::run_to;
use super::{ip_tcp_packet, parse_ip_tcp, Header, ACK, PSH, SYN};
use crate::net::checksum;
use crate::router::Router;
use crate::testing::{router_from_source, sink_contents};
use crate::time::Timestamp;

const TEST_TCP: &str = "
Idle -> from :: CheckIPHeader -> is_tcp :: IPClassifier(tcp dst 18.26.4.10, -);
is_tcp [1] -> Discard;
ack :: TCPAck; con :: TCPConn; dmx :: TCPDemux; rob :: TCPBuffer(false);
b2p :: BufferConverter(1400); fid :: CopyFlowID; seq :: CopyTCPSeq;
out :: SetTCPChecksum -> SetIPChecksum -> wire :: TestSink;
is_tcp [0] -> CheckTCPHeader -> dmx -> [0] ack [0] -> [0] con [0] -> rob -> [0] b2p;
b2p -> Queue -> [1] con [1] -> Unqueue -> [1] ack [1] -> [0] fid [0] -> [0] seq [0] -> out;
con [2] -> [0] fid;
ack [2] -> [1] fid [1] -> [1] seq [1] -> out;
Idle -> [1] b2p;
";

const US: [u8; 4] = [18, 26, 4, 10];
const PEER: [u8; 4] = [18, 26, 4, 99];

/// What went out on the wire: checked headers, as (header, payload).
fn wire(r: &Router) -> Vec<(Header, Vec<u8>)> {
    sink_contents(r, "wire")
        .into_iter()
        .map(|(_, b)| {
            let (iph, h, data) = parse_ip_tcp(&b).expect("TCP/IP on the wire");
            assert_eq!(checksum::checksum(iph), 0, "IP checksum");
            assert_eq!(&iph[12..20], &[US, PEER].concat()[..], "addresses");
            (h, data.to_vec())
        })
        .collect()
}

#[test]
fn test_tcp_click_connects_sends_receives_and_acknowledges() {
    let (r, _) = router_from_source(TEST_TCP);
    let from = r.find("from").unwrap();
    let peer = |seq: u32, ack: u32, flags: u8, data: &[u8]| {
        let h = Header {
            sport: 80,
            dport: 4000,
            seq,
            ack,
            flags,
            win: 8192,
        };
        r.inject(from, 0, ip_tcp_packet(PEER, US, 0, &h, data).unwrap());
    };
    r.write("con.ctrl", "connect 18.26.4.10 4000 18.26.4.99 80")
        .unwrap();
    let (syn, _) = wire(&r)[0].clone();
    assert_eq!((syn.sport, syn.dport, syn.flags), (4000, 80, SYN));
    let iss = syn.seq;
    // The application writes before the connection is up: it waits.
    r.write("b2p.data", "GET / HTTP/1.0\r\n\r\n").unwrap();
    run_to(&r, r.now() + Timestamp::from_msec(5));
    assert_eq!(wire(&r).len(), 1);
    peer(7000, iss + 1, SYN | ACK, &[]);
    assert_eq!(r.read("con.state").unwrap(), "established");
    run_to(&r, r.now() + Timestamp::from_msec(5));
    let (req, body) = wire(&r)[1].clone();
    assert_eq!((req.seq, req.ack, req.flags), (iss + 1, 7001, PSH));
    assert_eq!(body, b"GET / HTTP/1.0\r\n\r\n");
    // The reply, out of order: the second half waits in the buffer and
    // is acknowledged only with the first.
    peer(7011, iss + 19, ACK, b"world");
    peer(7001, iss + 19, ACK, b"hello, the");
    assert_eq!(r.read("ack.ack").unwrap(), "7016");
    assert_eq!(r.read("b2p.data").unwrap(), "hello, the");
    assert_eq!(r.read("b2p.data").unwrap(), "world");
    // No data leaves within the delay: one explicit ACK, with the flow's
    // addresses and ports and the highest sequence number sent.
    run_to(&r, r.now() + Timestamp::from_msec(50));
    let sent = wire(&r);
    assert_eq!(sent.len(), 3);
    let (a, d) = &sent[2];
    assert_eq!(
        (a.sport, a.dport, a.flags, a.ack, a.seq),
        (4000, 80, ACK, 7016, iss + 1)
    );
    assert!(d.is_empty());
    // A peer segment for another port never reaches the endpoint.
    let h = Header {
        sport: 80,
        dport: 4001,
        seq: 1,
        ack: 1,
        flags: ACK,
        win: 1,
    };
    r.inject(from, 0, ip_tcp_packet(PEER, US, 0, &h, b"x").unwrap());
    assert_eq!(r.read("b2p.data").unwrap(), "");
}

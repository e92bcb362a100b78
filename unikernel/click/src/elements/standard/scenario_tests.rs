//! Config-text scenarios mirroring the conformance cases this group
//! serves (h_tee_paint, i_queue), checked without the device elements.

use alloc::vec::Vec;

use crate::packet::Packet;
use crate::testing::{router_from_source, sink_contents};

fn painted_sink(r: &crate::Router, name: &str) -> Vec<(usize, u8, Vec<u8>)> {
    let eid = r.find(name).unwrap();
    r.with_element(eid, |e, _| {
        e.downcast_ref::<crate::testing::TestSink>()
            .unwrap()
            .got
            .iter()
            .map(|(port, p)| (*port, p.paint(), p.data().to_vec()))
            .collect()
    })
    .unwrap()
}

#[test]
fn tee_paint_ordering_in_a_shared_sink() {
    let (r, _) = router_from_source(
        "src :: Idle -> j :: Null -> Paint(1) -> t :: Tee(3);
         t[0] -> ps :: PaintSwitch;
         ps[0] -> c0 :: Counter -> Discard;
         ps[1] -> c1 :: Counter -> mix :: TestSink;
         t[1] -> pt :: PaintTee(1);
         pt[1] -> [1] mix;
         pt[0] -> cp :: CheckPaint(2);
         cp[0] -> [2] mix;
         cp[1] -> notcp :: Counter -> [3] mix;
         t[2] -> Strip(1) -> Unstrip(1) -> [4] mix;",
    );
    let j = r.find("j").unwrap();
    r.inject(j, 0, Packet::from_slice(&[7, 8]));
    let got = painted_sink(&r, "mix");
    let ports: Vec<usize> = got.iter().map(|g| g.0).collect();
    // Tee: clone 0 (PaintSwitch -> colour 1 -> output 1), clone 1
    // (PaintTee: copy first, then the original fails CheckPaint(2)), then
    // the original through Strip/Unstrip.
    assert_eq!(ports, [0, 1, 3, 4]);
    assert!(got.iter().all(|g| g.1 == 1 && g.2 == [7, 8]));
    assert_eq!(r.read("c1.count").unwrap(), "1");
    assert_eq!(r.read("notcp.count").unwrap(), "1");
}

#[test]
fn queue_scenario_like_i_queue() {
    let (r, _) = router_from_source(
        "t :: Tee(2);
         t[0] -> big :: Queue(1000) -> fifo :: Unqueue -> TestSink;
         t[1] -> q3 :: Queue(100) -> lim :: Unqueue(BURST 4, LIMIT 10, ACTIVE false) -> out :: TestSink;
         Idle -> t;",
    );
    let t = r.find("t").unwrap();
    for i in 0..60u8 {
        r.inject(t, 0, Packet::from_slice(&[i]));
    }
    r.run_until_idle();
    assert_eq!(r.read("big.length").unwrap(), "0");
    assert_eq!(r.read("q3.length").unwrap(), "60");
    r.write("lim.active", "true").unwrap();
    r.run_until_idle();
    assert_eq!(r.read("lim.count").unwrap(), "10");
    assert_eq!(r.read("q3.length").unwrap(), "50");
    let got: Vec<u8> = sink_contents(&r, "out").iter().map(|(_, d)| d[0]).collect();
    assert_eq!(got, (0..10).collect::<Vec<u8>>());
}

use super::*;
use alloc::vec::Vec;

struct Spin;

impl Notify for Spin {
    fn notify(&mut self) {}
    fn wait(&mut self) {
        std::thread::yield_now();
    }
}

fn pair(start: u32) -> (GuestRing<Spin>, ServerRing, Interface) {
    let page = SharedPage::new().unwrap();
    let i = page.interface();
    // Indices need not start at 0.
    for off in [REQ_CONS, REQ_PROD, RSP_CONS, RSP_PROD] {
        i.store(off, start);
    }
    let server = ServerRing::new(page.interface(), FEATURE_RECONNECTION | FEATURE_ERROR);
    (GuestRing::new(page.interface(), Spin), server, i)
}

#[test]
fn bytes_cross_the_wrap_point_in_order() {
    let (mut g, mut s, _) = pair(u32::MAX - 100);
    let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = [0u8; 300];
    while got.len() < data.len() {
        sent += g.write(&data[sent..]).unwrap();
        let n = s.read_requests(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, data);
    // And back.
    let mut back = Vec::new();
    let mut off = 0;
    while back.len() < data.len() {
        off += s.write_responses(&data[off..]).unwrap();
        let n = g.read(&mut buf).unwrap();
        back.extend_from_slice(&buf[..n]);
    }
    assert_eq!(back, data);
}

#[test]
fn full_ring_takes_nothing_more() {
    let (mut g, _s, _) = pair(0);
    assert_eq!(g.write(&[1u8; 2000]).unwrap(), RING_SIZE as usize);
    assert_eq!(g.write(&[1u8; 10]).unwrap(), 0);
}

#[test]
fn bad_indices_are_errors_not_panics() {
    let (mut g, mut s, i) = pair(0);
    i.store(RSP_PROD, 5000);
    let mut buf = [0u8; 16];
    assert_eq!(g.read(&mut buf), Err(RingError::BadIndex));
    i.store(REQ_PROD, 3000);
    assert_eq!(s.read_requests(&mut buf), Err(RingError::BadIndex));
    assert_eq!(i.load(ERROR), ERROR_RINGIDX);
    assert_eq!(g.write(&buf), Err(RingError::Server(ERROR_RINGIDX)));
}

#[test]
fn reconnection_handshake() {
    let (mut g, mut s, i) = pair(7);
    g.write(b"partial").unwrap();
    let server = std::thread::spawn(move || {
        while !s.take_reconnect() {
            std::thread::yield_now();
        }
        s
    });
    assert_eq!(g.reconnect(), Ok(true));
    let mut s = server.join().unwrap();
    assert_eq!(i.load(CONNECTION), CONNECTED);
    let mut buf = [0u8; 16];
    assert_eq!(s.read_requests(&mut buf).unwrap(), 0, "queue was discarded");
}

//! The guest's client (the same no_std code the unikernel runs) against the
//! host store, over a socket pair and over a simulated Xen ring.

mod common;

use common::TestServer;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use xenstore::client::{BlockingClient, StreamTransport, Transport};
use xenstore::ring::{
    GuestRing, Notify, ServerRing, SharedPage, FEATURE_ERROR, FEATURE_RECONNECTION,
};
use xenstore::Errno;

const DOMID: u32 = 5;

/// What a ClickOS guest does: read its config, answer handlers, watch for commands.
fn scenario<T: Transport>(c: &mut BlockingClient<T>, host: &mut common::SockClient)
where
    T::Error: std::fmt::Debug,
{
    let home = c.get_domain_path(DOMID).expect("domain path");
    assert_eq!(home, "/local/domain/5");
    // The host writes a config in chunks; the guest reads them back in order.
    let config = "FromDevice(0) -> Counter -> ToDevice(0);\n".repeat(60);
    for (i, chunk) in config.as_bytes().chunks(992).enumerate() {
        host.write(&format!("{home}/data/clickos/0/config/{i}"), chunk)
            .expect("host write");
    }
    let mut got = Vec::new();
    for i in 0.. {
        match c.read(&format!("data/clickos/0/config/{i}")) {
            Ok(v) => got.extend(v),
            Err(e) if e.errno() == Some(Errno::ENOENT) => break,
            Err(e) => panic!("reading chunk {i}: {e:?}"),
        }
    }
    assert_eq!(got, config.as_bytes());
    // Relative writes land in the home; the host sees them.
    c.write("data/clickos/0/status", b"Running")
        .expect("status");
    assert_eq!(
        host.read("/local/domain/5/data/clickos/0/status").unwrap(),
        b"Running"
    );
    // A watch set with a relative path reports relative paths, after its initial event.
    c.watch("data/clickos/0/control", b"ctl").expect("watch");
    let first = c.wait_event().expect("initial event");
    assert_eq!(first.path, "data/clickos/0/control");
    host.write("/local/domain/5/data/clickos/0/control/read/c/count", b"")
        .unwrap();
    let ev = c.wait_event().expect("control event");
    assert_eq!(ev.path, "data/clickos/0/control/read/c/count");
    assert_eq!(ev.token, b"ctl");
    // Replies and events interleave: a read right after a host write still matches its reply.
    host.write("/local/domain/5/data/clickos/0/control/x", b"1")
        .unwrap();
    assert_eq!(c.read("data/clickos/0/status").unwrap(), b"Running");
    assert_eq!(
        c.next_event().map(|e| e.path),
        Some("data/clickos/0/control/x".to_string())
    );
    // A transaction with the retry loop.
    let n = c
        .transaction(|t| {
            let v = t.read("data/clickos/0/status")?;
            t.write("data/clickos/0/elements/c/count", b"42")?;
            Ok(v.len())
        })
        .expect("transaction");
    assert_eq!(n, 7);
    assert_eq!(
        host.read("/local/domain/5/data/clickos/0/elements/c/count")
            .unwrap(),
        b"42"
    );
    let mut names = c.directory("data/clickos/0").expect("directory");
    names.sort();
    assert_eq!(names, ["config", "control", "elements", "status"]);
    // Confinement.
    assert_eq!(
        c.read("/local/domain/6/x").unwrap_err().errno(),
        Some(Errno::ENOENT)
    );
    host.write("/local/domain/6/x", b"1").unwrap();
    assert_eq!(
        c.read("/local/domain/6/x").unwrap_err().errno(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        c.write("/mbctl/x", b"1").unwrap_err().errno(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        c.read("bad//path").unwrap_err().errno(),
        Some(Errno::EINVAL)
    );
    c.unwatch("data/clickos/0/control", b"ctl")
        .expect("unwatch");
}

#[test]
fn over_a_socket_pair() {
    let t = TestServer::start("gc-pair");
    t.guest(6);
    let mut host = t.client();
    host.call(
        0,
        &xenstore::client::Request::Introduce {
            domid: DOMID,
            mfn: 0,
            evtchn: 0,
        },
    )
    .unwrap();
    host.mkdir("/local/domain/5").unwrap();
    host.set_perms(
        "/local/domain/5",
        &xenstore::wire::PermList::owned_by(5, xenstore::wire::Access::None),
    )
    .unwrap();
    let (ours, theirs) = UnixStream::pair().unwrap();
    t.server.attach(DOMID, theirs);
    let mut c = BlockingClient::new(StreamTransport(ours));
    scenario(&mut c, &mut host);
}

struct Yield;

impl Notify for Yield {
    fn notify(&mut self) {}
    fn wait(&mut self) {
        thread::yield_now();
    }
}

/// The host side of the simulated ring: moves bytes between the page and a
/// guest connection of the server, as a Xen backend would; on a reconnection
/// request it opens a fresh connection so the server forgets the old state.
fn ring_peer(mut ring: ServerRing, t_sock: std::path::PathBuf, stop: Arc<AtomicBool>) {
    let connect = || {
        let s = UnixStream::connect(&t_sock).expect("peer connect");
        s.set_nonblocking(true).unwrap();
        s
    };
    let mut s = connect();
    let mut to_guest: Vec<u8> = Vec::new();
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::SeqCst) {
        if ring.take_reconnect() {
            s = connect();
            to_guest.clear();
        }
        let n = ring.read_requests(&mut buf).expect("ring indices");
        if n > 0 {
            s.set_nonblocking(false).unwrap();
            s.write_all(&buf[..n]).expect("peer write");
            s.set_nonblocking(true).unwrap();
        }
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => to_guest.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("peer read: {e}"),
        }
        if !to_guest.is_empty() {
            let n = ring.write_responses(&to_guest).expect("ring indices");
            to_guest.drain(..n);
        }
        if n == 0 {
            thread::yield_now();
        }
    }
}

#[test]
fn over_a_simulated_xen_ring() {
    let t = TestServer::start("gc-ring");
    let sock = t.guest(DOMID);
    t.guest(6);
    let mut host = t.client();
    let page = SharedPage::new().expect("page");
    let server_end = ServerRing::new(page.interface(), FEATURE_RECONNECTION | FEATURE_ERROR);
    let stop = Arc::new(AtomicBool::new(false));
    let peer = {
        let stop = stop.clone();
        thread::spawn(move || ring_peer(server_end, sock, stop))
    };
    let mut c = BlockingClient::new(GuestRing::new(page.interface(), Yield));
    scenario(&mut c, &mut host);
    // Reconnection: the server forgets the connection (and its transaction);
    // the client registers its watch again and keeps working.
    c.watch("data/clickos/0/status", b"st").unwrap();
    assert_eq!(c.wait_event().unwrap().path, "data/clickos/0/status");
    let tx = c.start_transaction().unwrap().id();
    assert!(c.reconnect().expect("reconnect"));
    assert_eq!(
        c.wait_event().unwrap().path,
        "data/clickos/0/status",
        "initial event after re-registration"
    );
    assert_eq!(
        c.call(
            tx,
            &xenstore::client::Request::Read("data/clickos/0/status")
        )
        .unwrap_err()
        .errno(),
        Some(Errno::ENOENT),
        "transactions do not survive a reconnection"
    );
    host.write("/local/domain/5/data/clickos/0/status", b"Halted")
        .unwrap();
    let ev = c.wait_event().unwrap();
    assert_eq!(
        (ev.path.as_str(), ev.token.as_slice()),
        ("data/clickos/0/status", &b"st"[..])
    );
    assert_eq!(c.read("data/clickos/0/status").unwrap(), b"Halted");
    stop.store(true, Ordering::SeqCst);
    peer.join().expect("peer thread");
}

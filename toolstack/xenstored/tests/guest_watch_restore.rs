//! A guest's watches survive a restart of the server: its next connection
//! (QEMU's chardev reconnecting) receives events without re-registering,
//! and sees nothing of the restoration itself.

mod common;

use common::temp_dir;
use mb_xenstored::{Config, Server};
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use xenstore::client::{BlockingClient, StreamTransport};

#[test]
fn watches_come_back_on_the_next_connection() {
    let dir = temp_dir("gwatch");
    let cfg = Config::new(dir.join("s.sock")).with_state_dir(dir.join("state"));
    let guest_sock = dir.join("g3.sock");
    let s = Server::start(cfg.clone()).unwrap();
    s.add_guest_socket(3, &guest_sock).unwrap();
    let mut g = common::connect(&guest_sock);
    g.watch("data/clickos", b"router-watch").unwrap();
    assert_eq!(g.wait_event().unwrap().path, "data/clickos");
    drop(g);
    s.shutdown();

    let s = Server::start(cfg).unwrap();
    s.add_guest_socket(3, &guest_sock).unwrap();
    let raw = UnixStream::connect(&guest_sock).unwrap();
    // Nothing arrives unasked: the restored watch's reply and first event
    // are not sent.
    raw.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut probe = raw.try_clone().unwrap();
    let mut buf = [0u8; 64];
    assert!(
        probe.read(&mut buf).is_err(),
        "unexpected bytes for the guest"
    );
    raw.set_read_timeout(None).unwrap();
    let mut g = BlockingClient::new(StreamTransport(raw));
    let mut host = common::connect(&dir.join("s.sock"));
    host.write("/local/domain/3/data/clickos/0/status", b"Running")
        .unwrap();
    let ev = g.wait_event().unwrap();
    assert_eq!(ev.path, "data/clickos/0/status");
    assert_eq!(ev.token, b"router-watch");

    // remove_guest forgets them: a later guest of the same id starts clean.
    drop(g);
    s.remove_guest(3).unwrap();
    s.add_guest_socket(3, &guest_sock).unwrap();
    let raw = UnixStream::connect(&guest_sock).unwrap();
    raw.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    host.write("/local/domain/3/data/clickos/0/status", b"Halted")
        .unwrap();
    let mut probe = raw.try_clone().unwrap();
    assert!(probe.read(&mut buf).is_err(), "a forgotten watch fired");
    s.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

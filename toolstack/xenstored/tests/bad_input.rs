//! Malformed, oversized and truncated input never hurts the server or other clients.

mod common;

use common::TestServer;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use xenstore::wire::{FrameDecoder, Header, Message, MsgType};
use xenstore::Errno;

fn raw(t: &TestServer) -> UnixStream {
    UnixStream::connect(&t.sock).unwrap()
}

fn read_reply(s: &mut UnixStream) -> Option<Message> {
    let mut d = FrameDecoder::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(m) = d.next_message().unwrap() {
            return Some(m);
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => d.push(&buf[..n]),
        }
    }
}

fn assert_closed(s: &mut UnixStream) {
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}

#[test]
fn oversized_header_closes_only_that_connection() {
    let t = TestServer::start("bad-big");
    let mut good = t.client();
    good.write("/ok", b"1").unwrap();
    let mut bad = raw(&t);
    let h = Header {
        ty: MsgType::Write,
        req_id: 1,
        tx_id: 0,
        len: 4097,
    };
    bad.write_all(&h.encode()).unwrap();
    assert_closed(&mut bad);
    assert_eq!(good.read("/ok").unwrap(), b"1");
}

#[test]
fn malformed_requests_get_error_replies() {
    let t = TestServer::start("bad-msg");
    let mut s = raw(&t);
    let cases: Vec<(MsgType, &[u8], Errno)> = vec![
        (MsgType::Unknown(77), b"x", Errno::EINVAL),
        (MsgType::Read, b"", Errno::EINVAL),
        (MsgType::Read, b"no/\0nul", Errno::EINVAL),
        (MsgType::Write, b"/no-nul-separator", Errno::EINVAL),
        (MsgType::WatchEvent, b"/x\0t\0", Errno::EINVAL),
        (MsgType::TransactionEnd, b"T\0", Errno::ENOENT),
        (MsgType::SetPerms, b"/\0zz\0", Errno::EINVAL),
        (MsgType::Read, b"/\xc3\x28\0", Errno::EINVAL),
    ];
    for (i, (ty, p, want)) in cases.into_iter().enumerate() {
        let m = Message::new(ty, 100 + i as u32, 0, p.to_vec());
        s.write_all(&m.encode().unwrap()).unwrap();
        let r = read_reply(&mut s).expect("reply");
        assert_eq!(r.req_id, 100 + i as u32);
        assert_eq!(r.errno(), Some(want), "{ty:?} {p:?}");
    }
}

#[test]
fn truncated_and_random_input_leave_others_unharmed() {
    let t = TestServer::start("bad-trunc");
    let mut good = t.client();
    // A header promising more than is sent, then hang-up.
    let mut s = raw(&t);
    let h = Header {
        ty: MsgType::Write,
        req_id: 1,
        tx_id: 0,
        len: 100,
    };
    s.write_all(&h.encode()).unwrap();
    s.write_all(b"/half").unwrap();
    drop(s);
    // Pseudo-random garbage from a few connections.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..8 {
        let mut s = raw(&t);
        let mut junk = vec![0u8; 3000];
        for b in junk.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let _ = s.write_all(&junk);
        drop(s);
    }
    good.write("/still", b"here").unwrap();
    assert_eq!(good.read("/still").unwrap(), b"here");
}

#[test]
fn a_client_that_never_reads_is_cut_off() {
    let t = TestServer::start("bad-slow");
    let mut writer = t.client();
    writer.mkdir("/flood").unwrap();
    let mut lazy = t.client();
    lazy.watch("/flood", b"t").unwrap();
    // Far more event bytes than the lazy client's queue (1 MiB) and socket
    // buffer hold: 20000 events of about 1 KiB.
    let long = format!("/flood/{}", "x".repeat(1000));
    for i in 0..20_000 {
        writer.write(&long, i.to_string().as_bytes()).unwrap();
    }
    let mut s = lazy.transport_mut().0.try_clone().unwrap();
    assert_closed(&mut s);
    assert_eq!(writer.read(&long).unwrap(), b"19999");
}

#[test]
fn a_guest_socket_accepts_only_a_few_connections() {
    let t = TestServer::start("bad-conns");
    let g = t.guest(3);
    let mut kept: Vec<common::SockClient> = (0..mb_xenstored::GUEST_CONNS_MAX)
        .map(|_| common::connect(&g))
        .collect();
    for c in kept.iter_mut() {
        c.write("data/x", b"1").unwrap();
    }
    let mut extra = UnixStream::connect(&g).unwrap();
    assert_closed(&mut extra);
    drop(kept.pop());
    // A slot frees up once the server has seen the hang-up.
    let mut again = loop {
        let mut c = common::connect(&g);
        if c.read("data/x").is_ok() {
            break c;
        }
    };
    assert_eq!(again.read("data/x").unwrap(), b"1");
}

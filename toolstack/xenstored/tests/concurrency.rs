//! Many clients writing, watching and transacting at once.

mod common;

use common::TestServer;
use std::collections::HashMap;
use std::thread;
use xenstore::Errno;

const WRITERS: usize = 6;
const WRITES: usize = 150;
const WATCHERS: usize = 3;

#[test]
fn watchers_see_every_write() {
    let t = TestServer::start("conc-watch");
    let mut setup = t.client();
    setup.mkdir("/c").unwrap();
    let mut watchers = Vec::new();
    for w in 0..WATCHERS {
        let mut c = t.client();
        c.watch("/c", format!("w{w}").as_bytes()).unwrap();
        watchers.push(thread::spawn(move || {
            let first = c.wait_event().unwrap();
            assert_eq!(first.path, "/c");
            let mut per_key: HashMap<String, usize> = HashMap::new();
            for _ in 0..WRITERS * WRITES {
                let ev = c.wait_event().unwrap();
                *per_key.entry(ev.path).or_default() += 1;
            }
            // Reading after the events: the last write of every key is visible.
            let finals: Vec<Vec<u8>> = (0..WRITERS)
                .map(|i| c.read(&format!("/c/k{i}")).unwrap())
                .collect();
            (per_key, finals)
        }));
    }
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let mut c = t.client();
            thread::spawn(move || {
                for j in 0..WRITES {
                    c.write(&format!("/c/k{i}"), j.to_string().as_bytes())
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    for w in watchers {
        let (per_key, finals) = w.join().unwrap();
        assert_eq!(per_key.len(), WRITERS);
        assert!(per_key.values().all(|&n| n == WRITES), "{per_key:?}");
        for f in finals {
            assert_eq!(f, (WRITES - 1).to_string().as_bytes());
        }
    }
}

#[test]
fn concurrent_transactions_lose_no_increment() {
    let t = TestServer::start("conc-txn");
    let mut setup = t.client();
    setup.write("/ctr", b"0").unwrap();
    const CLIENTS: usize = 5;
    const INCS: usize = 40;
    let handles: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let mut c = t.client();
            thread::spawn(move || {
                for _ in 0..INCS {
                    c.transaction(|tx| {
                        let v: usize = String::from_utf8(tx.read("/ctr")?)
                            .unwrap()
                            .parse()
                            .unwrap();
                        tx.write("/ctr", (v + 1).to_string().as_bytes())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        setup.read("/ctr").unwrap(),
        (CLIENTS * INCS).to_string().as_bytes()
    );
}

#[test]
fn conflicting_transaction_gets_eagain_over_the_socket() {
    let t = TestServer::start("conc-eagain");
    let mut a = t.client();
    let mut b = t.client();
    a.write("/x", b"0").unwrap();
    let mut ta = a.start_transaction().unwrap();
    assert_eq!(ta.read("/x").unwrap(), b"0");
    ta.write("/x", b"a").unwrap();
    b.write("/x", b"b").unwrap();
    assert_eq!(ta.commit().unwrap_err().errno(), Some(Errno::EAGAIN));
    assert_eq!(a.read("/x").unwrap(), b"b");
}

/// A transaction left open past its timeout is ended by the server: its
/// commit gets EAGAIN (the client's retry loop starts afresh) and its
/// slot is free again.
#[test]
fn a_stale_transaction_times_out() {
    let dir = common::temp_dir("conc-timeout");
    let mut cfg = mb_xenstored::Config::new(dir.join("s.sock"));
    cfg.quota.txn_timeout_ms = 100;
    cfg.quota.max_transactions = 1;
    let s = mb_xenstored::Server::start(cfg).unwrap();
    let g = dir.join("g4.sock");
    s.add_guest_socket(4, &g).unwrap();
    let mut c = common::connect(&g);
    let id = c.start_transaction().unwrap().id();
    let mut c2 = common::connect(&g);
    assert_eq!(
        c2.start_transaction().err().and_then(|e| e.errno()),
        Some(Errno::ENOSPC)
    );
    thread::sleep(std::time::Duration::from_millis(200));
    let write = xenstore::client::Request::Write("data/x", b"1");
    assert_eq!(c.call(id, &write).unwrap_err().errno(), Some(Errno::EAGAIN));
    let end = xenstore::client::Request::TransactionEnd(true);
    assert_eq!(c.call(id, &end).unwrap_err().errno(), Some(Errno::EAGAIN));
    // The retry loop succeeds on a fresh transaction.
    c.transaction(|t| t.write("data/x", b"1")).unwrap();
    assert_eq!(c.read("data/x").unwrap(), b"1");
    s.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

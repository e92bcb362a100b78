//! Request-level tests of the store: what a client sees on the wire.

use super::*;
use crate::wire::split_list;
use alloc::vec;

struct Fixture {
    s: Store,
    next: u32,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            s: Store::default(),
            next: 1,
        }
    }

    fn req(
        &mut self,
        conn: ConnId,
        ty: MsgType,
        tx: u32,
        payload: &[u8],
    ) -> (Message, Vec<Outgoing>) {
        self.next += 1;
        let mut out = Vec::new();
        self.s.handle(
            conn,
            &Message::new(ty, self.next, tx, payload.to_vec()),
            &mut out,
        );
        assert!(!out.is_empty(), "no reply");
        let reply = out.remove(0);
        assert_eq!(reply.conn, conn);
        assert_eq!(reply.msg.req_id, self.next);
        (reply.msg, out)
    }

    fn ok(&mut self, conn: ConnId, ty: MsgType, tx: u32, payload: &[u8]) -> Vec<u8> {
        let (m, _) = self.req(conn, ty, tx, payload);
        assert_eq!(
            m.errno(),
            None,
            "{ty:?} {:?}",
            core::str::from_utf8(payload)
        );
        m.payload
    }

    fn err(&mut self, conn: ConnId, ty: MsgType, tx: u32, payload: &[u8]) -> Errno {
        let (m, _) = self.req(conn, ty, tx, payload);
        m.errno().unwrap_or_else(|| panic!("{ty:?} succeeded"))
    }

    fn write(&mut self, conn: ConnId, tx: u32, path: &str, v: &str) -> Vec<Outgoing> {
        let mut p = nul_terminated(path);
        p.extend_from_slice(v.as_bytes());
        let (m, ev) = self.req(conn, MsgType::Write, tx, &p);
        assert_eq!(m.errno(), None, "write {path}");
        ev
    }

    fn start(&mut self, conn: ConnId) -> u32 {
        let p = self.ok(conn, MsgType::TransactionStart, 0, b"\0");
        core::str::from_utf8(&p[..p.len() - 1])
            .unwrap()
            .parse()
            .unwrap()
    }
}

fn events_for(out: &[Outgoing], conn: ConnId) -> Vec<(String, Vec<u8>)> {
    out.iter()
        .filter(|o| o.conn == conn && o.msg.ty == MsgType::WatchEvent)
        .map(|o| {
            let a = split_args(&o.msg.payload, 2).unwrap();
            (
                String::from(core::str::from_utf8(a[0]).unwrap()),
                a[1].to_vec(),
            )
        })
        .collect()
}

#[test]
fn watch_fires_initially_then_on_changes_below() {
    let mut f = Fixture::new();
    let a = f.s.connect(0);
    let b = f.s.connect(0);
    let (m, out) = f.req(a, MsgType::Watch, 0, b"/w\0tok\0");
    assert_eq!(m.payload, b"OK\0");
    assert_eq!(events_for(&out, a), vec![("/w".into(), b"tok".to_vec())]);
    let out = f.write(b, 0, "/w/x/y", "1");
    assert_eq!(
        events_for(&out, a),
        vec![("/w/x/y".into(), b"tok".to_vec())]
    );
    let out = f.write(b, 0, "/wx", "1");
    assert!(events_for(&out, a).is_empty());
    let (_, out) = f.req(b, MsgType::Rm, 0, b"/\0");
    assert!(
        events_for(&out, a).is_empty(),
        "removing the root is refused"
    );
    f.ok(a, MsgType::Unwatch, 0, b"/w\0tok\0");
    let out = f.write(b, 0, "/w/x/y", "2");
    assert!(events_for(&out, a).is_empty());
    assert_eq!(f.err(a, MsgType::Unwatch, 0, b"/w\0tok\0"), Errno::ENOENT);
}

#[test]
fn ancestor_removal_fires_with_watched_path() {
    let mut f = Fixture::new();
    let a = f.s.connect(0);
    f.write(a, 0, "/p/q/r", "1");
    f.ok(a, MsgType::Watch, 0, b"/p/q/r\0t\0");
    let (_, out) = f.req(a, MsgType::Rm, 0, b"/p\0");
    assert_eq!(events_for(&out, a), vec![("/p/q/r".into(), b"t".to_vec())]);
}

#[test]
fn relative_watch_reports_relative_paths() {
    let mut f = Fixture::new();
    let mut out = Vec::new();
    f.s.ensure_home(5, &mut out).unwrap();
    let g = f.s.connect(5);
    let (_, out) = f.req(g, MsgType::Watch, 0, b"data\0rel\0");
    assert_eq!(events_for(&out, g), vec![("data".into(), b"rel".to_vec())]);
    let d0 = f.s.connect(0);
    let out = f.write(d0, 0, "/local/domain/5/data/clickos/0/status", "Running");
    assert_eq!(
        events_for(&out, g),
        vec![("data/clickos/0/status".into(), b"rel".to_vec())]
    );
}

#[test]
fn events_respect_read_permission() {
    let mut f = Fixture::new();
    let mut out = Vec::new();
    f.s.ensure_home(5, &mut out).unwrap();
    let g = f.s.connect(5);
    let d0 = f.s.connect(0);
    // A guest may watch anything, but only sees events of nodes it can read.
    f.ok(g, MsgType::Watch, 0, b"/tool\0t\0");
    let out = f.write(d0, 0, "/tool/secret", "x");
    assert!(events_for(&out, g).is_empty());
}

#[test]
fn special_watches_fire_on_introduce_and_release() {
    let mut f = Fixture::new();
    let a = f.s.connect(0);
    f.ok(a, MsgType::Watch, 0, b"@introduceDomain\0i\0");
    f.ok(a, MsgType::Watch, 0, b"@releaseDomain\0r\0");
    let (_, out) = f.req(a, MsgType::Introduce, 0, b"3\x00123\x004\x00");
    assert_eq!(
        events_for(&out, a),
        vec![("@introduceDomain".into(), b"i".to_vec())]
    );
    assert_eq!(f.ok(a, MsgType::IsDomainIntroduced, 0, b"3\0"), b"T\0");
    assert_eq!(f.ok(a, MsgType::IsDomainIntroduced, 0, b"4\0"), b"F\0");
    let (_, out) = f.req(a, MsgType::Release, 0, b"3\0");
    assert_eq!(
        events_for(&out, a),
        vec![("@releaseDomain".into(), b"r".to_vec())]
    );
    assert_eq!(f.s.take_released(), vec![3]);
    assert_eq!(f.err(a, MsgType::Release, 0, b"3\0"), Errno::ENOENT);
    assert_eq!(
        f.ok(a, MsgType::GetDomainPath, 0, b"12\0"),
        b"/local/domain/12\0"
    );
    assert_eq!(f.err(a, MsgType::GetDomainPath, 0, b"x\0"), Errno::EINVAL);
    let g = f.s.connect(9);
    assert_eq!(
        f.err(g, MsgType::Introduce, 0, b"3\x00123\x004\x00"),
        Errno::EACCES
    );
}

#[test]
fn transactions_isolate_and_commit() {
    let mut f = Fixture::new();
    let a = f.s.connect(0);
    let b = f.s.connect(0);
    f.ok(b, MsgType::Watch, 0, b"/t\0w\0");
    let tx = f.start(a);
    let out = f.write(a, tx, "/t/x", "1");
    assert!(events_for(&out, b).is_empty(), "events wait for the commit");
    assert_eq!(f.err(b, MsgType::Read, 0, b"/t/x\0"), Errno::ENOENT);
    assert_eq!(f.ok(a, MsgType::Read, tx, b"/t/x\0"), b"1");
    assert_eq!(
        f.err(b, MsgType::Read, tx, b"/t/x\0"),
        Errno::ENOENT,
        "other connection's tx"
    );
    let (m, out) = f.req(a, MsgType::TransactionEnd, tx, b"T\0");
    assert_eq!(m.payload, b"OK\0");
    assert_eq!(events_for(&out, b), vec![("/t/x".into(), b"w".to_vec())]);
    assert_eq!(f.ok(b, MsgType::Read, 0, b"/t/x\0"), b"1");
    assert_eq!(
        f.err(a, MsgType::Read, tx, b"/t/x\0"),
        Errno::ENOENT,
        "tx is gone"
    );
}

#[test]
fn conflicting_transactions_get_eagain() {
    let mut f = Fixture::new();
    let a = f.s.connect(0);
    let b = f.s.connect(0);
    f.write(a, 0, "/c/n", "0");
    f.write(a, 0, "/c/other", "0");
    let t1 = f.start(a);
    let t2 = f.start(b);
    f.ok(a, MsgType::Read, t1, b"/c/n\0");
    f.ok(b, MsgType::Read, t2, b"/c/n\0");
    f.write(a, t1, "/c/n", "1");
    f.write(b, t2, "/c/n", "2");
    f.ok(a, MsgType::TransactionEnd, t1, b"T\0");
    assert_eq!(f.err(b, MsgType::TransactionEnd, t2, b"T\0"), Errno::EAGAIN);
    assert_eq!(f.ok(a, MsgType::Read, 0, b"/c/n\0"), b"1");
    // A change to a node the transaction never touched is no conflict.
    let t3 = f.start(a);
    f.ok(a, MsgType::Read, t3, b"/c/n\0");
    f.write(b, 0, "/c/other", "9");
    f.write(a, t3, "/c/n", "3");
    f.ok(a, MsgType::TransactionEnd, t3, b"T\0");
    // Creating a child changes the parent: a listing inside a transaction conflicts.
    let t4 = f.start(a);
    f.ok(a, MsgType::Directory, t4, b"/c\0");
    f.write(b, 0, "/c/new", "1");
    f.write(a, t4, "/c/sum", "2");
    assert_eq!(f.err(a, MsgType::TransactionEnd, t4, b"T\0"), Errno::EAGAIN);
    assert_eq!(f.err(a, MsgType::Read, 0, b"/c/sum\0"), Errno::ENOENT);
}

#[test]
fn transaction_rm_and_abort() {
    let mut f = Fixture::new();
    let a = f.s.connect(0);
    f.write(a, 0, "/r/a/b", "1");
    let t = f.start(a);
    f.ok(a, MsgType::Rm, t, b"/r/a\0");
    assert_eq!(f.err(a, MsgType::Read, t, b"/r/a/b\0"), Errno::ENOENT);
    assert_eq!(f.ok(a, MsgType::Read, 0, b"/r/a/b\0"), b"1");
    f.ok(a, MsgType::TransactionEnd, t, b"F\0");
    assert_eq!(f.ok(a, MsgType::Read, 0, b"/r/a/b\0"), b"1");
    let t = f.start(a);
    f.ok(a, MsgType::Rm, t, b"/r/a\0");
    f.ok(a, MsgType::TransactionEnd, t, b"T\0");
    assert_eq!(f.err(a, MsgType::Read, 0, b"/r/a/b\0"), Errno::ENOENT);
    assert_eq!(
        split_list(&f.ok(a, MsgType::Directory, 0, b"/r\0")).len(),
        0
    );
    assert_eq!(
        f.err(a, MsgType::TransactionEnd, 999, b"T\0"),
        Errno::ENOENT
    );
    let t = f.start(a);
    assert_eq!(f.err(a, MsgType::TransactionEnd, t, b"X\0"), Errno::EINVAL);
    assert_eq!(f.err(a, MsgType::TransactionStart, t, b"\0"), Errno::EBUSY);
}

#[test]
fn directory_part_chunks_long_listings() {
    let mut f = Fixture::new();
    let a = f.s.connect(0);
    let mut want = Vec::new();
    for i in 0..400 {
        let name = alloc::format!("child-with-a-long-name-{i:04}");
        f.write(a, 0, &alloc::format!("/big/{name}"), "");
        want.push(name);
    }
    want.sort();
    assert_eq!(f.err(a, MsgType::Directory, 0, b"/big\0"), Errno::E2BIG);
    let mut got: Vec<u8> = Vec::new();
    let mut chunks = 0;
    loop {
        let req = join_strings(&[&b"/big"[..], alloc::format!("{}", got.len()).as_bytes()]);
        let p = f.ok(a, MsgType::DirectoryPart, 0, &req);
        assert!(p.len() <= PAYLOAD_MAX);
        chunks += 1;
        let g = p.iter().position(|&b| b == 0).unwrap();
        let body = &p[g + 1..];
        if body.ends_with(&[0, 0]) || body == [0] {
            got.extend_from_slice(&body[..body.len() - 1]);
            break;
        }
        got.extend_from_slice(body);
    }
    assert!(chunks >= 3);
    let names: Vec<String> = split_list(&got)
        .into_iter()
        .map(|s| String::from(core::str::from_utf8(s).unwrap()))
        .collect();
    assert_eq!(names, want);
    assert_eq!(
        f.err(a, MsgType::DirectoryPart, 0, b"/big\x003\0"),
        Errno::EINVAL
    );
    assert_eq!(
        f.err(a, MsgType::DirectoryPart, 0, b"/big\x00999999\0"),
        Errno::EINVAL
    );
}

#[test]
fn quotas_limit_a_guest() {
    let mut f = Fixture {
        s: Store::new(Quota {
            max_watches: 2,
            max_transactions: 1,
            max_nodes: 4,
            ..Quota::default()
        }),
        next: 1,
    };
    let mut out = Vec::new();
    f.s.ensure_home(4, &mut out).unwrap();
    let g = f.s.connect(4);
    let g2 = f.s.connect(4);
    f.ok(g, MsgType::Watch, 0, b"a\0t\0");
    f.ok(g2, MsgType::Watch, 0, b"b\0t\0");
    assert_eq!(
        f.err(g, MsgType::Watch, 0, b"c\0t\0"),
        Errno::E2BIG,
        "quota is per domain"
    );
    f.ok(g, MsgType::ResetWatches, 0, b"\0");
    f.ok(g, MsgType::Watch, 0, b"a\0t\0");
    assert_eq!(f.err(g, MsgType::Watch, 0, b"a\0t\0"), Errno::EEXIST);
    let t = f.start(g);
    assert_eq!(
        f.err(g2, MsgType::TransactionStart, 0, b"\0"),
        Errno::ENOSPC
    );
    // Node quota also holds inside a transaction.
    f.write(g, t, "x/y", "");
    assert_eq!(f.err(g, MsgType::Write, t, b"z/w\0"), Errno::ENOSPC);
    f.ok(g, MsgType::TransactionEnd, t, b"T\0");
    assert_eq!(f.s.tree().owned_by(4), 3);
    let long = vec![b'x'; 1200];
    let mut p = b"/local/domain/4/w\0t".to_vec();
    p.extend_from_slice(&long);
    p.push(0);
    let d0 = f.s.connect(0);
    assert_eq!(
        f.err(d0, MsgType::Watch, 0, &p),
        Errno::EINVAL,
        "token too long"
    );
}

#[test]
fn malformed_requests_get_errors() {
    let mut f = Fixture::new();
    let a = f.s.connect(0);
    for (ty, p) in [
        (MsgType::Read, &b""[..]),
        (MsgType::Read, b"/a\0/b\0"),
        (MsgType::Read, b"/a//b\0"),
        (MsgType::Read, b"\xff\0"),
        (MsgType::Write, b"/a"),
        (MsgType::Watch, b"/a\0"),
        (MsgType::SetPerms, b"/\0"),
        (MsgType::SetPerms, b"/\0q7\0"),
        (MsgType::WatchEvent, b"/\0t\0"),
        (MsgType::Error, b""),
        (MsgType::Unknown(20), b""),
        (MsgType::Unknown(0xdead), b"x"),
        (MsgType::Introduce, b"0\x001\x001\x00"),
        (MsgType::Introduce, b"1\x001\x0099999999999\x00"),
        (MsgType::Control, b"bogus\0"),
    ] {
        assert_eq!(f.err(a, ty, 0, p), Errno::EINVAL, "{ty:?} {p:?}");
    }
    // Unknown connections are ignored.
    let mut out = Vec::new();
    f.s.handle(
        999,
        &Message::new(MsgType::Read, 1, 0, b"/\0".to_vec()),
        &mut out,
    );
    assert!(out.is_empty());
}

#[test]
fn journal_replays_to_the_same_tree() {
    let mut f = Fixture::new();
    f.s.enable_journal();
    let a = f.s.connect(0);
    let mut changes = Vec::new();
    f.write(a, 0, "/j/a/b", "1");
    f.write(a, 0, "/j/c", "2");
    changes.extend(f.s.take_changes());
    f.ok(a, MsgType::Rm, 0, b"/j/a\0");
    f.ok(a, MsgType::SetPerms, 0, b"/j/c\0r3\0");
    let t = f.start(a);
    f.write(a, t, "/j/t/u", "3");
    f.ok(a, MsgType::TransactionEnd, t, b"T\0");
    let mut out = Vec::new();
    f.s.introduce(6, &mut out).unwrap();
    changes.extend(f.s.take_changes());
    let mut r = Store::default();
    for c in &changes {
        r.apply(c);
    }
    let dump = |s: &Store| -> Vec<(String, Vec<u8>, String, Vec<String>)> {
        s.tree()
            .iter()
            .map(|(p, n)| {
                (
                    p.clone(),
                    n.value.clone(),
                    n.perms.to_text(),
                    n.children.iter().cloned().collect(),
                )
            })
            .collect()
    };
    assert_eq!(dump(&r), dump(&f.s));
    assert!(r.is_introduced(6));
    let mut r2 = Store::default();
    for c in &f.s.snapshot() {
        r2.apply(c);
    }
    assert_eq!(dump(&r2), dump(&f.s));
}

fn guest_fixture(q: Quota) -> (Fixture, ConnId) {
    let mut f = Fixture {
        s: Store::new(q),
        next: 1,
    };
    let mut out = Vec::new();
    f.s.ensure_home(4, &mut out).unwrap();
    let g = f.s.connect(4);
    (f, g)
}

#[test]
fn quotas_hold_at_commit() {
    let (mut f, g) = guest_fixture(Quota {
        max_nodes: 6,
        max_transactions: 5,
        ..Quota::default()
    });
    for i in 0..3 {
        f.write(g, 0, &format!("t{i}"), "");
    }
    // Each transaction alone fits the two nodes left; together they do
    // not (and they touch disjoint nodes, so none conflicts).
    let ts: Vec<u32> = (0..3).map(|_| f.start(g)).collect();
    for (i, &t) in ts.iter().enumerate() {
        f.write(g, t, &format!("t{i}/a/b"), "");
    }
    f.ok(g, MsgType::TransactionEnd, ts[0], b"T\0");
    assert_eq!(f.s.tree().owned_by(4), 6);
    for &t in &ts[1..] {
        assert_eq!(f.err(g, MsgType::TransactionEnd, t, b"T\0"), Errno::ENOSPC);
    }
    assert_eq!(f.s.tree().owned_by(4), 6);
    assert_eq!(f.s.usage(4), Usage::default(), "nothing left behind");
}

#[test]
fn transaction_size_counts_failed_reads() {
    let (mut f, g) = guest_fixture(Quota {
        max_txn_paths: 10,
        ..Quota::default()
    });
    let t = f.start(g);
    for i in 0..10 {
        assert_eq!(
            f.err(g, MsgType::Read, t, format!("missing/{i}\0").as_bytes()),
            Errno::ENOENT
        );
    }
    // The eleventh path fails the transaction for good, and frees it.
    assert_eq!(f.err(g, MsgType::Read, t, b"missing/x\0"), Errno::ENOSPC);
    assert_eq!(f.err(g, MsgType::Read, t, b"missing/0\0"), Errno::ENOSPC);
    assert_eq!(f.s.usage(4).bytes, txn::TXN_BASE_COST);
    assert_eq!(f.err(g, MsgType::TransactionEnd, t, b"T\0"), Errno::ENOSPC);
    // Paths read twice count once.
    let t = f.start(g);
    for _ in 0..50 {
        f.err(g, MsgType::Read, t, b"missing/0\0");
    }
    f.ok(g, MsgType::TransactionEnd, t, b"T\0");
    assert_eq!(f.s.usage(4), Usage::default());
}

#[test]
fn stale_transactions_time_out() {
    let (mut f, g) = guest_fixture(Quota {
        txn_timeout_ms: 100,
        ..Quota::default()
    });
    f.s.set_time(1000);
    let old = f.start(g);
    f.write(g, old, "x", "1");
    f.s.set_time(1050);
    let young = f.start(g);
    f.write(g, young, "y", "1");
    f.s.set_time(1100);
    assert_eq!(f.err(g, MsgType::Read, old, b"x\0"), Errno::EAGAIN);
    assert_eq!(
        f.err(g, MsgType::TransactionEnd, old, b"T\0"),
        Errno::EAGAIN
    );
    assert_eq!(f.ok(g, MsgType::Read, young, b"y\0"), b"1");
    f.ok(g, MsgType::TransactionEnd, young, b"T\0");
    assert!(f.s.tree().get("/local/domain/4/x").is_none());
    assert!(f.s.tree().get("/local/domain/4/y").is_some());
    // An expired transaction may still be aborted.
    let t = f.start(g);
    f.s.set_time(5000);
    f.ok(g, MsgType::TransactionEnd, t, b"F\0");
    assert_eq!(f.s.usage(4), Usage::default());
}

#[test]
fn memory_quota_counts_nodes_watches_and_transactions() {
    let (mut f, g) = guest_fixture(Quota {
        max_memory: 8 * 1024,
        ..Quota::default()
    });
    let value = "v".repeat(2000);
    let mut n = 0;
    let e = loop {
        let mut p = nul_terminated(&format!("k{n}"));
        p.extend_from_slice(value.as_bytes());
        let (m, _) = f.req(g, MsgType::Write, 0, &p);
        match m.errno() {
            None => n += 1,
            Some(e) => break e,
        }
    };
    assert_eq!(e, Errno::ENOMEM);
    assert_eq!(n, 3);
    assert!(f.s.memory_of(4) <= 8 * 1024);
    let long = "w".repeat(1500);
    let mut w = 0;
    let e = loop {
        let (m, _) = f.req(g, MsgType::Watch, 0, format!("{long}\0{w}\0").as_bytes());
        match m.errno() {
            None => w += 1,
            Some(e) => break e,
        }
    };
    assert_eq!(e, Errno::ENOMEM);
    assert!(f.s.memory_of(4) <= 8 * 1024);
    f.s.disconnect(g);
    assert_eq!(f.s.usage(4), Usage::default());
    // Dom0 has its own, larger quota.
    let d0 = f.s.connect(0);
    for i in 0..20 {
        f.write(d0, 0, &format!("/big/{i}"), &value);
    }
}

#[test]
fn dom0_is_bounded_too() {
    let mut f = Fixture {
        s: Store::with_quotas(
            Quota::default(),
            Quota {
                max_nodes: 3,
                ..Quota::privileged()
            },
        ),
        next: 1,
    };
    let d0 = f.s.connect(0);
    f.write(d0, 0, "/a", "");
    assert_eq!(f.err(d0, MsgType::Write, 0, b"/b/c\0"), Errno::ENOSPC);
    assert_eq!(f.s.privileged_quota().max_nodes, 3);
}

#[test]
fn rollback_takes_back_exactly_the_last_changes() {
    let mut f = Fixture::new();
    f.s.enable_journal();
    let a = f.s.connect(0);
    let mut out = Vec::new();
    f.s.introduce(6, &mut out).unwrap();
    f.write(a, 0, "/r/keep", "1");
    f.write(a, 0, "/r/gone/x", "2");
    f.s.take_changes();
    let dump = |s: &Store| -> Vec<(String, Node)> {
        s.tree()
            .iter()
            .map(|(p, n)| (p.clone(), n.clone()))
            .collect()
    };
    let before = dump(&f.s);
    let (bytes, owned) = (f.s.tree().bytes_of(0), f.s.tree().owned_by(0));
    f.write(a, 0, "/r/keep", "changed, and longer");
    f.ok(a, MsgType::Rm, 0, b"/r/gone\0");
    f.write(a, 0, "/r/new/deep", "3");
    f.ok(a, MsgType::SetPerms, 0, b"/r\0r5\0");
    let t = f.start(a);
    f.write(a, t, "/r/tx", "4");
    f.ok(a, MsgType::TransactionEnd, t, b"T\0");
    f.s.release(6, &mut out).unwrap();
    f.s.introduce(7, &mut out).unwrap();
    assert!(!f.s.take_changes().is_empty());
    f.s.rollback();
    assert_eq!(dump(&f.s), before);
    assert_eq!(
        (f.s.tree().bytes_of(0), f.s.tree().owned_by(0)),
        (bytes, owned)
    );
    assert_eq!(f.s.tree().owned_by(5), 0);
    assert!(f.s.is_introduced(6) && !f.s.is_introduced(7));
    assert!(f.s.take_released().is_empty());
    assert!(f.s.take_changes().is_empty());
    // The store goes on normally.
    f.write(a, 0, "/r/after", "5");
    assert_eq!(f.s.take_changes().len(), 2);
}

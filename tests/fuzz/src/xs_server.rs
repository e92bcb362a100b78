//! The store's request handling on arbitrary request streams from three
//! connections (dom0 and two guests). Nothing may panic, every request gets
//! exactly one reply first, every message fits the payload limit, and the
//! journal replays to the same tree. Security invariants hold after every
//! request:
//! * permissions: a guest's successful request read only nodes it may
//!   read, and changed only nodes it may write (created only below nodes it
//!   may write, removed only subtrees whose top it may write, changed
//!   permissions only of nodes it owns), judged on the tree before the
//!   request;
//! * quotas: no domain ever holds more watches or transactions than its
//!   quota, and no request of a domain takes its nodes or memory over its
//!   quota (dom0 may still fill a guest's home: such nodes are the guest's).

use std::collections::BTreeMap;
use xenstore::path;
use xenstore::store::{Caller, Outgoing, Quota, Store};
use xenstore::wire::{FrameDecoder, Message, MsgType, PermList, PAYLOAD_MAX};

type Dump = Vec<(String, Vec<u8>, String, Vec<String>)>;

fn dump(s: &Store) -> Dump {
    s.tree()
        .iter()
        .map(|(p, n)| (p.clone(), n.value.clone(), n.perms.to_text(), n.children.iter().cloned().collect()))
        .collect()
}

/// Each node's value and permissions.
fn nodes(s: &Store) -> BTreeMap<String, (Vec<u8>, PermList)> {
    s.tree().iter().map(|(p, n)| (p.clone(), (n.value.clone(), n.perms.clone()))).collect()
}

fn can_write(before: &BTreeMap<String, (Vec<u8>, PermList)>, c: &Caller, p: &str) -> bool {
    before.get(p).is_some_and(|(_, perms)| c.access(perms).can_write())
}

/// The nearest node at or above `p` that existed before.
fn nearest<'a>(before: &BTreeMap<String, (Vec<u8>, PermList)>, mut p: &'a str) -> Option<&'a str> {
    loop {
        if before.contains_key(p) {
            return Some(p);
        }
        p = path::parent(p)?;
    }
}

/// What a guest's successful request changed must have been allowed.
fn check_changes(
    before: &BTreeMap<String, (Vec<u8>, PermList)>,
    after: &BTreeMap<String, (Vec<u8>, PermList)>,
    c: &Caller,
) {
    for (p, (value, perms)) in after {
        match before.get(p) {
            None => {
                let top = nearest(before, p).expect("the root always exists");
                assert!(can_write(before, c, top), "{c:?} created {p} below {top}");
            }
            Some((v0, p0)) => {
                if v0 != value {
                    assert!(can_write(before, c, p), "{c:?} wrote {p}");
                }
                if p0 != perms {
                    assert!(c.is_owner(p0), "{c:?} changed the permissions of {p}");
                }
            }
        }
    }
    for p in before.keys() {
        let parent_stays = path::parent(p).is_none_or(|q| after.contains_key(q));
        if !after.contains_key(p) && parent_stays {
            assert!(can_write(before, c, p), "{c:?} removed {p}");
        }
    }
}

/// A successful READ, DIRECTORY or GET_PERMS outside a transaction read
/// a node the caller may read.
fn check_read(before: &BTreeMap<String, (Vec<u8>, PermList)>, c: &Caller, m: &Message) {
    let Some(raw) = m.payload.split(|&b| b == 0).next() else { return };
    let Ok(p) = std::str::from_utf8(raw) else { return };
    let Ok(abs) = path::canonicalize(c.domid, p) else { return };
    let (_, perms) = before.get(&abs).unwrap_or_else(|| panic!("{c:?} read missing {abs}"));
    assert!(c.access(perms).can_read(), "{c:?} read {abs}");
}

fn check_quotas(s: &Store, domid: u32, q: &Quota, before: (usize, usize)) {
    let u = s.usage(domid);
    assert!(u.watches <= q.max_watches, "domain {domid}: {} watches", u.watches);
    assert!(u.transactions <= q.max_transactions, "domain {domid}: {} transactions", u.transactions);
    let nodes = s.tree().owned_by(domid);
    assert!(nodes <= before.0.max(q.max_nodes), "domain {domid}: {nodes} nodes");
    let mem = s.memory_of(domid);
    assert!(mem <= before.1.max(q.max_memory), "domain {domid}: {mem} bytes");
}

/// One input.
pub fn run(data: &[u8]) {
    let guest_q = Quota {
        max_nodes: 50,
        max_watches: 8,
        max_transactions: 3,
        max_txn_paths: 40,
        max_memory: 16 * 1024,
        ..Quota::default()
    };
    let dom0_q = Quota {
        max_nodes: 400,
        max_watches: 32,
        max_transactions: 8,
        ..Quota::privileged()
    };
    let mut s = Store::with_quotas(guest_q, dom0_q);
    s.enable_journal();
    let mut out = Vec::new();
    s.ensure_home(5, &mut out).unwrap();
    s.ensure_home(6, &mut out).unwrap();
    s.introduce(5, &mut out).unwrap();
    let domids = [0, 5, 6];
    let mut conns = domids.map(|d| s.connect(d));
    let mut journal = s.take_changes();
    let mut dec = FrameDecoder::new();
    dec.push(data);
    while let Ok(Some(m)) = dec.next_message() {
        let which = (m.req_id % 3) as usize;
        let conn = conns[which];
        let domid = domids[which];
        let c = s.caller_of(conn).expect("a live connection");
        let before = nodes(&s);
        let counts = (s.tree().owned_by(domid), s.memory_of(domid));
        let mut out: Vec<Outgoing> = Vec::new();
        s.handle(conn, &m, &mut out);
        let first = out.first().expect("a reply");
        assert_eq!(first.conn, conn);
        assert_eq!(first.msg.req_id, m.req_id);
        assert!(first.msg.ty == m.ty || first.msg.ty == MsgType::Error);
        for o in &out {
            assert!(o.msg.payload.len() <= PAYLOAD_MAX);
        }
        let ok = first.msg.ty != MsgType::Error;
        if !c.privileged {
            check_changes(&before, &nodes(&s), &c);
            if ok && m.tx_id == 0 && matches!(m.ty, MsgType::Read | MsgType::Directory | MsgType::GetPerms) {
                check_read(&before, &c, &m);
            }
        }
        check_quotas(&s, domid, if c.privileged { &dom0_q } else { &guest_q }, counts);
        journal.extend(s.take_changes());
        if m.req_id % 17 == 16 {
            s.disconnect(conn);
            conns[which] = s.connect(domids[which]);
        }
    }
    let mut replay = Store::default();
    // The fixture's changes are in the journal too, so replay starts empty.
    for c in &journal {
        replay.apply(c);
    }
    assert_eq!(dump(&replay), dump(&s));
}

//! The store's request handling on arbitrary request streams from three
//! connections (dom0 and two guests). Nothing may panic, every request gets
//! exactly one reply first, every message fits the payload limit, and the
//! journal replays to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xenstore::store::{Outgoing, Quota, Store};
use xenstore::wire::{FrameDecoder, MsgType, PAYLOAD_MAX};

fn dump(s: &Store) -> Vec<(String, Vec<u8>, String, Vec<String>)> {
    s.tree()
        .iter()
        .map(|(p, n)| (p.clone(), n.value.clone(), n.perms.to_text(), n.children.iter().cloned().collect()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut s = Store::new(Quota {
        max_nodes: 50,
        max_watches: 8,
        max_transactions: 3,
        ..Quota::default()
    });
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
        let mut out: Vec<Outgoing> = Vec::new();
        s.handle(conn, &m, &mut out);
        let first = out.first().expect("a reply");
        assert_eq!(first.conn, conn);
        assert_eq!(first.msg.req_id, m.req_id);
        assert!(first.msg.ty == m.ty || first.msg.ty == MsgType::Error);
        for o in &out {
            assert!(o.msg.payload.len() <= PAYLOAD_MAX);
        }
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
});

//! One connection: a reader thread that decodes and handles requests, and a
//! writer thread that sends what the store produced for it.

use crate::outbox::Outbox;
use crate::server::{ConnHandle, Shared};
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread;
use xenstore::wire::{FrameDecoder, Message, MsgType, HEADER_LEN, PAYLOAD_MAX};

/// Registers `stream` as a connection of `domid` and starts its threads.
pub(crate) fn spawn(shared: Arc<Shared>, stream: UnixStream, domid: u32) {
    let (Ok(rd), Ok(wr), Ok(own)) = (stream.try_clone(), stream.try_clone(), stream.try_clone())
    else {
        return;
    };
    let out = Arc::new(Outbox::default());
    let mut restored = Vec::new();
    let id = {
        let mut st = shared.lock();
        let id = st.store.connect(domid);
        if domid != 0 {
            // Silently: the guest believes it still has these watches.
            for req in st.guest_watches.requests(domid) {
                let mut discard = Vec::new();
                st.store.handle(id, &req, &mut discard);
                restored.extend(crate::guestwatch::parse(&req.payload));
            }
        }
        st.add_conn(
            id,
            ConnHandle {
                domid,
                out: out.clone(),
                stream,
            },
        );
        id
    };
    let s2 = shared.clone();
    let o2 = out.clone();
    let ok = thread::Builder::new()
        .name(format!("xs-conn-{id}"))
        .spawn(move || reader(s2, rd, own, o2, id, domid, restored))
        .is_ok()
        && thread::Builder::new()
            .name(format!("xs-send-{id}"))
            .spawn(move || out.run_writer(wr))
            .is_ok();
    if !ok {
        shared.lock().close(id);
    }
}

fn reader(
    shared: Arc<Shared>,
    mut s: UnixStream,
    mut w: UnixStream,
    out: Arc<Outbox>,
    id: u32,
    domid: u32,
    mut restored: Vec<(String, Vec<u8>)>,
) {
    let mut dec = FrameDecoder::new();
    let mut buf = vec![0u8; HEADER_LEN + PAYLOAD_MAX];
    'conn: loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        dec.push(&buf[..n]);
        loop {
            match dec.next_message() {
                Ok(Some(msg)) => {
                    // A guest that does not read what it is sent is not
                    // read from either, as C xenstored stops reading a
                    // domain with too many outstanding replies.
                    if domid != 0
                        && out.unsent() >= shared.max_outstanding
                        && (!out.flush(&mut w) || !out.wait_below(shared.max_outstanding))
                    {
                        break 'conn;
                    }
                    let mut st = shared.lock();
                    let now = shared.now_ms();
                    st.store.set_time(now);
                    if !st.conns.contains_key(&id) {
                        break 'conn;
                    }
                    // A guest that knows it reconnected registers its
                    // watches again: drop the silently restored copy so the
                    // request gets its reply and initial event, not EEXIST.
                    if msg.ty == MsgType::Watch && !restored.is_empty() {
                        if let Some(w) = crate::guestwatch::parse(&msg.payload) {
                            if let Some(i) = restored.iter().position(|r| *r == w) {
                                restored.swap_remove(i);
                                let unwatch =
                                    Message::new(MsgType::Unwatch, 0, 0, msg.payload.clone());
                                st.store.handle(id, &unwatch, &mut Vec::new());
                            }
                        }
                    }
                    let mut produced = Vec::new();
                    st.store.handle(id, &msg, &mut produced);
                    if domid != 0
                        && matches!(msg.ty, MsgType::Watch | MsgType::Unwatch)
                        && produced
                            .first()
                            .is_some_and(|o| o.conn == id && o.msg.ty != MsgType::Error)
                    {
                        st.guest_watches.observe(domid, &msg);
                    }
                    // A log failure has turned the reply into EIO already.
                    let _ = st.commit_and_deliver_from(produced, Some(id));
                    drop(st);
                    // Send our replies ourselves, outside the store's lock,
                    // a batch at a time for a client that pipelines.
                    if out.batch_full() && !out.flush(&mut w) {
                        break 'conn;
                    }
                }
                Ok(None) => {
                    if !out.flush(&mut w) {
                        break 'conn;
                    }
                    break;
                }
                // An oversized header cannot be skipped reliably: drop the connection.
                Err(_) => break 'conn,
            }
        }
        if shared.stopping() {
            break;
        }
    }
    shared.lock().close(id);
}

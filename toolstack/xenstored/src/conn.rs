//! One connection: a reader thread that decodes and handles requests, and a
//! writer thread that sends what the store produced for it.

use crate::server::{ConnHandle, Shared};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread;
use xenstore::wire::{FrameDecoder, HEADER_LEN, PAYLOAD_MAX};

/// Messages queued for one connection before it counts as not reading.
const QUEUE_MAX: usize = 8192;

/// Registers `stream` as a connection of `domid` and starts its threads.
pub(crate) fn spawn(shared: Arc<Shared>, stream: UnixStream, domid: u32) {
    let (Ok(rd), Ok(wr)) = (stream.try_clone(), stream.try_clone()) else {
        return;
    };
    let (tx, rx) = sync_channel(QUEUE_MAX);
    let id = {
        let mut st = shared.lock();
        let id = st.store.connect(domid);
        st.conns.insert(id, ConnHandle { domid, tx, stream });
        id
    };
    let s2 = shared.clone();
    let ok = thread::Builder::new()
        .name(format!("xs-conn-{id}"))
        .spawn(move || reader(s2, rd, id))
        .is_ok()
        && thread::Builder::new()
            .name(format!("xs-send-{id}"))
            .spawn(move || writer(wr, rx))
            .is_ok();
    if !ok {
        shared.lock().close(id);
    }
}

fn reader(shared: Arc<Shared>, mut s: UnixStream, id: u32) {
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
                    let mut st = shared.lock();
                    if !st.conns.contains_key(&id) {
                        break 'conn;
                    }
                    let mut out = Vec::new();
                    st.store.handle(id, &msg, &mut out);
                    st.commit_and_deliver(out);
                }
                Ok(None) => break,
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

fn writer(mut s: UnixStream, rx: Receiver<Vec<u8>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = first;
        while batch.len() < 64 * 1024 {
            match rx.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if s.write_all(&batch).is_err() {
            let _ = s.shutdown(std::net::Shutdown::Both);
            break;
        }
    }
}

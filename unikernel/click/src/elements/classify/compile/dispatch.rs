//! Sending classified packets on: a batch whose packets all take one
//! output leaves whole, and so do the kept packets of one whose packets
//! take one output or are dropped; otherwise runs of consecutive packets bound for
//! the same output leave as batches, so the packets keep their order even
//! where outputs merge again downstream (as one-by-one pushes would).

use crate::batch::{Batch, BATCH_MAX};
use crate::packet::Packet;
use crate::router::Ctx;

/// Port code of a dropped packet.
const DROP: usize = usize::MAX;

/// Pushes each packet of `b` to the output `port_of` picks (`None`:
/// dropped), in order. All packets are classified before any leaves.
#[inline]
pub fn dispatch(cx: &Ctx, b: Batch, mut port_of: impl FnMut(&Packet) -> Option<usize>) {
    let mut ports = [DROP; BATCH_MAX];
    let mut first = DROP;
    let mut mixed = false;
    for (i, p) in b.iter().enumerate() {
        let o = port_of(p).unwrap_or(DROP);
        if i == 0 {
            first = o;
        }
        ports[i] = o;
        mixed |= o != first;
    }
    if !mixed {
        send(cx, first, b);
        return;
    }
    let n = b.len();
    // Only one output besides drops (a filter's usual batch): the kept
    // packets leave as one batch, in order, as the drops go nowhere.
    let mut out = DROP;
    let one_output = ports[..n].iter().all(|&o| {
        if out == DROP {
            out = o;
        }
        o == DROP || o == out
    });
    if one_output {
        let mut kept = Batch::new();
        for (p, &port) in b.into_iter().zip(&ports) {
            if port == DROP {
                cx.kill(p);
            } else if let Err(p) = kept.push(p) {
                // Cannot happen: `kept` is never longer than `b`.
                cx.kill(p);
            }
        }
        send(cx, out, kept);
        return;
    }
    // Runs of one packet (mixed traffic) go as plain pushes: cheaper
    // than moving a batch.
    let mut run = Batch::new();
    let mut run_port = first;
    for (i, p) in b.into_iter().enumerate() {
        let port = ports[i];
        if port != run_port && !run.is_empty() {
            send(cx, run_port, core::mem::take(&mut run));
        }
        run_port = port;
        if run.is_empty() && (i + 1 == n || ports[i + 1] != port) {
            if port == DROP {
                cx.kill(p);
            } else {
                cx.push(port, p);
            }
            continue;
        }
        // Cannot fail: the run is never longer than the input batch.
        if let Err(p) = run.push(p) {
            cx.kill(p);
        }
    }
    send(cx, run_port, run);
}

#[inline]
fn send(cx: &Ctx, port: usize, b: Batch) {
    if b.is_empty() {
        return;
    }
    if port == DROP {
        cx.kill_batch(b);
    } else {
        cx.push_batch(port, b);
    }
}

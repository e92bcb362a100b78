//! Sending classified packets on: runs of packets bound for the same
//! output leave as one batch.

use crate::batch::Batch;
use crate::packet::Packet;
use crate::router::Ctx;

/// Pushes each packet of `b` to the output `port_of` picks (`None`:
/// dropped), batching consecutive packets with the same output.
#[inline]
pub fn dispatch(cx: &Ctx, b: Batch, mut port_of: impl FnMut(&Packet) -> Option<usize>) {
    let mut run = Batch::new();
    let mut run_port = usize::MAX;
    for p in b {
        match port_of(&p) {
            Some(port) => {
                if port != run_port && !run.is_empty() {
                    cx.push_batch(run_port, core::mem::take(&mut run));
                }
                run_port = port;
                // Cannot fail: the run is never longer than the input batch.
                if let Err(p) = run.push(p) {
                    cx.push(port, p);
                }
            }
            None => cx.kill(p),
        }
    }
    if !run.is_empty() {
        cx.push_batch(run_port, run);
    }
}

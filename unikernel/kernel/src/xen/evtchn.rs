//! Event channels (2-level ABI): allocate, send, unmask, and the pending
//! bits in shared info that the idle path checks.

use super::hypercall::{self, EVENT_CHANNEL_OP};
use super::DOMID_SELF;

const EVTCHNOP_CLOSE: u64 = 3;
const EVTCHNOP_SEND: u64 = 4;
const EVTCHNOP_ALLOC_UNBOUND: u64 = 6;
const EVTCHNOP_UNMASK: u64 = 9;

pub use super::shared::{clear_pending, is_pending, mask};

/// Signals the other end of `port`.
pub fn send(port: u32) {
    let mut p = port;
    // SAFETY: `struct evtchn_send` is one u32.
    unsafe { hypercall::op(EVENT_CHANNEL_OP, EVTCHNOP_SEND, &mut p) };
}

/// Unmasks `port`; Xen raises an upcall if it is already pending.
pub fn unmask(port: u32) {
    let mut p = port;
    // SAFETY: `struct evtchn_unmask` is one u32.
    unsafe { hypercall::op(EVENT_CHANNEL_OP, EVTCHNOP_UNMASK, &mut p) };
}

/// Closes `port`.
pub fn close(port: u32) {
    let mut p = port;
    // SAFETY: `struct evtchn_close` is one u32.
    unsafe { hypercall::op(EVENT_CHANNEL_OP, EVTCHNOP_CLOSE, &mut p) };
}

/// `struct evtchn_alloc_unbound`.
#[repr(C)]
struct AllocUnbound {
    dom: u16,
    remote_dom: u16,
    port: u32,
}

/// Allocates a port that domain `remote` may bind to.
pub fn alloc_unbound(remote: u16) -> Result<u32, i64> {
    let mut a = AllocUnbound {
        dom: DOMID_SELF,
        remote_dom: remote,
        port: 0,
    };
    // SAFETY: `a` is a live `evtchn_alloc_unbound`.
    let rc = unsafe { hypercall::op(EVENT_CHANNEL_OP, EVTCHNOP_ALLOC_UNBOUND, &mut a) };
    if rc < 0 {
        Err(rc)
    } else {
        Ok(a.port)
    }
}

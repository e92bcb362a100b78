//! `SCHEDOP_shutdown`: how a Xen domain stops (poweroff on a clean stop,
//! crash on a panic, so `on_crash` applies).

use super::hypercall::{self, SCHED_OP};

const SCHEDOP_SHUTDOWN: u64 = 2;
/// `SHUTDOWN_poweroff`.
pub const POWEROFF: u32 = 0;
/// `SHUTDOWN_reboot`.
pub const REBOOT: u32 = 1;
/// `SHUTDOWN_crash`.
pub const CRASH: u32 = 3;

/// Asks Xen to shut the domain down with `reason`; returns only if Xen refused.
pub fn shutdown(reason: u32) {
    let mut r = reason;
    // SAFETY: `struct sched_shutdown` is one u32.
    unsafe { hypercall::op(SCHED_OP, SCHEDOP_SHUTDOWN, &mut r) };
}

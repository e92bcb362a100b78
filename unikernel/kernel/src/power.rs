//! Leaving the VM: QEMU's `isa-debug-exit` device, or on Xen
//! `SCHEDOP_shutdown` (poweroff for status 0, crash otherwise, so the
//! domain's `on_crash` policy applies to panics).

use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::x86_64::{cpu, port};

/// I/O port of `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
const DEBUG_EXIT_PORT: u16 = 0xf4;

static ON_XEN: AtomicBool = AtomicBool::new(false);

/// Records that we run on Xen (no debug-exit device there).
pub fn set_xen(on_xen: bool) {
    ON_XEN.store(on_xen, Ordering::Relaxed);
}

/// Exits QEMU with status `(code << 1) | 1`; on Xen shuts the domain down
/// at once (no device teardown: this is also the panic path). Halts
/// forever when neither works.
pub fn exit(code: u8) -> ! {
    if ON_XEN.load(Ordering::Relaxed) {
        let reason = if code == 0 {
            crate::xen::sched::POWEROFF
        } else {
            crate::xen::sched::CRASH
        };
        crate::xen::sched::shutdown(reason);
    } else {
        // SAFETY: writing the debug-exit port ends the VM; without the
        // device the write is ignored.
        unsafe { port::outl(DEBUG_EXIT_PORT, u32::from(code)) };
    }
    cpu::halt_forever()
}

/// A clean stop: on Xen the vifs are closed first (the backends see
/// Closing → Closed), then the domain shuts down with the reason the
/// toolstack asked for (poweroff by default); elsewhere exit status 0.
pub fn stop() -> ! {
    if ON_XEN.load(Ordering::Relaxed) {
        let reason = crate::xen::stop_requested().unwrap_or(crate::xen::sched::POWEROFF);
        crate::xen::shutdown(reason)
    }
    exit(0)
}

/// Whether the host asked the VM to stop (Xen's `control/shutdown`); the
/// main loop then calls [`stop`].
pub fn stop_requested() -> bool {
    ON_XEN.load(Ordering::Relaxed) && crate::xen::stop_requested().is_some()
}

//! Leaving the VM: QEMU's `isa-debug-exit` device, or a halt (which Xen
//! turns into powering the domain off).

use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::x86_64::{cpu, port};

/// I/O port of `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
const DEBUG_EXIT_PORT: u16 = 0xf4;

static ON_XEN: AtomicBool = AtomicBool::new(false);

/// Records that we run on Xen (no debug-exit device there).
pub fn set_xen(on_xen: bool) {
    ON_XEN.store(on_xen, Ordering::Relaxed);
}

/// Exits QEMU with status `(code << 1) | 1`, or halts forever when there
/// is no debug-exit device (or on Xen).
pub fn exit(code: u8) -> ! {
    if !ON_XEN.load(Ordering::Relaxed) {
        // SAFETY: writing the debug-exit port ends the VM; without the
        // device the write is ignored.
        unsafe { port::outl(DEBUG_EXIT_PORT, u32::from(code)) };
    }
    cpu::halt_forever()
}

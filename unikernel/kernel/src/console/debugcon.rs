//! Port 0xE9: Xen's (and QEMU's `isa-debugcon`) byte-at-a-time debug port.

use crate::arch::x86_64::port::outb;

/// Writes bytes to port 0xE9.
pub fn write(bytes: &[u8]) {
    for &b in bytes {
        // SAFETY: 0xE9 is write-only debug output; nothing else uses it.
        unsafe { outb(0xe9, b) };
    }
}

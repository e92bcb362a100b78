//! The legacy 8259 PICs. PC machines (q35) come out of the firmware with
//! them unmasked and delivering the PIT's IRQ 0 on vector 8, which the CPU
//! would take as a double fault; the kernel uses the local APIC and the
//! IOAPIC instead, so both PICs are masked. On microvm (`pic=off`) the
//! ports are unclaimed and the writes do nothing.

use super::port;

/// Masks every line of both PICs.
pub fn disable() {
    // SAFETY: writing the interrupt mask registers (OCW1) of the master
    // (0x21) and slave (0xA1) PIC only masks their inputs.
    unsafe {
        port::outb(0x21, 0xff);
        port::outb(0xa1, 0xff);
    }
}

//! IOAPICs: route a GSI to a vector on the boot CPU.
//!
//! QEMU's microvm has the ISA IOAPIC at 0xfec00000 (GSIs 0-23) and, with
//! ACPI on (its default), a second one at 0xfec10000 (GSIs 24-47) that
//! carries the virtio-mmio lines.

use core::ptr::{read_volatile, write_volatile};

/// The two IOAPIC windows microvm may provide: (base address, first GSI).
const IOAPICS: [(usize, u32); 2] = [(0xfec0_0000, 0), (0xfec1_0000, 24)];

fn read(base: usize, reg: u32) -> u32 {
    // SAFETY: `base` is an IOAPIC window in the identity-mapped uncached GiB.
    unsafe {
        write_volatile(base as *mut u32, reg);
        read_volatile((base + 0x10) as *const u32)
    }
}

fn write(base: usize, reg: u32, value: u32) {
    // SAFETY: as in `read`.
    unsafe {
        write_volatile(base as *mut u32, reg);
        write_volatile((base + 0x10) as *mut u32, value);
    }
}

/// Number of pins of the IOAPIC at `base`, or `None` if nothing answers.
fn pins(base: usize) -> Option<u32> {
    let version = read(base, 1);
    if version == u32::MAX || version == 0 {
        None
    } else {
        Some(((version >> 16) & 0xff) + 1)
    }
}

/// Whether microvm's second IOAPIC (GSIs 24-47) exists.
pub fn has_secondary() -> bool {
    pins(IOAPICS[1].0).is_some()
}

/// Routes `gsi` to `vector` on the CPU with APIC ID `dest`, edge-triggered,
/// active-high, unmasked. Returns false if no IOAPIC serves that GSI.
///
/// Edge triggering on purpose: a level-triggered line needs an EOI
/// broadcast back to the IOAPIC, which QEMU emulates in user space (an extra
/// exit per interrupt). Drivers acknowledge the device before halting, so
/// no edge is missed.
pub fn route(gsi: u32, vector: u8, dest: u32) -> bool {
    for (base, first) in IOAPICS {
        let Some(n) = pins(base) else { continue };
        if gsi >= first && gsi < first + n {
            let pin = gsi - first;
            write(base, 0x11 + 2 * pin, dest << 24);
            write(base, 0x10 + 2 * pin, u32::from(vector));
            return true;
        }
    }
    false
}

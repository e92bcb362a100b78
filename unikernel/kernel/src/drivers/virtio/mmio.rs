//! virtio-mmio discovery on QEMU microvm: 24 slots of 512 bytes from
//! 0xfeb00000, filled from the top, and the GSI each slot interrupts on.

use core::ptr::{read_volatile, NonNull};

use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};

use super::net::InitError;

/// Base of the first slot.
pub const MMIO_BASE: usize = 0xfeb0_0000;
/// Size of one slot.
pub const SLOT_SIZE: usize = 512;
/// Slots microvm creates with its second IOAPIC (the default).
pub const SLOTS: usize = 24;

const MAGIC: u32 = 0x7472_6976; // "virt"

/// A populated slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Slot index (0 = lowest address).
    pub index: usize,
    /// Physical base address of its registers.
    pub base: usize,
    /// virtio device ID.
    pub device_id: u32,
}

/// Reads the device ID of every slot and returns the populated ones in
/// descending slot order, i.e. in the order QEMU assigned them (the first
/// `-device` on the command line gets the top slot). One MMIO read per
/// empty slot; each read is a VM exit.
pub fn scan(out: &mut [Option<Slot>; SLOTS]) -> usize {
    let mut n = 0;
    for index in (0..SLOTS).rev() {
        let base = MMIO_BASE + index * SLOT_SIZE;
        // SAFETY: the virtio-mmio window lies in the identity-mapped,
        // uncached top GiB; reads of the ID registers have no side effects.
        let device_id = unsafe { read_volatile((base + 0x008) as *const u32) };
        if device_id == 0 || device_id == u32::MAX {
            continue;
        }
        // SAFETY: as above.
        if unsafe { read_volatile(base as *const u32) } != MAGIC {
            continue;
        }
        out[n] = Some(Slot {
            index,
            base,
            device_id,
        });
        n += 1;
    }
    n
}

/// Opens the transport of a scanned slot.
pub fn open(slot: &Slot) -> Result<MmioTransport<'static>, InitError> {
    let header = NonNull::new(slot.base as *mut VirtIOHeader).ok_or(InitError("null MMIO base"))?;
    // SAFETY: the slot is a virtio-mmio register window (found by the scan)
    // that one driver alone uses for the rest of the run.
    unsafe { MmioTransport::new(header, SLOT_SIZE) }
        .map_err(|_| InitError("bad virtio-mmio header"))
}

/// How slots map to GSIs on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqMap {
    /// GSI of slot 0; slot i uses `base + i`.
    pub base: u32,
}

impl IrqMap {
    /// microvm's layout: with the second IOAPIC (ACPI on, the default)
    /// virtio lines are GSIs 24-47; with ACPI but no second IOAPIC, 16-23;
    /// without ACPI, 5-12. `virtio_mmio.device=512@0xADDR:IRQ` entries on
    /// the command line (QEMU adds them with `acpi=off`) override the guess.
    pub fn detect(cmdline: &str, has_ioapic2: bool) -> IrqMap {
        if let Some(base) = irq_base_from_cmdline(cmdline) {
            return IrqMap { base };
        }
        IrqMap {
            base: if has_ioapic2 { 24 } else { 16 },
        }
    }

    /// GSI of a slot.
    pub fn gsi(&self, slot: &Slot) -> u32 {
        self.base + slot.index as u32
    }
}

/// Derives the GSI of slot 0 from the first well-formed
/// `virtio_mmio.device=<size>@<addr>:<irq>` argument.
pub fn irq_base_from_cmdline(cmdline: &str) -> Option<u32> {
    cmdline.split_ascii_whitespace().find_map(|arg| {
        let spec = arg.strip_prefix("virtio_mmio.device=")?;
        let (_, rest) = spec.split_once('@')?;
        let (addr, irq) = rest.split_once(':')?;
        let addr = usize::from_str_radix(addr.strip_prefix("0x")?, 16).ok()?;
        let irq: u32 = irq.parse().ok()?;
        let offset = addr.checked_sub(MMIO_BASE)?;
        if offset % SLOT_SIZE != 0 {
            return None;
        }
        irq.checked_sub((offset / SLOT_SIZE) as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_gives_irq_base() {
        let c = "console=ttyS0 virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11";
        assert_eq!(irq_base_from_cmdline(c), Some(5));
        assert_eq!(IrqMap::detect(c, true), IrqMap { base: 5 });
    }

    #[test]
    fn malformed_cmdline_entries_are_ignored() {
        for c in [
            "",
            "virtio_mmio.device=512@feb00e00:12",
            "virtio_mmio.device=512@0xfeb00e01:12",
            "virtio_mmio.device=512@0xfeb00e00:x",
            "virtio_mmio.device=512@0x1000:3",
            "virtio_mmio.device=512@0xfeb00e00:2",
        ] {
            assert_eq!(irq_base_from_cmdline(c), None, "{c}");
        }
    }

    #[test]
    fn default_layout_follows_ioapics() {
        assert_eq!(IrqMap::detect("", true).base, 24);
        assert_eq!(IrqMap::detect("", false).base, 16);
        let slot = Slot {
            index: 23,
            base: MMIO_BASE + 23 * SLOT_SIZE,
            device_id: 1,
        };
        assert_eq!(IrqMap::detect("", true).gsi(&slot), 47);
    }
}

//! virtio devices: discovery over MMIO (QEMU microvm) or PCI (q35), the
//! DMA glue for `virtio-drivers`, and the net and console devices, which
//! work over either transport.

pub mod console;
pub mod hal;
pub mod mmio;
pub mod net;
pub mod pci;
pub mod ring;
pub mod transport;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use virtio_drivers::transport::{DeviceType, SomeTransport, Transport};

/// A virtio device found on either transport.
pub struct Found {
    /// What it is.
    pub device_type: DeviceType,
    /// Its transport, for the driver.
    pub transport: SomeTransport<'static>,
    /// The GSI it interrupts on, if known.
    pub gsi: Option<u32>,
    /// Where it is, for messages.
    pub location: String,
    /// Its queue doorbells on PCI (MMIO kicks are one write already).
    pub doorbell: Option<pci::Doorbell>,
}

/// Finds the virtio devices in the order the VM lists them: on PCI when a
/// host bridge answers (q35), else in microvm's MMIO slots.
pub fn discover(cmdline: &str, has_ioapic2: bool) -> Vec<Found> {
    let mut out = Vec::new();
    if pci::present() {
        for d in pci::scan() {
            out.push(Found {
                device_type: d.device_type,
                transport: d.transport.into(),
                gsi: d.gsi,
                location: format!("pci {}", d.function),
                doorbell: d.doorbell,
            });
        }
        return out;
    }
    let mut slots = [None; mmio::SLOTS];
    let found = mmio::scan(&mut slots);
    let irqs = mmio::IrqMap::detect(cmdline, has_ioapic2);
    for slot in slots.iter().take(found).flatten() {
        match mmio::open(slot) {
            Ok(t) => out.push(Found {
                device_type: t.device_type(),
                transport: t.into(),
                gsi: Some(irqs.gsi(slot)),
                location: format!("mmio {:#x}", slot.base),
                doorbell: None,
            }),
            Err(e) => crate::kprintln!("mb: virtio-mmio at {:#x}: {}", slot.base, e.0),
        }
    }
    out
}

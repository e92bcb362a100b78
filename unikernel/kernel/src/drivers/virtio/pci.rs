//! virtio over PCI (QEMU `-M q35`, `-device virtio-*-pci`): bus 0 is
//! enumerated through the legacy configuration ports 0xCF8/0xCFC, which
//! every x86 PC chipset has and which need no mapping (q35's ECAM window
//! lies outside the boot page tables). The firmware (SeaBIOS) has assigned
//! the BARs below 4 GiB, in the identity-mapped uncached top GiB, and set
//! each function's interrupt line; devices interrupt through INTx, routed
//! by the chipset to that line's IOAPIC pin.

use alloc::vec::Vec;

use virtio_drivers::transport::pci::bus::{Command, ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::{virtio_device_type, PciTransport};
use virtio_drivers::transport::DeviceType;

use super::hal::KernelHal;
use crate::arch::x86_64::port;

const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_DATA: u16 = 0xcfc;
/// Offset of the interrupt line register.
const INTERRUPT_LINE: u8 = 0x3c;

/// PCI configuration mechanism #1 (ports 0xCF8/0xCFC).
pub struct PortCam;

fn address(df: DeviceFunction, offset: u8) -> u32 {
    0x8000_0000
        | u32::from(df.bus) << 16
        | u32::from(df.device) << 11
        | u32::from(df.function) << 8
        | u32::from(offset & 0xfc)
}

impl ConfigurationAccess for PortCam {
    fn read_word(&self, df: DeviceFunction, offset: u8) -> u32 {
        // SAFETY: the configuration ports select and read a register of
        // the addressed function; reads have no side effects.
        unsafe {
            port::outl(CONFIG_ADDRESS, address(df, offset));
            port::inl(CONFIG_DATA)
        }
    }

    fn write_word(&mut self, df: DeviceFunction, offset: u8, data: u32) {
        // SAFETY: as above; callers write only registers they own.
        unsafe {
            port::outl(CONFIG_ADDRESS, address(df, offset));
            port::outl(CONFIG_DATA, data);
        }
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortCam
    }
}

/// Whether a PCI host bridge answers at 00:00.0 (q35, pc; not microvm).
pub fn present() -> bool {
    let df = DeviceFunction {
        bus: 0,
        device: 0,
        function: 0,
    };
    let id = PortCam.read_word(df, 0);
    id != u32::MAX && id != 0
}

/// A virtio function found on bus 0.
pub struct PciDevice {
    /// What it is.
    pub device_type: DeviceType,
    /// Its transport, ready for a driver.
    pub transport: PciTransport,
    /// The GSI its INTx line reaches the IOAPIC on, if set.
    pub gsi: Option<u32>,
    /// Bus address, for messages.
    pub function: DeviceFunction,
}

/// Enumerates bus 0 and opens every virtio function, in slot order (QEMU
/// assigns slots in `-device` order). Functions that fail are reported
/// and skipped.
pub fn scan() -> Vec<PciDevice> {
    let mut root = PciRoot::new(PortCam);
    let found: Vec<_> = root
        .enumerate_bus(0)
        .filter_map(|(df, info)| virtio_device_type(&info).map(|t| (df, t)))
        .collect();
    let mut out = Vec::new();
    for (df, device_type) in found {
        // Memory space for the BARs; bus mastering for the rings' DMA.
        let (_, cmd) = root.get_status_command(df);
        root.set_command(df, cmd | Command::MEMORY_SPACE | Command::BUS_MASTER);
        let line = PortCam.read_word(df, INTERRUPT_LINE) & 0xff;
        // 0xff: no line assigned; lines are ISA IRQs, identity-mapped to
        // GSIs on PC chipsets.
        let gsi = (line != 0xff && line != 0).then_some(line);
        match PciTransport::new::<KernelHal, _>(&mut root, df) {
            Ok(transport) => out.push(PciDevice {
                device_type,
                transport,
                gsi,
                function: df,
            }),
            Err(e) => crate::kprintln!("mb: virtio-pci at {df}: {e}"),
        }
    }
    out
}

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

/// Where a modern virtio-pci function takes queue notifications, read
/// from its capabilities once, so a kick is one write instead of the
/// transport's three accesses (queue select, notify offset, doorbell).
#[derive(Clone, Copy, Debug)]
pub struct Doorbell {
    /// The common configuration structure's address.
    common: usize,
    /// The notification structure's address.
    notify: usize,
    /// Bytes per unit of a queue's notify offset.
    mult: u32,
}

/// `queue_select` and `queue_notify_off` in the common configuration.
const COMMON_QUEUE_SELECT: usize = 0x16;
const COMMON_QUEUE_NOTIFY_OFF: usize = 0x1e;

impl Doorbell {
    /// Queue `queue`'s doorbell address (reads its notify offset; call it
    /// once the queue is set up, before the device is live).
    pub fn for_queue(&self, queue: u16) -> usize {
        // SAFETY: both registers lie in the function's common
        // configuration, mapped at its BAR address; selecting a queue has
        // no effect beyond which queue's registers show.
        let off = unsafe {
            core::ptr::write_volatile((self.common + COMMON_QUEUE_SELECT) as *mut u16, queue);
            core::ptr::read_volatile((self.common + COMMON_QUEUE_NOTIFY_OFF) as *const u16)
        };
        self.notify + usize::from(off) * self.mult as usize
    }

    /// Finds the common and notification structures of `df`.
    fn find(df: DeviceFunction) -> Option<Doorbell> {
        const CAP_VENDOR: u32 = 0x09;
        const CFG_COMMON: u32 = 1;
        const CFG_NOTIFY: u32 = 2;
        let status = PortCam.read_word(df, 0x04) >> 16;
        if status & 0x10 == 0 {
            return None;
        }
        let (mut common, mut notify) = (None, None);
        let mut ptr = (PortCam.read_word(df, 0x34) & 0xfc) as u8;
        // At most 48 capabilities fit in the configuration space.
        for _ in 0..48 {
            if ptr == 0 {
                break;
            }
            let w = PortCam.read_word(df, ptr);
            if w & 0xff == CAP_VENDOR {
                let bar = (PortCam.read_word(df, ptr + 4) & 0xff) as u8;
                let offset = PortCam.read_word(df, ptr + 8) as usize;
                let at = bar_address(df, bar).map(|b| b + offset);
                match (w >> 24) & 0xff {
                    CFG_COMMON => common = at,
                    CFG_NOTIFY => notify = at.map(|a| (a, PortCam.read_word(df, ptr + 16))),
                    _ => {}
                }
            }
            ptr = ((w >> 8) & 0xfc) as u8;
        }
        let (notify, mult) = notify?;
        Some(Doorbell {
            common: common?,
            notify,
            mult,
        })
    }
}

/// The memory address BAR `bar` of `df` decodes (identity-mapped).
fn bar_address(df: DeviceFunction, bar: u8) -> Option<usize> {
    if bar > 5 {
        return None;
    }
    let reg = 0x10 + 4 * bar;
    let lo = PortCam.read_word(df, reg);
    if lo & 1 != 0 {
        return None; // an I/O BAR
    }
    let mut addr = u64::from(lo & !0xf);
    if (lo >> 1) & 3 == 2 && bar < 5 {
        addr |= u64::from(PortCam.read_word(df, reg + 4)) << 32;
    }
    usize::try_from(addr).ok()
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
    /// Its queue doorbells, when its capabilities say where.
    pub doorbell: Option<Doorbell>,
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
                doorbell: Doorbell::find(df),
            }),
            Err(e) => crate::kprintln!("mb: virtio-pci at {df}: {e}"),
        }
    }
    out
}

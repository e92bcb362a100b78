//! `mb`: the middlebox unikernel. Boots through PVH (QEMU microvm, Xen),
//! brings up memory, console, clock, interrupts and virtio devices, then
//! runs a Click router, configured through the store, in the main loop.

#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(dead_code))]
#![warn(missing_docs)]

extern crate alloc;

pub mod arch;
pub mod boot;
pub mod console;
pub mod drivers;
pub mod mainloop;
pub mod mem;
pub mod middlebox;
pub mod net;
#[cfg(not(test))]
mod panic;
pub mod platform;
pub mod power;
pub mod router;
pub mod store;
pub mod stream;
pub mod time;
pub mod xen;

use alloc::boxed::Box;
use alloc::vec::Vec;

use arch::x86_64::{apic, idt, ioapic};
use drivers::virtio::console::VirtioConsole;
use drivers::virtio::net::VirtioNet;
use mainloop::{Devices, LoopNic, LoopStream};
use mem::memmap::{self, Region};
use platform::{Hypervisor, Platform};
use virtio_drivers::transport::DeviceType;

/// Rust entry, called by the boot assembly in long mode with the physical
/// address of `hvm_start_info`.
pub extern "C" fn kmain(start_info: u32) -> ! {
    boot::arm_stack_canary();
    console::init();
    let platform = Platform::detect();
    power::set_xen(platform.is_xen());
    // SAFETY: `start_info` is what the PVH loader passed in ebx.
    let boot = match unsafe { boot::start_info::read(start_info) } {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };

    let heap = init_heap(start_info, &boot);
    if let Hypervisor::Xen { base } = platform.hypervisor {
        if let Err(e) = xen::early_init(base) {
            crate::kprintln!("mb: xen: {e}");
        }
    }
    arch::x86_64::pic::disable();
    idt::init();
    let apic_id = apic::init(&platform.features);
    let clock = match time::init(&platform, boot.cmdline) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    crate::kprintln!(
        "mb: {} at_us={} hv={} clock={:?} tsc_khz={} heap_kib={} apic={}",
        env!("CARGO_PKG_VERSION"),
        time::now_ns() / 1000,
        platform.hypervisor.name(),
        clock,
        time::tsc_khz(),
        heap / 1024,
        if apic::is_x2apic() { "x2apic" } else { "xapic" },
    );

    let mut mb = middlebox::Middlebox::new(default_config());
    let devices = platform_devices(&platform, boot.cmdline, apic_id, &mut mb);
    crate::kprintln!(
        "mb: at_us={} devices: {} NICs, store {}{}",
        time::now_ns() / 1000,
        devices.nics.len(),
        match (devices.store.is_some(), platform.is_xen()) {
            (false, _) => "absent",
            (true, false) => "on virtio-console",
            (true, true) => "on the xenstore ring",
        },
        if devices.state.is_some() {
            ", state channel on virtio-console"
        } else {
            ""
        }
    );
    if boot
        .cmdline
        .split_ascii_whitespace()
        .any(|a| a == "mb.selftest=timer")
    {
        timer_selftest();
    }
    mainloop::run(&mut mb, devices)
}

/// The config baked in by `make image CONFIG=...` (name, text), if any.
fn default_config() -> Option<(&'static str, &'static str)> {
    const TEXT: &str = include_str!(concat!(env!("OUT_DIR"), "/default.click"));
    const NAME: &str = env!("MB_CONFIG_NAME");
    (!TEXT.is_empty()).then_some((NAME, TEXT))
}

fn init_heap(start_info: u32, boot: &boot::start_info::BootInfo) -> u64 {
    let si = u64::from(start_info);
    let memmap_bytes =
        boot.memmap.len() as u64 * core::mem::size_of::<memmap::MemmapEntry>() as u64;
    let reserved = [
        Region {
            start: si,
            end: si + core::mem::size_of::<boot::start_info::StartInfo>() as u64,
        },
        Region {
            start: boot.raw.memmap_paddr,
            end: boot.raw.memmap_paddr + memmap_bytes,
        },
        Region {
            start: boot.raw.cmdline_paddr,
            end: boot.raw.cmdline_paddr + boot.cmdline.len() as u64 + 1,
        },
    ];
    let mut regions = [Region::default(); 16];
    let n = memmap::usable(
        boot.memmap,
        mem::kernel_end(),
        mem::MAPPED_LIMIT,
        &reserved,
        &mut regions,
    );
    if n == 0 {
        panic!("no usable RAM above the kernel in the PVH memory map");
    }
    // SAFETY: the regions are RAM above the kernel image, outside the
    // loader's structures, identity-mapped by the boot page tables.
    unsafe { mem::heap::init(&regions[..n]) }
}

/// The platform switch: NICs and the store channel come from virtio-mmio
/// (QEMU microvm) or from Xen (netfront vifs, the xenstore ring).
fn platform_devices(
    platform: &Platform,
    cmdline: &str,
    apic_id: u32,
    mb: &mut middlebox::Middlebox,
) -> Devices {
    if platform.is_xen() {
        return match xen::devices() {
            Ok(d) => d,
            Err(e) => panic!("xen: {e}"),
        };
    }
    init_devices(cmdline, apic_id, mb)
}

/// Brings up the virtio devices: the store channel first, so the store
/// session's first requests go out (`Middlebox::hello`) and the host
/// answers them while the NICs come up; then the NICs, in `-device` order.
fn init_devices(cmdline: &str, apic_id: u32, mb: &mut middlebox::Middlebox) -> Devices {
    let mut nics: Vec<Box<dyn LoopNic>> = Vec::new();
    let mut store: Option<Box<dyn LoopStream>> = None;
    let mut state: Option<Box<dyn LoopStream>> = None;
    let mut polled_only = false;
    let mut store_irq = None;
    let (consoles, others): (Vec<_>, Vec<_>) =
        drivers::virtio::discover(cmdline, ioapic::has_secondary())
            .into_iter()
            .partition(|d| d.device_type == DeviceType::Console);
    for dev in consoles.into_iter().chain(others) {
        let ok = match dev.device_type {
            DeviceType::Network => {
                match VirtioNet::new(
                    dev.transport,
                    dev.gsi.map(|gsi| idt::IRQ_BASE + gsi as u8),
                    dev.doorbell,
                ) {
                    Ok(nic) => {
                        nics.push(Box::new(nic));
                        true
                    }
                    Err(e) => {
                        crate::kprintln!("mb: virtio-net at {}: {}", dev.location, e.0);
                        false
                    }
                }
            }
            DeviceType::Console if store.is_none() => match VirtioConsole::new(dev.transport) {
                Ok(mut c) => {
                    mb.hello(&mut c);
                    store = Some(Box::new(c));
                    true
                }
                Err(e) => {
                    crate::kprintln!("mb: virtio-console at {}: {}", dev.location, e.0);
                    false
                }
            },
            // A second console is the state channel.
            DeviceType::Console if state.is_none() => match VirtioConsole::new(dev.transport) {
                Ok(c) => {
                    state = Some(Box::new(c));
                    true
                }
                Err(e) => {
                    crate::kprintln!("mb: state virtio-console at {}: {}", dev.location, e.0);
                    false
                }
            },
            _ => false,
        };
        let routed = dev
            .gsi
            .is_some_and(|gsi| ioapic::route(gsi, idt::IRQ_BASE + gsi as u8, apic_id));
        if ok && routed && dev.device_type == DeviceType::Console {
            store_irq = dev.gsi.map(|gsi| idt::IRQ_BASE + gsi as u8);
        }
        if ok && !routed {
            polled_only = true;
            crate::kprintln!(
                "mb: no interrupt for {} (GSI {:?}); that device is polled only",
                dev.location,
                dev.gsi
            );
        }
    }
    let serial_vector = idt::IRQ_BASE + console::serial::COM1_GSI as u8;
    let serial_irq = (console::sink_name() == "com1"
        && ioapic::route(console::serial::COM1_GSI, serial_vector, apic_id))
    .then(|| {
        console::serial::COM1.enable_rx_interrupt();
        serial_vector
    });
    Devices {
        nics,
        store,
        state,
        serial_irq,
        store_irq,
        polled_only,
    }
}

/// Halts until a 10 ms APIC timer fires and reports how long that took:
/// exercises the timer, the halt and the interrupt path the main loop uses
/// for router deadlines (`mb.selftest=timer` on the command line).
fn timer_selftest() {
    const WAIT_NS: u64 = 10_000_000;
    let start = time::now_ns();
    apic::arm_timer_tsc(time::deadline_tsc(start + WAIT_NS));
    let timer_bit = 1u64 << (idt::TIMER_VECTOR - 0x30);
    let mut wakeups = 0u32;
    while idt::take_pending() & timer_bit == 0 {
        arch::x86_64::cpu::wait_for_interrupt();
        wakeups += 1;
    }
    let elapsed = time::now_ns() - start;
    crate::kprintln!(
        "mb: selftest timer waited_us={} target_us={} wakeups={} mode={}",
        elapsed / 1000,
        WAIT_NS / 1000,
        wakeups,
        if apic::has_tsc_deadline() {
            "tsc-deadline"
        } else {
            "one-shot"
        }
    );
}

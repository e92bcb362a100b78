//! KVM's paravirtual clock: the host publishes the TSC-to-ns factors in a
//! page we register through MSR_KVM_SYSTEM_TIME_NEW.

use core::sync::atomic::{fence, Ordering};

use super::Scale;
use crate::arch::x86_64::cpu::{cpuid, wrmsr};

const MSR_KVM_SYSTEM_TIME_NEW: u32 = 0x4b56_4d01;
const KVM_FEATURE_CLOCKSOURCE2: u32 = 1 << 3;

/// `struct pvclock_vcpu_time_info`.
#[repr(C, align(64))]
struct PvclockInfo {
    version: u32,
    pad0: u32,
    tsc_timestamp: u64,
    system_time: u64,
    tsc_to_system_mul: u32,
    tsc_shift: i8,
    flags: u8,
    pad: [u8; 2],
}

static mut INFO: PvclockInfo = PvclockInfo {
    version: 0,
    pad0: 0,
    tsc_timestamp: 0,
    system_time: 0,
    tsc_to_system_mul: 0,
    tsc_shift: 0,
    flags: 0,
    pad: [0; 2],
};

/// Registers the pvclock page and reads the TSC scale, if KVM offers it.
pub fn scale(base: u32) -> Option<Scale> {
    if cpuid(base + 1, 0).eax & KVM_FEATURE_CLOCKSOURCE2 == 0 {
        return None;
    }
    let info = &raw mut INFO;
    // SAFETY: the page is identity-mapped (virtual = physical) and lives for
    // the whole run; bit 0 enables the updates.
    unsafe { wrmsr(MSR_KVM_SYSTEM_TIME_NEW, info as u64 | 1) };
    loop {
        // SAFETY: the host writes the struct; volatile reads with the
        // version protocol (odd = update in progress) give a consistent copy.
        let (v0, mul, shift, v1) = unsafe {
            let v0 = core::ptr::read_volatile(&raw const (*info).version);
            fence(Ordering::Acquire);
            let mul = core::ptr::read_volatile(&raw const (*info).tsc_to_system_mul);
            let shift = core::ptr::read_volatile(&raw const (*info).tsc_shift);
            fence(Ordering::Acquire);
            (
                v0,
                mul,
                shift,
                core::ptr::read_volatile(&raw const (*info).version),
            )
        };
        if v0 == v1 && v0 & 1 == 0 {
            return (mul != 0).then(|| Scale::from_pvclock(mul, shift));
        }
    }
}

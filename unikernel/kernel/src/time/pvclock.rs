//! Reading a `pvclock_vcpu_time_info` (Xen's `vcpu_time_info`, KVM's
//! kvmclock page): system time in ns, from the TSC and the hypervisor's
//! last sample, under the version protocol (odd = update in progress).

use core::sync::atomic::{fence, Ordering};

use crate::arch::x86_64::cpu::rdtsc;

/// `struct vcpu_time_info` / `pvclock_vcpu_time_info` (32 bytes).
#[repr(C)]
pub struct PvclockInfo {
    /// Odd while the hypervisor updates the fields.
    pub version: u32,
    pad0: u32,
    /// TSC at the last update.
    pub tsc_timestamp: u64,
    /// System time in ns at the last update.
    pub system_time: u64,
    /// TSC-to-ns multiplier (Q32).
    pub tsc_to_system_mul: u32,
    /// Shift applied to the TSC delta before multiplying.
    pub tsc_shift: i8,
    /// PVCLOCK_* flags.
    pub flags: u8,
    pad: [u8; 2],
}

/// A consistent copy of the time fields.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// TSC at the last update.
    pub tsc_timestamp: u64,
    /// System time in ns at the last update.
    pub system_time: u64,
    /// Multiplier.
    pub mul: u32,
    /// Shift.
    pub shift: i8,
}

/// Reads a consistent sample.
///
/// # Safety
/// `info` must point to a live time-info structure the hypervisor updates.
pub unsafe fn sample(info: *const PvclockInfo) -> Sample {
    loop {
        // SAFETY: per the contract; volatile because the hypervisor writes it.
        unsafe {
            let v0 = core::ptr::read_volatile(&raw const (*info).version);
            fence(Ordering::Acquire);
            let s = Sample {
                tsc_timestamp: core::ptr::read_volatile(&raw const (*info).tsc_timestamp),
                system_time: core::ptr::read_volatile(&raw const (*info).system_time),
                mul: core::ptr::read_volatile(&raw const (*info).tsc_to_system_mul),
                shift: core::ptr::read_volatile(&raw const (*info).tsc_shift),
            };
            fence(Ordering::Acquire);
            if v0 & 1 == 0 && v0 == core::ptr::read_volatile(&raw const (*info).version) {
                return s;
            }
        }
        core::hint::spin_loop();
    }
}

impl Sample {
    /// System time at TSC value `tsc`.
    pub fn ns_at(&self, tsc: u64) -> u64 {
        let delta = tsc.wrapping_sub(self.tsc_timestamp);
        // A TSC read just before the sample was taken gives a "negative"
        // delta: clamp rather than jump ~forever ahead.
        let delta = if (delta as i64) < 0 { 0 } else { delta };
        let scaled = if self.shift >= 0 {
            delta << self.shift
        } else {
            delta >> -self.shift
        };
        self.system_time + ((u128::from(scaled) * u128::from(self.mul)) >> 32) as u64
    }
}

/// Current system time from `info`.
///
/// # Safety
/// As for [`sample`].
pub unsafe fn now(info: *const PvclockInfo) -> u64 {
    // SAFETY: per the contract.
    let s = unsafe { sample(info) };
    s.ns_at(rdtsc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_deltas_like_the_header_formula() {
        // 2 GHz: 0.5 ns per tick, as mul 2^31, shift 0; and as mul 2^30, shift 1.
        let a = Sample {
            tsc_timestamp: 1000,
            system_time: 5,
            mul: 1 << 31,
            shift: 0,
        };
        assert_eq!(a.ns_at(3000), 5 + 1000);
        let b = Sample {
            shift: 1,
            mul: 1 << 30,
            ..a
        };
        assert_eq!(b.ns_at(3000), 5 + 1000);
        let c = Sample {
            shift: -1,
            mul: u32::MAX,
            ..a
        };
        assert_eq!(c.ns_at(3000), 5 + 999);
        // A TSC behind the sample does not wrap into the far future.
        assert_eq!(a.ns_at(999), 5);
    }
}

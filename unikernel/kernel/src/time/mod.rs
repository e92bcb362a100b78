//! Monotonic time from the TSC.
//!
//! The TSC rate comes, in order of preference, from KVM's kvmclock (exact,
//! no waiting), Xen's CPUID timing leaf, the generic hypervisor timing leaf
//! 0x4000_0010, CPUID 0x15, `mb.tsc_khz=N` on the command line (the
//! toolstack's figure, as Linux's `tsc_early_khz=`: under TCG the guest
//! TSC is the host's, which the host knows), or a short calibration
//! against the i8254 PIT (needs `pit=on` on microvm), which spins for a
//! couple of milliseconds and so is the last resort. Time zero is the PVH
//! entry, so `now_ns()` is also the time since boot.
//!
//! On Xen the clock is Xen's pvclock (`vcpu_time_info` in shared info):
//! Xen may rescale or resample the TSC under us (no invariant TSC is
//! assumed), so every reading goes through its current sample.

mod kvmclock;
mod pit;
pub mod pvclock;
mod scale;

use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use crate::arch::x86_64::cpu::{cpuid, rdtsc};
use crate::platform::{Hypervisor, Platform};
pub use scale::Scale;

/// Where the TSC rate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// KVM paravirtual clock (MSR_KVM_SYSTEM_TIME_NEW).
    KvmClock,
    /// Xen's CPUID time leaf.
    XenCpuid,
    /// Hypervisor timing leaf 0x4000_0010.
    HypervisorLeaf,
    /// CPUID leaf 0x15 (crystal ratio).
    Cpuid15,
    /// `mb.tsc_khz=N` on the kernel command line.
    Cmdline,
    /// Calibrated against the i8254 PIT.
    Pit,
    /// Xen's pvclock in shared info (read on every `now_ns`).
    XenPvclock,
}

/// Why no clock could be set up.
#[derive(Clone, Copy, Debug)]
pub struct NoClock;

impl core::fmt::Display for NoClock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("no TSC rate source: not KVM or Xen, no CPUID timing leaf and no PIT (boot microvm with pit=on under TCG)")
    }
}

/// Q32 nanoseconds per TSC tick; 0 until `init`.
static NS_PER_TSC_Q32: AtomicU64 = AtomicU64::new(0);
static TSC_KHZ: AtomicU64 = AtomicU64::new(0);

/// TSC value at the PVH entry, written by the boot assembly.
#[unsafe(no_mangle)]
pub static mut BOOT_TSC: u64 = 0;

/// TSC at boot entry.
pub fn boot_tsc() -> u64 {
    // SAFETY: written once by the boot code before any Rust runs.
    unsafe { core::ptr::read_volatile(&raw const BOOT_TSC) }
}

/// Xen's time info, when the clock is the pvclock.
static PVCLOCK: AtomicPtr<pvclock::PvclockInfo> = AtomicPtr::new(core::ptr::null_mut());
/// pvclock system time at the PVH entry.
static PVCLOCK_BOOT_NS: AtomicU64 = AtomicU64::new(0);

/// Picks a TSC rate source and sets the clock up; `cmdline` may carry
/// `mb.tsc_khz=N`.
pub fn init(platform: &Platform, cmdline: &str) -> Result<Source, NoClock> {
    if let (Hypervisor::Xen { .. }, Some(info)) = (platform.hypervisor, crate::xen::time_info()) {
        // SAFETY: the shared info page stays mapped for the whole run.
        let s = unsafe { pvclock::sample(info) };
        let scale = Scale::from_pvclock(s.mul, s.shift);
        NS_PER_TSC_Q32.store(scale.ns_per_tsc_q32(), Ordering::Relaxed);
        TSC_KHZ.store(scale.khz(), Ordering::Relaxed);
        PVCLOCK_BOOT_NS.store(s.ns_at(boot_tsc()), Ordering::Relaxed);
        PVCLOCK.store(info as *mut _, Ordering::Release);
        return Ok(Source::XenPvclock);
    }
    let (source, scale) = detect(platform, cmdline)?;
    if source != Source::Pit {
        // Calibration leaves the PIT one-shot; otherwise it still ticks.
        pit::quiesce();
    }
    NS_PER_TSC_Q32.store(scale.ns_per_tsc_q32(), Ordering::Relaxed);
    TSC_KHZ.store(scale.khz(), Ordering::Relaxed);
    Ok(source)
}

fn detect(platform: &Platform, cmdline: &str) -> Result<(Source, Scale), NoClock> {
    if let Hypervisor::Kvm { base } = platform.hypervisor {
        if let Some(s) = kvmclock::scale(base) {
            return Ok((Source::KvmClock, s));
        }
    }
    if let Hypervisor::Xen { base } = platform.hypervisor {
        // Leaf base+3, subleaf 0: ECX = guest TSC rate in kHz.
        let khz = cpuid(base + 3, 0).ecx;
        if khz != 0 {
            return Ok((Source::XenCpuid, Scale::from_khz(u64::from(khz))));
        }
    }
    if platform.features.hypervisor && cpuid(0x4000_0000, 0).eax >= 0x4000_0010 {
        let khz = cpuid(0x4000_0010, 0).eax;
        if khz != 0 {
            return Ok((Source::HypervisorLeaf, Scale::from_khz(u64::from(khz))));
        }
    }
    if cpuid(0, 0).eax >= 0x15 {
        let r = cpuid(0x15, 0);
        if r.eax != 0 && r.ebx != 0 && r.ecx != 0 {
            let hz = u64::from(r.ecx) * u64::from(r.ebx) / u64::from(r.eax);
            return Ok((Source::Cpuid15, Scale::from_khz(hz / 1000)));
        }
    }
    match cmdline_khz(cmdline) {
        Some(Ok(khz)) => return Ok((Source::Cmdline, Scale::from_khz(khz))),
        Some(Err(arg)) => {
            crate::kprintln!("mb: ignoring {arg}: not a TSC rate in kHz (1000-100000000)")
        }
        None => {}
    }
    pit::calibrate().map(|s| (Source::Pit, s)).ok_or(NoClock)
}

/// `mb.tsc_khz=N` from the command line: `Some(Ok(N))`, `Some(Err(arg))`
/// when it is there but not a plausible rate (1 MHz to 100 GHz), `None`
/// when absent. The last one wins, as with Linux's parameters.
fn cmdline_khz(cmdline: &str) -> Option<Result<u64, &str>> {
    let arg = cmdline
        .split_ascii_whitespace()
        .rfind(|a| a.starts_with("mb.tsc_khz="))?;
    let khz = arg["mb.tsc_khz=".len()..].parse::<u64>().ok();
    Some(khz.filter(|k| (1_000..=100_000_000).contains(k)).ok_or(arg))
}

/// Converts a TSC delta to nanoseconds.
pub fn tsc_to_ns(delta: u64) -> u64 {
    ((u128::from(delta) * u128::from(NS_PER_TSC_Q32.load(Ordering::Relaxed))) >> 32) as u64
}

/// Converts nanoseconds to a TSC delta.
pub fn ns_to_tsc(ns: u64) -> u64 {
    let q = NS_PER_TSC_Q32.load(Ordering::Relaxed).max(1);
    ((u128::from(ns) << 32) / u128::from(q)) as u64
}

/// TSC ticks per microsecond (at least 1).
pub fn tsc_per_us() -> u64 {
    (TSC_KHZ.load(Ordering::Relaxed) / 1000).max(1)
}

/// TSC rate in kHz.
pub fn tsc_khz() -> u64 {
    TSC_KHZ.load(Ordering::Relaxed)
}

/// Monotonic nanoseconds since the PVH entry.
pub fn now_ns() -> u64 {
    let info = PVCLOCK.load(Ordering::Acquire);
    if !info.is_null() {
        // SAFETY: set in `init` to Xen's time info, mapped for good.
        let ns = unsafe { pvclock::now(info) };
        return ns.saturating_sub(PVCLOCK_BOOT_NS.load(Ordering::Relaxed));
    }
    tsc_to_ns(rdtsc().wrapping_sub(boot_tsc()))
}

/// TSC value at `ns` nanoseconds after boot.
pub fn deadline_tsc(ns: u64) -> u64 {
    if !PVCLOCK.load(Ordering::Acquire).is_null() {
        // The TSC rate may change under Xen: convert only the remaining
        // interval, from now.
        return rdtsc().wrapping_add(ns_to_tsc(ns.saturating_sub(now_ns())));
    }
    boot_tsc().wrapping_add(ns_to_tsc(ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_rate_is_parsed_and_checked() {
        assert_eq!(cmdline_khz(""), None);
        assert_eq!(cmdline_khz("mb.selftest=timer"), None);
        assert_eq!(cmdline_khz("a mb.tsc_khz=2445414 b"), Some(Ok(2_445_414)));
        assert_eq!(
            cmdline_khz("mb.tsc_khz=1 mb.tsc_khz=1000000"),
            Some(Ok(1_000_000))
        );
        for bad in [
            "mb.tsc_khz=",
            "mb.tsc_khz=2.4e6",
            "mb.tsc_khz=0",
            "mb.tsc_khz=999",
        ] {
            assert_eq!(cmdline_khz(bad), Some(Err(bad)), "{bad}");
        }
    }
}

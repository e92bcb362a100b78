//! CPU instructions and registers: CPUID, MSRs, TSC, interrupt flag, halt.

use core::arch::asm;
use core::arch::x86_64::{__cpuid_count, CpuidResult};

/// Executes CPUID for `leaf`/`subleaf`.
#[inline]
pub fn cpuid(leaf: u32, subleaf: u32) -> CpuidResult {
    __cpuid_count(leaf, subleaf)
}

/// Reads the time-stamp counter. Plain `rdtsc`: `rdtscp` loops forever in
/// Xen nested under TCG (no `nrip-save`), so it is never used.
#[inline]
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDTSC is unprivileged and side-effect free; CR4.TSD is clear.
    unsafe {
        asm!("lfence", "rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Reads a model-specific register.
///
/// # Safety
/// The MSR must exist, or the CPU raises #GP.
#[inline]
pub unsafe fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Writes a model-specific register.
///
/// # Safety
/// The MSR must exist and the value must be valid for it.
#[inline]
pub unsafe fn wrmsr(msr: u32, value: u64) {
    let (lo, hi) = (value as u32, (value >> 32) as u32);
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") lo, in("edx") hi, options(nostack, preserves_flags))
    }
}

/// Disables maskable interrupts.
#[inline]
pub fn cli() {
    // SAFETY: only changes IF; the kernel runs with interrupts off except
    // while halted.
    unsafe { asm!("cli", options(nomem, nostack)) }
}

/// Enables interrupts and halts until one arrives, atomically: `sti` takes
/// effect after the next instruction, so an interrupt that is already
/// pending wakes the `hlt` instead of being lost. Returns with interrupts
/// disabled again, after the handler ran.
#[inline]
pub fn wait_for_interrupt() {
    // SAFETY: handlers are installed before the first call; they only touch
    // atomics and device acknowledge registers.
    unsafe { asm!("sti", "hlt", "cli", options(nostack)) }
}

/// Halts forever with interrupts off (Xen powers such a domain off).
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: stopping the CPU is always allowed in ring 0.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) }
    }
}

/// CPUID.1 feature bits this kernel looks at.
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    /// Local APIC can run in x2APIC (MSR) mode.
    pub x2apic: bool,
    /// LAPIC timer supports TSC-deadline mode.
    pub tsc_deadline: bool,
    /// Running under a hypervisor (CPUID.1:ECX bit 31).
    pub hypervisor: bool,
    /// Invariant TSC (CPUID 0x8000_0007 EDX bit 8).
    pub invariant_tsc: bool,
}

impl Features {
    /// Reads the feature bits.
    pub fn detect() -> Features {
        let l1 = cpuid(1, 0);
        let max_ext = cpuid(0x8000_0000, 0).eax;
        let invariant_tsc = max_ext >= 0x8000_0007 && cpuid(0x8000_0007, 0).edx & (1 << 8) != 0;
        Features {
            x2apic: l1.ecx & (1 << 21) != 0,
            tsc_deadline: l1.ecx & (1 << 24) != 0,
            hypervisor: l1.ecx & (1 << 31) != 0,
            invariant_tsc,
        }
    }
}

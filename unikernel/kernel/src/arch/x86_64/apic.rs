//! Local APIC: x2APIC (MSRs) when the CPU has it, else xAPIC (MMIO at
//! 0xfee00000). Provides EOI and a one-shot timer (TSC-deadline when
//! available, else the count-down timer calibrated against the TSC).

use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use super::cpu::{self, Features};
use super::idt::{SPURIOUS_VECTOR, TIMER_VECTOR};

const IA32_APIC_BASE: u32 = 0x1b;
const IA32_TSC_DEADLINE: u32 = 0x6e0;
const XAPIC_BASE: usize = 0xfee0_0000;

const REG_ID: u32 = 0x20;
const REG_EOI: u32 = 0xb0;
const REG_SVR: u32 = 0xf0;
const REG_LVT_TIMER: u32 = 0x320;
const REG_TIMER_INIT: u32 = 0x380;
const REG_TIMER_CURRENT: u32 = 0x390;
const REG_TIMER_DIVIDE: u32 = 0x3e0;

const MODE_OFF: u8 = 0;
const MODE_XAPIC: u8 = 1;
const MODE_X2APIC: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(MODE_OFF);
static TSC_DEADLINE: AtomicU8 = AtomicU8::new(0);
/// APIC timer ticks per 2^32 TSC cycles, measured on first use (0 = not yet).
static TICKS_PER_TSC_Q32: AtomicU64 = AtomicU64::new(0);

fn read(reg: u32) -> u32 {
    match MODE.load(Ordering::Relaxed) {
        // SAFETY: x2APIC mode is enabled; the MSR range 0x800.. maps the registers.
        MODE_X2APIC => unsafe { cpu::rdmsr(0x800 + (reg >> 4)) as u32 },
        // SAFETY: the xAPIC page is identity-mapped uncached.
        MODE_XAPIC => unsafe {
            core::ptr::read_volatile((XAPIC_BASE + reg as usize) as *const u32)
        },
        _ => 0,
    }
}

fn write(reg: u32, value: u32) {
    match MODE.load(Ordering::Relaxed) {
        // SAFETY: as in `read`.
        MODE_X2APIC => unsafe { cpu::wrmsr(0x800 + (reg >> 4), u64::from(value)) },
        // SAFETY: as in `read`.
        MODE_XAPIC => unsafe {
            core::ptr::write_volatile((XAPIC_BASE + reg as usize) as *mut u32, value)
        },
        _ => {}
    }
}

/// Enables the local APIC; returns its ID (the IOAPIC destination).
pub fn init(features: &Features) -> u32 {
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU with an APIC.
    let base = unsafe { cpu::rdmsr(IA32_APIC_BASE) };
    if features.x2apic {
        // SAFETY: the CPU advertises x2APIC; enable (bit 11) then x2 (bit 10).
        unsafe { cpu::wrmsr(IA32_APIC_BASE, base | (1 << 11) | (1 << 10)) };
        MODE.store(MODE_X2APIC, Ordering::Relaxed);
    } else {
        // SAFETY: enabling the APIC at its default base.
        unsafe { cpu::wrmsr(IA32_APIC_BASE, base | (1 << 11)) };
        MODE.store(MODE_XAPIC, Ordering::Relaxed);
    }
    TSC_DEADLINE.store(features.tsc_deadline as u8, Ordering::Relaxed);
    write(REG_SVR, 0x100 | u32::from(SPURIOUS_VECTOR));
    // Timer masked until the first deadline.
    set_lvt_timer(1 << 16 | u32::from(TIMER_VECTOR));
    let id = read(REG_ID);
    if MODE.load(Ordering::Relaxed) == MODE_X2APIC {
        id
    } else {
        id >> 24
    }
}

/// Whether the local APIC runs in x2APIC mode.
pub fn is_x2apic() -> bool {
    MODE.load(Ordering::Relaxed) == MODE_X2APIC
}

/// Whether the timer runs in TSC-deadline mode.
pub fn has_tsc_deadline() -> bool {
    TSC_DEADLINE.load(Ordering::Relaxed) != 0
}

/// Signals end of interrupt.
pub fn eoi() {
    write(REG_EOI, 0);
}

/// The timer's LVT entry as last written (0: not yet).
static LVT_TIMER: AtomicU32 = AtomicU32::new(0);

/// Sets the timer's LVT entry, skipping the write (an exit under a
/// hypervisor) when it already holds `value`, as it does from one halt
/// to the next.
fn set_lvt_timer(value: u32) {
    if LVT_TIMER.swap(value, Ordering::Relaxed) != value {
        write(REG_LVT_TIMER, value);
    }
}

/// The deadline last armed (0: none) and the timer interrupts taken then.
static ARMED: AtomicU64 = AtomicU64::new(0);
static ARMED_AT_COUNT: AtomicU64 = AtomicU64::new(0);

/// Arms the timer for `deadline` unless that very deadline is armed and
/// has not fired yet (the loop's next deadline is often the same from
/// one halt to the next; re-arming would cost an exit for nothing).
pub fn ensure_timer_tsc(deadline: u64) {
    let fired = super::idt::taken(TIMER_VECTOR);
    if ARMED.load(Ordering::Relaxed) != deadline.max(1)
        || ARMED_AT_COUNT.load(Ordering::Relaxed) != fired
    {
        arm_timer_tsc(deadline);
    }
}

/// Arms the one-shot timer to fire at TSC value `deadline` (or at once if
/// it has passed).
pub fn arm_timer_tsc(deadline: u64) {
    ARMED.store(deadline.max(1), Ordering::Relaxed);
    ARMED_AT_COUNT.store(super::idt::taken(TIMER_VECTOR), Ordering::Relaxed);
    if TSC_DEADLINE.load(Ordering::Relaxed) != 0 {
        set_lvt_timer((0b10 << 17) | u32::from(TIMER_VECTOR));
        // SAFETY: TSC-deadline mode is advertised by CPUID.
        unsafe { cpu::wrmsr(IA32_TSC_DEADLINE, deadline.max(1)) };
        return;
    }
    let ratio = ticks_per_tsc_q32();
    let delta = deadline.saturating_sub(cpu::rdtsc());
    let ticks =
        ((u128::from(delta) * u128::from(ratio)) >> 32).clamp(1, u128::from(u32::MAX)) as u32;
    set_lvt_timer(u32::from(TIMER_VECTOR));
    write(REG_TIMER_INIT, ticks);
}

/// Stops the timer.
pub fn disarm_timer() {
    ARMED.store(0, Ordering::Relaxed);
    if TSC_DEADLINE.load(Ordering::Relaxed) != 0 {
        // SAFETY: as in `arm_timer_tsc`.
        unsafe { cpu::wrmsr(IA32_TSC_DEADLINE, 0) };
    } else {
        write(REG_TIMER_INIT, 0);
    }
}

/// The count-down timer's rate relative to the TSC, measured once over
/// ~200 µs (only needed without TSC-deadline mode).
fn ticks_per_tsc_q32() -> u64 {
    let cached = TICKS_PER_TSC_Q32.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    let window = crate::time::tsc_per_us() * 200;
    write(REG_TIMER_DIVIDE, 0b1011); // divide by 1
    set_lvt_timer(1 << 16 | u32::from(TIMER_VECTOR));
    write(REG_TIMER_INIT, u32::MAX);
    let t0 = cpu::rdtsc();
    while cpu::rdtsc() - t0 < window {
        core::hint::spin_loop();
    }
    let left = read(REG_TIMER_CURRENT);
    let t1 = cpu::rdtsc();
    write(REG_TIMER_INIT, 0);
    let ticks = u64::from(u32::MAX - left);
    let ratio = ((u128::from(ticks) << 32) / u128::from((t1 - t0).max(1))) as u64;
    let ratio = ratio.max(1);
    TICKS_PER_TSC_Q32.store(ratio, Ordering::Relaxed);
    ratio
}

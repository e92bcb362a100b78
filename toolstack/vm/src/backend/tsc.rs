//! The host's TSC rate, handed to TCG guests as `mb.tsc_khz=N`.
//!
//! QEMU's TCG gives the guest the host's TSC, unscaled (with `-icount`
//! it is the instruction clock instead, exactly 1 GHz at `shift=0`). A
//! guest told the rate skips its PIT calibration, which spins for a couple
//! of milliseconds of its boot; this is Linux's `tsc_early_khz=` idea.
//! The host measures the rate once per process against its monotonic
//! clock (the clock QEMU's timers, and so the guest's PIT, run on).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the measurement runs; its error is about 1 µs over this.
const WINDOW: Duration = Duration::from_millis(20);

/// The TSC rate in kHz under `-icount shift=0`: one tick per nanosecond.
pub const ICOUNT_SHIFT0_KHZ: u64 = 1_000_000;

/// The host TSC rate in kHz, measured on first use (about 20 ms) and
/// remembered; `None` when the host's TSC is not invariant
/// (`constant_tsc` and `nonstop_tsc` in /proc/cpuinfo), so the guest
/// calibrates itself.
pub fn host_khz() -> Option<u64> {
    static KHZ: OnceLock<Option<u64>> = OnceLock::new();
    *KHZ.get_or_init(|| {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
        invariant(&cpuinfo).then(measure).flatten()
    })
}

/// Whether the first CPU's flags promise a constant, non-stop TSC.
fn invariant(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| {
            let has = |f: &str| l.split_whitespace().any(|x| x == f);
            has("constant_tsc") && has("nonstop_tsc")
        })
}

#[cfg(target_arch = "x86_64")]
fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no preconditions in user mode on Linux.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// A (TSC, clock) pair read close together: the tightest of a few tries,
/// so a preemption between the two reads does not skew it.
#[cfg(target_arch = "x86_64")]
fn pair() -> (u64, Instant) {
    let mut best: Option<(u64, u64, Instant)> = None;
    for _ in 0..8 {
        let a = rdtsc();
        let t = Instant::now();
        let b = rdtsc();
        let width = b.wrapping_sub(a);
        if best.is_none_or(|(w, _, _)| width < w) {
            best = Some((width, a + width / 2, t));
        }
    }
    let (_, tsc, t) = best.expect("eight tries");
    (tsc, t)
}

#[cfg(target_arch = "x86_64")]
fn measure() -> Option<u64> {
    let (tsc0, t0) = pair();
    std::thread::sleep(WINDOW);
    let (tsc1, t1) = pair();
    let ns = t1.duration_since(t0).as_nanos();
    let ticks = u128::from(tsc1.checked_sub(tsc0)?);
    let khz = u64::try_from(ticks * 1_000_000 / ns.max(1)).ok()?;
    // The guest accepts 1 MHz to 100 GHz; anything else is a broken clock.
    (1_000..=100_000_000).contains(&khz).then_some(khz)
}

#[cfg(not(target_arch = "x86_64"))]
fn measure() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_both_flags() {
        assert!(invariant("x\nflags\t: fpu tsc constant_tsc nonstop_tsc\n"));
        assert!(!invariant("flags\t: fpu tsc constant_tsc\n"));
        assert!(!invariant("no flags line"));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn measures_a_plausible_rate_twice_the_same() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        if !invariant(&cpuinfo) {
            assert_eq!(host_khz(), None);
            return;
        }
        let a = measure().expect("a rate");
        let b = measure().expect("a rate");
        // Two 20 ms windows agree to well under 1 % (a loaded host may
        // stretch a window, which only makes it more exact).
        assert!(a.abs_diff(b) * 100 < a, "{a} vs {b}");
        assert_eq!(host_khz(), host_khz());
    }
}

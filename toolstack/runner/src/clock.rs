//! The wall clock for real-time runs (simulated time is the engine's
//! `SimClock`).

use click::time::{Clock, Timestamp};

/// The system's real-time clock.
#[derive(Debug, Default)]
pub struct WallClock;

impl Clock for WallClock {
    #[inline]
    fn now(&self) -> Timestamp {
        // clock_gettime directly: elements such as Counter read the clock
        // per packet, and SystemTime's checked arithmetic costs several
        // times the vDSO call itself.
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: ts is a live, writable timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        Timestamp::new(ts.tv_sec, ts.tv_nsec as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_is_after_2020_and_moves_forward() {
        let c = WallClock;
        let a = c.now();
        assert!(a.sec() > 1_577_836_800);
        assert!(c.now() >= a);
        assert!(!c.is_simulated());
    }
}

//! Time: timestamps and the clock a router reads.

use core::fmt;
use core::ops::{Add, Sub};

/// A point in time or a duration, in nanoseconds (since the Unix epoch for
/// points). Click's `Timestamp` is seconds plus a subsecond part; one signed
/// 64-bit count covers ±292 years at full resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Nanoseconds per second.
    pub const NSEC_PER_SEC: i64 = 1_000_000_000;
    /// Zero.
    pub const ZERO: Timestamp = Timestamp(0);

    /// From whole seconds and nanoseconds.
    pub const fn new(sec: i64, nsec: u32) -> Self {
        Timestamp(sec * Self::NSEC_PER_SEC + nsec as i64)
    }
    /// From seconds and microseconds.
    pub const fn from_usec(sec: i64, usec: u32) -> Self {
        Timestamp(sec * Self::NSEC_PER_SEC + usec as i64 * 1000)
    }
    /// From milliseconds.
    pub const fn from_msec(ms: i64) -> Self {
        Timestamp(ms * 1_000_000)
    }
    /// Whole seconds (floor).
    pub const fn sec(self) -> i64 {
        self.0.div_euclid(Self::NSEC_PER_SEC)
    }
    /// Subsecond nanoseconds.
    pub const fn nsec(self) -> u32 {
        self.0.rem_euclid(Self::NSEC_PER_SEC) as u32
    }
    /// Subsecond microseconds (truncated).
    pub const fn usec(self) -> u32 {
        self.nsec() / 1000
    }
    /// Total milliseconds (floor), Click's "jiffies" at CLICK_HZ=1000.
    pub const fn msec(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
    /// Total nanoseconds.
    pub const fn nanos(self) -> i64 {
        self.0
    }
}

impl Add for Timestamp {
    type Output = Timestamp;
    fn add(self, o: Timestamp) -> Timestamp {
        Timestamp(self.0.saturating_add(o.0))
    }
}

impl Sub for Timestamp {
    type Output = Timestamp;
    fn sub(self, o: Timestamp) -> Timestamp {
        Timestamp(self.0.saturating_sub(o.0))
    }
}

/// Click's textual form: `SEC.USEC` (six digits), e.g. `1000000000.000000`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.sec(), self.usec())
    }
}

/// Where a router's "now" comes from: the host's or guest's clock, or
/// simulated time (`--simtime`).
pub trait Clock {
    /// The current time.
    fn now(&self) -> Timestamp;
    /// Called by the driver when nothing is runnable and the next timer is at
    /// `t`: a simulated clock jumps there and returns true; a real clock
    /// returns false (the driver then waits).
    fn advance_to(&self, _t: Timestamp) -> bool {
        false
    }
    /// True for simulated time.
    fn is_simulated(&self) -> bool {
        false
    }
}

/// Click's simulated time: starts at 1,000,000,000 s and moves only when the
/// driver advances it to the next timer.
#[derive(Debug)]
pub struct SimClock {
    now: core::cell::Cell<Timestamp>,
}

impl SimClock {
    /// Click's `--simtime` starting point.
    pub const START: Timestamp = Timestamp::new(1_000_000_000, 0);
    /// A simulated clock at [`SimClock::START`].
    pub fn new() -> Self {
        SimClock {
            now: core::cell::Cell::new(Self::START),
        }
    }
}

impl Default for SimClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        self.now.get()
    }
    fn advance_to(&self, t: Timestamp) -> bool {
        if t > self.now.get() {
            self.now.set(t);
        }
        true
    }
    fn is_simulated(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn display_is_click_format() {
        assert_eq!(
            format!("{}", Timestamp::new(1_000_000_000, 0)),
            "1000000000.000000"
        );
        assert_eq!(format!("{}", Timestamp::from_usec(5, 42)), "5.000042");
    }

    #[test]
    fn simclock_only_moves_forward() {
        let c = SimClock::new();
        assert!(c.advance_to(SimClock::START + Timestamp::from_msec(5)));
        assert!(c.advance_to(SimClock::START));
        assert_eq!(c.now(), SimClock::START + Timestamp::from_msec(5));
    }
}

//! The wall clock for real-time runs (simulated time is the engine's
//! `SimClock`).

use std::time::{SystemTime, UNIX_EPOCH};

use click::time::{Clock, Timestamp};

/// The system's real-time clock.
#[derive(Debug, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp::new(d.as_secs() as i64, d.subsec_nanos())
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

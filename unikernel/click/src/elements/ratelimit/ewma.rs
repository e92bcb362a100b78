//! Click's `RateEWMA` (`include/click/ewma.hh`): an exponentially weighted
//! rate over 1 ms epochs, stability shift 4, 10 fraction bits, 32-bit
//! arithmetic; and `cp_unparse_real2`, which prints such fixed-point values.

use alloc::string::String;
use core::fmt::Write;

/// Fraction bits of the scaled average.
pub const SCALE: u32 = 10;
const STABILITY: u32 = 4;
const COMPENSATION: u32 = 1 << (STABILITY - 1);

/// A rate in events per epoch (1 ms), scaled by 2^10.
#[derive(Clone, Debug, Default)]
pub struct RateEwma {
    epoch: Option<u32>,
    current: u32,
    avg: u32,
}

fn step(avg: u32, x_scaled: u32) -> u32 {
    avg.wrapping_add(((x_scaled.wrapping_sub(avg)) as i32 >> STABILITY) as u32)
}

impl RateEwma {
    fn update_time(&mut self, now: u32) {
        let jj = *self.epoch.get_or_insert(now);
        if now != jj {
            self.avg = step(self.avg, (self.current << SCALE).wrapping_add(COMPENSATION));
            let idle = now.wrapping_sub(jj).wrapping_sub(1);
            if idle >= 100 {
                self.avg = 0;
            } else {
                for _ in 0..idle {
                    self.avg = step(self.avg, COMPENSATION);
                }
            }
            self.current = 0;
            self.epoch = Some(now);
        }
    }

    /// Records `delta` events at jiffy `now`.
    pub fn update(&mut self, now: u32, delta: u32) {
        self.update_time(now);
        self.current = self.current.wrapping_add(delta);
    }

    /// The average, scaled by 2^[`SCALE`], per epoch.
    pub fn scaled_average(&self) -> u32 {
        self.avg
    }
}

/// Click's `cp_unparse_real2`: a fixed-point value with `frac_bits`
/// fraction bits, printed with just enough decimals to read back exactly.
pub fn unparse_real2(real: u32, frac_bits: u32) -> String {
    let mut s = String::new();
    let _ = write!(s, "{}", real >> frac_bits);
    let one: u64 = 1 << frac_bits;
    let mut real = real as u64 & (one - 1);
    if real == 0 {
        return s;
    }
    s.push('.');
    real = 10 * real + 5;
    let mut allowable: u64 = 10;
    let mut rounder: u64 = 5;
    while rounder < (one >> 1) {
        rounder *= 10;
    }
    loop {
        if allowable > one {
            real = real.wrapping_add((one >> 1).wrapping_sub(rounder));
        }
        s.push((b'0' + (real >> frac_bits) as u8) as char);
        real = 10 * (real & (one - 1));
        allowable *= 10;
        if real <= allowable {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_rate_converges() {
        let mut r = RateEwma::default();
        for ms in 0..200u32 {
            r.update(ms, 2);
        }
        // Two events per ms = 2000/s.
        let per_sec = (r.scaled_average() as u64 * 1000) >> SCALE;
        assert!((1990..=2001).contains(&per_sec), "{per_sec}");
        // A long silence resets it.
        r.update(10_000, 0);
        assert_eq!(r.scaled_average(), 0);
    }

    #[test]
    fn real2_formats_like_click() {
        assert_eq!(unparse_real2(3 << 10, 10), "3");
        assert_eq!(unparse_real2((3 << 10) + 512, 10), "3.5");
        assert_eq!(unparse_real2(1, 10), "0.001");
    }
}

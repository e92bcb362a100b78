//! TSC-to-nanosecond scaling factors.

/// A TSC rate, kept as Q32 nanoseconds per tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    ns_per_tsc_q32: u64,
}

impl Scale {
    /// From a rate in kHz (must be non-zero).
    pub fn from_khz(khz: u64) -> Scale {
        Scale {
            ns_per_tsc_q32: ((1_000_000u128 << 32) / u128::from(khz.max(1))) as u64,
        }
    }

    /// From the pvclock pair (`tsc_to_system_mul`, `tsc_shift`):
    /// ns = ((delta << shift) * mul) >> 32, with a negative shift meaning >>.
    pub fn from_pvclock(mul: u32, shift: i8) -> Scale {
        let mul = u64::from(mul);
        let q = if shift >= 0 {
            mul << shift
        } else {
            mul >> (-shift)
        };
        Scale { ns_per_tsc_q32: q }
    }

    /// Q32 nanoseconds per TSC tick.
    pub fn ns_per_tsc_q32(&self) -> u64 {
        self.ns_per_tsc_q32
    }

    /// Rate in kHz.
    pub fn khz(&self) -> u64 {
        ((1_000_000u128 << 32) / u128::from(self.ns_per_tsc_q32.max(1))) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn khz_round_trips() {
        for khz in [1_000_000, 2_399_999, 3_000_000] {
            let s = Scale::from_khz(khz);
            assert!(s.khz().abs_diff(khz) <= 1, "{khz} -> {}", s.khz());
        }
    }

    #[test]
    fn pvclock_matches_rate() {
        // 2 GHz: 0.5 ns per tick = mul 2^31 with shift 0.
        assert_eq!(Scale::from_pvclock(1 << 31, 0).khz(), 2_000_000);
        // Same rate expressed with shift -1 and a doubled multiplier... (2^32-1 max)
        assert!(Scale::from_pvclock(u32::MAX, -1).khz().abs_diff(2_000_000) <= 1);
        // 500 MHz: 2 ns per tick = mul 2^31, shift 2.
        assert_eq!(Scale::from_pvclock(1 << 31, 2).khz(), 500_000);
    }
}

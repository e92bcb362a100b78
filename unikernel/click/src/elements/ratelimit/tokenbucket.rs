//! Click's token bucket (`include/click/tokenbucket.hh`), bit for bit: the
//! count of tokens is kept as a 32-bit fraction of the capacity, refilled
//! once per 1 ms jiffy. Conformance depends on this exact arithmetic, so it
//! is reproduced rather than approximated.

use crate::error::ConfigError;
use alloc::format;
use alloc::string::String;

use crate::confparse::{Args, Bandwidth, Duration};
use crate::time::Timestamp;

const MAX: u32 = u32::MAX;
/// Ticks per second (Click's `CLICK_HZ` at user level).
const FREQ: u32 = 1000;
/// Bandwidth elements wait for this many bytes of tokens before sending,
/// and add it to the capacity (Click's `tb_bandwidth_thresh`).
pub const BANDWIDTH_THRESH: u32 = 131_072;

/// Click's jiffies: milliseconds, wrapping at 32 bits.
pub fn jiffies(now: Timestamp) -> u32 {
    now.msec() as u32
}

/// A refill rate and capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenRate {
    tokens_per_tick: u32,
    token_scale: u32,
    time_until_full: u32,
}

impl TokenRate {
    /// A rate that never refills.
    pub const IDLE: TokenRate = TokenRate {
        tokens_per_tick: 0,
        token_scale: 1,
        time_until_full: MAX,
    };

    /// `rate` tokens per second, at most `capacity` accumulated; idle if
    /// either is 0.
    pub fn new(mut rate: u32, mut capacity: u32) -> TokenRate {
        if capacity == 0 {
            rate = 0;
            capacity = MAX;
        }
        if rate != 0 {
            let min_capacity = (rate - 1) / FREQ + 1;
            capacity = capacity.max(min_capacity);
        }
        let token_scale = MAX / capacity;
        let l = (rate as u64 * token_scale as u64) / FREQ as u64;
        if rate != 0 {
            let tpt = if l != 0 { l as u32 } else { 1 };
            TokenRate {
                tokens_per_tick: tpt,
                token_scale,
                time_until_full: (MAX - 1) / tpt + 1,
            }
        } else {
            TokenRate {
                tokens_per_tick: 0,
                token_scale,
                time_until_full: MAX,
            }
        }
    }

    /// The rate in tokens per second, as Click computes it back.
    pub fn rate(&self) -> u32 {
        let t = self.tokens_per_tick as u64;
        let r = (t / 2 + t * FREQ as u64) / self.token_scale as u64;
        u32::try_from(r).unwrap_or(MAX)
    }

    /// The capacity in tokens.
    pub fn capacity(&self) -> u32 {
        MAX / self.token_scale
    }

    /// Tokens as a fraction of capacity, or `None` beyond capacity.
    fn cvt(&self, t: u32) -> Option<u32> {
        u32::try_from(t as u64 * self.token_scale as u64).ok()
    }
}

/// A rate plus its current token count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    rate: TokenRate,
    tokens: u32,
    time_point: u32,
}

impl Default for TokenBucket {
    fn default() -> Self {
        TokenBucket {
            rate: TokenRate::IDLE,
            tokens: 0,
            time_point: 0,
        }
    }
}

impl TokenBucket {
    /// An empty bucket whose time point is 0, as Click's are: the first
    /// refill fills it.
    pub fn new(rate: u32, capacity: u32) -> Self {
        TokenBucket {
            rate: TokenRate::new(rate, capacity),
            ..TokenBucket::default()
        }
    }

    /// The rate.
    pub fn rate(&self) -> &TokenRate {
        &self.rate
    }

    /// Changes rate and capacity, keeping the fill fraction.
    pub fn assign(&mut self, rate: u32, capacity: u32) {
        self.rate = TokenRate::new(rate, capacity);
    }

    /// Changes rate and capacity, keeping the token count about the same.
    pub fn assign_adjust(&mut self, rate: u32, capacity: u32) {
        let old = self.rate;
        self.rate = TokenRate::new(rate, capacity);
        if old.token_scale != self.rate.token_scale {
            let v = self.tokens as u64 * self.rate.token_scale as u64 / old.token_scale as u64;
            self.tokens = u32::try_from(v).unwrap_or(MAX);
        }
    }

    /// Adds the tokens earned since the last refill, up to capacity.
    pub fn refill(&mut self, now_jiffies: u32) {
        let diff = now_jiffies.saturating_sub(self.time_point);
        if diff >= self.rate.time_until_full {
            self.tokens = MAX;
        } else if diff > 0 {
            let new = self
                .tokens
                .wrapping_add(diff.wrapping_mul(self.rate.tokens_per_tick));
            self.tokens = if new < self.tokens { MAX } else { new };
        }
        self.time_point = now_jiffies;
    }

    /// Whole tokens held.
    pub fn size(&self) -> u32 {
        self.tokens / self.rate.token_scale
    }

    /// True if at least `t` tokens are held.
    pub fn contains(&self, t: u32) -> bool {
        self.rate.cvt(t).is_some_and(|f| f <= self.tokens)
    }

    /// Removes `t` tokens (down to zero).
    pub fn remove(&mut self, t: u32) {
        let f = self.rate.cvt(t).unwrap_or(MAX);
        self.tokens = self.tokens.saturating_sub(f);
    }

    /// Removes `t` tokens if there are that many.
    pub fn remove_if(&mut self, t: u32) -> bool {
        match self.rate.cvt(t) {
            Some(f) if f <= self.tokens => {
                self.tokens -= f;
                true
            }
            _ => false,
        }
    }

    /// Sets the count to `t` tokens (at most capacity).
    pub fn set(&mut self, t: u32) {
        self.tokens = self.rate.cvt(t).unwrap_or(MAX);
    }

    /// Ticks until `t` tokens are held (`u32::MAX`: never).
    pub fn time_until_contains(&self, t: u32) -> u32 {
        let Some(f) = self.rate.cvt(t) else {
            return MAX;
        };
        if f <= self.tokens || self.rate.time_until_full == 0 {
            return 0;
        }
        match (f - self.tokens - 1).checked_div(self.rate.tokens_per_tick) {
            Some(q) => q + 1,
            None => MAX,
        }
    }
}

/// How a limiter's capacity follows its rate (kept so a `rate` write can
/// recompute it, as Click's reconfiguration does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BurstSpec {
    bandwidth: bool,
    /// `BURST_DURATION` in ms (default 20).
    msec: u32,
    /// `BURST_SIZE` / `BURST_BYTES`, if given.
    size: Option<u32>,
}

impl BurstSpec {
    /// The bucket capacity for `rate`.
    pub fn capacity(&self, rate: u32) -> u32 {
        let tokens = match self.size {
            Some(t) => t,
            None => u32::try_from(rate as u64 * self.msec as u64 / 1000).unwrap_or(MAX),
        };
        let tokens = if self.bandwidth {
            tokens.saturating_add(BANDWIDTH_THRESH)
        } else {
            tokens
        };
        tokens.max(1)
    }

    /// A bucket for `rate`.
    pub fn bucket(&self, rate: u32) -> TokenBucket {
        TokenBucket::new(rate, self.capacity(rate))
    }
}

/// Reads Click's rate-limiter arguments (`RatedUnqueue::configure_helper`):
/// `RATE` (packets/s, or a bandwidth when `bandwidth`), then
/// `BURST_DURATION` or `BURST_SIZE` (`BURST_BYTES` for bandwidth). The
/// capacity defaults to 20 ms of tokens, at least 1.
pub fn configure(
    args: &mut Args,
    bandwidth: bool,
) -> Result<(TokenBucket, BurstSpec), ConfigError> {
    let rate = read_rate(args, bandwidth)?;
    let dur = args.keyword::<Duration>("BURST_DURATION")?;
    let size = if bandwidth {
        args.keyword::<u32>("BURST_BYTES")?
    } else {
        args.keyword::<u32>("BURST_SIZE")?
    };
    if dur.is_some() && size.is_some() {
        return Err(ConfigError::conflict(format!(
            "cannot specify both BURST_DURATION and {}",
            if bandwidth {
                "BURST_BYTES"
            } else {
                "BURST_SIZE"
            }
        )));
    }
    let msec = match dur {
        Some(Duration(t)) => duration_msec(t)?,
        None => 20,
    };
    let spec = BurstSpec {
        bandwidth,
        msec,
        size,
    };
    Ok((spec.bucket(rate), spec))
}

/// Parses a `rate` handler value: packets/s, or a bandwidth.
pub fn parse_rate(v: &str, bandwidth: bool) -> Result<u32, ConfigError> {
    let mut a = Args::new(v);
    let r = read_rate(&mut a, bandwidth)?;
    a.finish()?;
    Ok(r)
}

/// The `rate` handler text: packets/s, or Click's bandwidth form.
pub fn unparse_rate(tb: &TokenBucket, bandwidth: bool) -> String {
    if bandwidth {
        unparse_bandwidth(tb.rate().rate())
    } else {
        format!("{}", tb.rate().rate())
    }
}

/// Reads `RATE`: an unsigned packet rate, or a bandwidth in bytes/s.
pub fn read_rate(args: &mut Args, bandwidth: bool) -> Result<u32, ConfigError> {
    if bandwidth {
        let Bandwidth(b) = args.required::<Bandwidth>("RATE")?;
        u32::try_from(b).map_err(|_| {
            ConfigError::out_of_range(format!("RATE: bandwidth too large (max {MAX} bytes/s)"))
        })
    } else {
        args.required::<u32>("RATE")
    }
}

/// Milliseconds in `t`, rounded (Click's `SecondsArg(3)`).
fn duration_msec(t: Timestamp) -> Result<u32, ConfigError> {
    u32::try_from((t.nanos() + 500_000) / 1_000_000)
        .map_err(|_| ConfigError::out_of_range("BURST_DURATION: too long"))
}

/// Click's `BandwidthArg::unparse`: a rate in bytes/s as `kbps`, `Mbps`,
/// `Gbps` or `MBps` with trailing zeros trimmed.
pub fn unparse_bandwidth(x: u32) -> String {
    let x = x as u64;
    if x >= 0x2000_0000 {
        format!("{}MBps", real10(x, 6))
    } else if x >= 125_000_000 {
        format!("{}Gbps", real10(x * 8, 9))
    } else if x >= 125_000 {
        format!("{}Mbps", real10(x * 8, 6))
    } else {
        format!("{}kbps", real10(x * 8, 3))
    }
}

/// `v / 10^frac` in decimal without trailing zeros (Click's
/// `cp_unparse_real10`).
fn real10(v: u64, frac: u32) -> String {
    let one = 10u64.pow(frac);
    let (i, f) = (v / one, v % one);
    if f == 0 {
        return format!("{i}");
    }
    let mut s = format!("{i}.{f:0width$}", width = frac as usize);
    while s.ends_with('0') {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_capacity_match_click() {
        let r = TokenRate::new(10, 5);
        assert_eq!(r.token_scale, u32::MAX / 5);
        assert_eq!(r.tokens_per_tick, 8_589_934);
        assert_eq!(r.rate(), 10);
        assert_eq!(r.capacity(), 5);
        // Capacity is raised so one tick's tokens fit.
        assert_eq!(TokenRate::new(5000, 1).capacity(), 5);
        assert_eq!(TokenRate::new(0, 5).tokens_per_tick, 0);
    }

    #[test]
    fn bucket_fills_on_first_refill_and_drains() {
        let mut b = TokenBucket::new(10, 5);
        assert!(!b.contains(1));
        b.refill(1_000_000);
        assert_eq!(b.size(), 5);
        for _ in 0..5 {
            assert!(b.remove_if(1));
        }
        assert!(!b.remove_if(1));
        // 10/s is one token per 100 ms, but the per-tick fraction rounds
        // down, so Click needs 101 ticks.
        assert_eq!(b.time_until_contains(1), 101);
        b.refill(1_000_100);
        assert!(!b.contains(1));
        b.refill(1_000_101);
        assert!(b.contains(1));
        // Time going backwards adds nothing.
        b.refill(5);
        assert_eq!(b.size(), 1);
        assert!(!b.contains(6));
        assert_eq!(b.time_until_contains(6), u32::MAX);
    }

    #[test]
    fn arguments() {
        let (b, _) = configure(&mut Args::new("1000"), false).unwrap();
        assert_eq!(b.rate().capacity(), 20);
        let (b, _) = configure(&mut Args::new("RATE 10, BURST_SIZE 5"), false).unwrap();
        assert_eq!(b.rate().capacity(), 5);
        let (b, _) = configure(&mut Args::new("100, BURST_DURATION 1s"), false).unwrap();
        assert_eq!(b.rate().capacity(), 100);
        let (b, _) = configure(&mut Args::new("10"), false).unwrap();
        assert_eq!(b.rate().capacity(), 1);
        let (b, _) = configure(&mut Args::new("RATE 1000Bps"), true).unwrap();
        assert_eq!(b.rate().capacity(), 20 + BANDWIDTH_THRESH);
        assert_eq!(
            configure(&mut Args::new("10, BURST_SIZE 2, BURST_DURATION 1s"), false).unwrap_err(),
            "cannot specify both BURST_DURATION and BURST_SIZE"
        );
        assert!(configure(&mut Args::new("fast"), false).is_err());
        assert!(configure(&mut Args::new(""), false).is_err());
    }

    #[test]
    fn bandwidth_unparse() {
        assert_eq!(unparse_bandwidth(1000), "8kbps");
        assert_eq!(unparse_bandwidth(125_000), "1Mbps");
        assert_eq!(unparse_bandwidth(1234), "9.872kbps");
    }
}

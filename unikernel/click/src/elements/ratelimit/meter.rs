//! `Meter(RATE1, ..., RATEn)`: sends packets to an output chosen by the
//! current packet rate.
//!
//! # Ports
//! One push input; n+1 push outputs (one more than the rates).
//!
//! # Processing
//! Measures the arrival rate in packets per second with Click's
//! exponentially weighted average (1 ms ticks). Below RATE1 packets leave
//! on output 0; from RATE1 up to RATE2 on output 1; ...; at RATEn or above
//! on output n. The whole stream follows the rate: to split off only the
//! excess, use `RatedSplitter`.
//!
//! # Keywords
//! None (the rates are positional, increasing).
//!
//! # Handlers
//! * `rate` (read): the measured rate.
//! * `meters` (read): the configured rates, separated by spaces.
//!
//! # Example
//! ```text
//! m :: Meter(10000);
//! m[0] -> ToDump(ok.pcap); m[1] -> Discard;
//! ```

use crate::error::{ArgPos, ConfigError, ErrorKind};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::ewma::{unparse_real2, RateEwma, SCALE};
use super::tokenbucket::jiffies;
use crate::confparse::{Bandwidth, FromArg};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::{ConfigCx, Ctx};

/// The `Meter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Meter",
    ports: "1/2-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| Ok(Box::new(RateMeter::configure(args.rest_raw(), cx, false)?)),
};

/// Rate meter, in packets or (`bandwidth`) bytes per second.
pub struct RateMeter {
    rate: RateEwma,
    /// Thresholds, scaled per-tick averages.
    meters: Vec<u32>,
    bandwidth: bool,
}

impl RateMeter {
    /// Reads the rates of `Meter` or, with `bandwidth`, `BandwidthMeter`.
    pub(crate) fn configure(
        args: Vec<String>,
        cx: &ConfigCx,
        bandwidth: bool,
    ) -> Result<RateMeter, ConfigError> {
        if args.is_empty() {
            return Err(ConfigError::new(
                ErrorKind::Missing,
                "expected at least one rate",
            ));
        }
        let max = u32::MAX >> SCALE;
        let mut meters = Vec::with_capacity(args.len());
        let mut prev = None;
        for (i, a) in args.iter().enumerate() {
            let v = if bandwidth {
                Bandwidth::from_arg(a).and_then(|b| u32::try_from(b.0).ok())
            } else {
                u32::from_arg(a)
            }
            .ok_or_else(|| {
                ConfigError::bad_value(&format!("argument {}", i + 1), "a rate", a)
                    .at(ArgPos::Index(i))
            })?;
            if prev.is_some_and(|p| v <= p) {
                let e = format!("rate {} must be > rate {}", i + 1, i);
                return Err(ConfigError::out_of_range(e).at(ArgPos::Index(i)));
            }
            if v > max {
                let e = format!("rate {} too large (max {max})", i + 1);
                return Err(ConfigError::out_of_range(e).at(ArgPos::Index(i)));
            }
            prev = Some(v);
            meters.push((v << SCALE) / 1000);
        }
        if meters.len() + 1 != cx.noutputs() {
            return Err(ConfigError::conflict(format!(
                "{} rates need {} outputs, but {} are connected",
                meters.len(),
                meters.len() + 1,
                cx.noutputs()
            )));
        }
        Ok(RateMeter {
            rate: RateEwma::default(),
            meters,
            bandwidth,
        })
    }
}

impl Element for RateMeter {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let n = if self.bandwidth { p.len() as u32 } else { 1 };
        self.rate.update(jiffies(cx.now()), n);
        let r = self.rate.scaled_average();
        let o = self
            .meters
            .iter()
            .position(|&m| r < m)
            .unwrap_or(self.meters.len());
        cx.push(o, p);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("rate"), HandlerDecl::read("meters")];
        H
    }

    fn read_handler(&self, cx: &Ctx, name: &str) -> String {
        if name == "rate" {
            let mut r = self.rate.clone();
            r.update(jiffies(cx.now()), 0);
            unparse_real2(r.scaled_average().wrapping_mul(1000), SCALE)
        } else {
            let v: Vec<String> = self
                .meters
                .iter()
                .map(|m| unparse_real2(m.wrapping_mul(1000), SCALE))
                .collect();
            v.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use crate::time::{SimClock, Timestamp};

    #[test]
    fn switches_output_as_the_rate_rises() {
        let (r, _) = router(fed(
            &[("m", "Meter", "500, 5000"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1), (0, 2, 1, 2)],
        ));
        // One packet every 10 ms: 100/s, below 500.
        for k in 0..200 {
            r.clock()
                .advance_to(SimClock::START + Timestamp::from_msec(k * 10));
            r.inject(0, 0, Packet::new(1));
        }
        let got = sink_contents(&r, "s");
        assert!(got[100..].iter().all(|(p, _)| *p == 0));
        // Then 2 per ms: 2000/s, between the rates.
        for k in 0..200 {
            r.clock()
                .advance_to(SimClock::START + Timestamp::from_msec(2000 + k));
            r.inject(0, 0, Packet::new(1));
            r.inject(0, 0, Packet::new(1));
        }
        let got = sink_contents(&r, "s");
        assert_eq!(got.last().unwrap().0, 1);
        let rate: f64 = r.read("m.rate").unwrap().parse().unwrap();
        assert!((1500.0..2100.0).contains(&rate), "{rate}");
        assert_eq!(r.read("m.meters").unwrap(), "500 5000");
    }

    #[test]
    fn argument_errors() {
        let two = [(0, 0, 1, 0), (0, 1, 1, 1)];
        let (r, _) = router(fed(
            &[("m", "BandwidthMeter", "1000Bps"), ("s", "TestSink", "")],
            &two,
        ));
        r.inject(0, 0, Packet::new(100));
        assert_eq!(r.read("m.meters").unwrap(), "1000");
        for (class, cfg) in [
            ("Meter", ""),
            ("Meter", "10, 5"),
            ("Meter", "x"),
            ("Meter", "10, 20"),
            ("BandwidthMeter", "fast"),
        ] {
            assert!(
                build(fed(&[("m", class, cfg), ("s", "TestSink", "")], &two)).is_err(),
                "{class}({cfg})"
            );
        }
    }
}

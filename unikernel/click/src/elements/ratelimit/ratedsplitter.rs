//! `RatedSplitter(RATE [, KEYWORDS])`: sends up to RATE packets per second
//! to output 0, the rest to output 1.
//!
//! # Ports
//! One push input; output 0 push; optional output 1 push (excess packets
//! are dropped when it is not connected).
//!
//! # Processing
//! Click's token bucket, exactly: RATE tokens per second, refilled every
//! 1 ms tick, capacity 20 ms worth of tokens (at least 1) unless
//! BURST_SIZE or BURST_DURATION says otherwise; the bucket starts full. A
//! packet that finds a token takes it and leaves on output 0; otherwise it
//! leaves on output 1. Unlike `Meter`, RATE packets per second still get
//! through when more arrive.
//!
//! # Keywords
//! * `RATE` (unsigned): packets per second.
//! * `BURST_SIZE` (unsigned): bucket capacity in packets.
//! * `BURST_DURATION` (time): capacity as RATE times this.
//!
//! # Handlers
//! * `rate` (read/write): the rate; writing keeps the burst setting.
//!
//! # Example
//! ```text
//! rs :: RatedSplitter(RATE 10, BURST_SIZE 5);
//! rs[0] -> ToDump(pass.pcap); rs[1] -> ToDump(over.pcap);
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::String;

use super::tokenbucket::{
    configure, jiffies, parse_rate, unparse_rate, BurstSpec, TokenBucket, BANDWIDTH_THRESH,
};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `RatedSplitter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "RatedSplitter",
    ports: "1/1-2",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| Ok(Box::new(RatedSplitter::configure(args, false)?)),
};

/// Token-bucket splitter, in packets or (`bandwidth`) bytes.
pub struct RatedSplitter {
    tb: TokenBucket,
    spec: BurstSpec,
    bandwidth: bool,
}

impl RatedSplitter {
    /// Reads the arguments of `RatedSplitter` or, with `bandwidth`,
    /// `BandwidthRatedSplitter`.
    pub(crate) fn configure(
        args: &mut crate::confparse::Args,
        bandwidth: bool,
    ) -> Result<RatedSplitter, ConfigError> {
        let (tb, spec) = configure(args, bandwidth)?;
        Ok(RatedSplitter {
            tb,
            spec,
            bandwidth,
        })
    }

    /// True if `p` conforms (and takes its tokens).
    fn conforms(&mut self, now: u32, p: &Packet) -> bool {
        self.tb.refill(now);
        if self.bandwidth {
            if self.tb.contains(BANDWIDTH_THRESH) {
                self.tb.remove(p.len() as u32);
                true
            } else {
                false
            }
        } else {
            self.tb.remove_if(1)
        }
    }
}

impl Element for RatedSplitter {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        if self.conforms(jiffies(cx.now()), &p) {
            cx.push(0, p);
        } else if cx.noutputs() > 1 {
            cx.push(1, p);
        } else {
            cx.kill(p);
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("rate")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        unparse_rate(&self.tb, self.bandwidth)
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), ConfigError> {
        let r = parse_rate(value, self.bandwidth)?;
        self.tb.assign(r, self.spec.capacity(r));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use crate::time::{SimClock, Timestamp};
    use alloc::vec::Vec;

    fn at(r: &crate::Router, ms: i64, len: usize) {
        r.clock()
            .advance_to(SimClock::START + Timestamp::from_msec(ms));
        r.inject(0, 0, Packet::new(len));
    }

    fn ports(r: &crate::Router) -> Vec<usize> {
        sink_contents(r, "s").iter().map(|(p, _)| *p).collect()
    }

    #[test]
    fn token_bucket_under_simulated_time() {
        let (r, _) = router(fed(
            &[
                ("rs", "RatedSplitter", "RATE 10, BURST_SIZE 5"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (0, 1, 1, 1)],
        ));
        // A burst of 7: the full bucket (5) passes, the rest is over.
        for _ in 0..7 {
            at(&r, 0, 60);
        }
        // 10/s with Click's rounding: the next token is due after 101 ms.
        at(&r, 100, 60);
        at(&r, 101, 60);
        at(&r, 102, 60);
        assert_eq!(ports(&r), [0, 0, 0, 0, 0, 1, 1, 1, 0, 1]);
        assert_eq!(r.read("rs.rate").unwrap(), "10");
    }

    #[test]
    fn default_capacity_is_20ms_of_tokens_and_rate_handler() {
        let (r, _) = router(fed(
            &[("rs", "RatedSplitter", "1000"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1)],
        ));
        for _ in 0..25 {
            at(&r, 0, 60);
        }
        assert_eq!(ports(&r).iter().filter(|&&p| p == 0).count(), 20);
        // Click computes the rate back from its fixed-point form, with a
        // half-tick rounding term: 2000 reads as 2001 there too.
        r.write("rs.rate", "2000").unwrap();
        assert_eq!(r.read("rs.rate").unwrap(), "2001");
        assert!(r.write("rs.rate", "lots").is_err());
    }

    #[test]
    fn excess_dropped_without_output_1() {
        let (r, _) = router(fed(
            &[
                ("rs", "RatedSplitter", "RATE 1, BURST_SIZE 1"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0)],
        ));
        at(&r, 0, 60);
        at(&r, 0, 60);
        assert_eq!(ports(&r), [0]);
    }

    #[test]
    fn bandwidth_splitter_needs_the_threshold() {
        let (r, _) = router(fed(
            &[
                ("bw", "BandwidthRatedSplitter", "RATE 1000Bps"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (0, 1, 1, 1)],
        ));
        // Capacity 20 + 131072 bytes; a packet passes while at least 131072
        // bytes of tokens remain, then takes its length: three 10-byte
        // packets pass (the third finds just over 131072 left).
        for _ in 0..4 {
            at(&r, 0, 10);
        }
        // 1000 B/s refills 10 bytes in 10 ms.
        at(&r, 10, 10);
        assert_eq!(ports(&r), [0, 0, 0, 1, 0]);
        assert_eq!(r.read("bw.rate").unwrap(), "8kbps");
        // Read back from Click's fixed-point rate, imprecise as in Click.
        r.write("bw.rate", "1Mbps").unwrap();
        assert_eq!(r.read("bw.rate").unwrap(), "1.000496Mbps");
    }

    #[test]
    fn argument_errors() {
        for (class, cfg) in [
            ("RatedSplitter", ""),
            ("RatedSplitter", "x"),
            ("RatedSplitter", "10, BURST_SIZE 2, BURST_DURATION 1s"),
            ("RatedSplitter", "10, BURST_BYTES 2"),
            ("BandwidthRatedSplitter", "fast"),
            ("BandwidthRatedSplitter", "1000Bps, BURST_SIZE 3"),
        ] {
            assert!(
                build(fed(
                    &[("rs", class, cfg), ("s", "TestSink", "")],
                    &[(0, 0, 1, 0)]
                ))
                .is_err(),
                "{class}({cfg})"
            );
        }
    }
}

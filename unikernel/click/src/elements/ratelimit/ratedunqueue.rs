//! `RatedUnqueue(RATE [, KEYWORDS])`: pulls packets at RATE per second and
//! pushes them out.
//!
//! # Ports
//! One pull input, one push output.
//!
//! # Processing
//! A token bucket as in `RatedSplitter` (capacity 20 ms of tokens unless
//! BURST_SIZE or BURST_DURATION is given). While the bucket holds a token,
//! each task run pulls one packet and pushes it. When the bucket is empty
//! the task sleeps on a timer until a token is due; when every queue
//! upstream is empty it sleeps until one gets a packet.
//!
//! # Keywords
//! * `RATE` (unsigned): packets per second.
//! * `BURST_SIZE` (unsigned), `BURST_DURATION` (time).
//! * `ACTIVE` (bool, default true).
//!
//! # Handlers
//! * `rate` (read/write): the rate.
//! * `active` (read/write): pulls only when true.
//! * `calls` (read): task statistics (runs, empty runs, pushes, failed
//!   pulls).
//!
//! # Example
//! ```text
//! q :: Queue -> RatedUnqueue(100) -> ToDump(out.pcap);
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;

use super::tokenbucket::{
    configure, jiffies, parse_rate, unparse_rate, BurstSpec, TokenBucket, BANDWIDTH_THRESH,
};
use crate::confparse::FromArg;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::elements::standard::notify::UpstreamSignal;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `RatedUnqueue` class.
pub static CLASS: ElementClass = ElementClass {
    name: "RatedUnqueue",
    ports: "1/1",
    processing: "l/h",
    phase: 0,
    make: |args, _cx| Ok(Box::new(RatedUnqueue::configure(args, false)?)),
};

const TIMER: u32 = 0;

/// Rate-limited pull-to-push converter, in packets or (`bandwidth`) bytes.
pub struct RatedUnqueue {
    tb: TokenBucket,
    spec: BurstSpec,
    bandwidth: bool,
    active: bool,
    signal: UpstreamSignal,
    runs: u64,
    empty_runs: u64,
    pushes: u64,
    failed_pulls: u64,
}

impl RatedUnqueue {
    /// Reads the arguments of `RatedUnqueue` or, with `bandwidth`,
    /// `BandwidthRatedUnqueue`.
    pub(crate) fn configure(
        args: &mut crate::confparse::Args,
        bandwidth: bool,
    ) -> Result<RatedUnqueue, ConfigError> {
        let (tb, spec) = configure(args, bandwidth)?;
        let active = args.keyword_or("ACTIVE", true)?;
        Ok(RatedUnqueue {
            tb,
            spec,
            bandwidth,
            active,
            signal: UpstreamSignal::default(),
            runs: 0,
            empty_runs: 0,
            pushes: 0,
            failed_pulls: 0,
        })
    }

    fn need(&self) -> u32 {
        if self.bandwidth {
            BANDWIDTH_THRESH
        } else {
            1
        }
    }
}

impl Element for RatedUnqueue {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.signal = UpstreamSignal::new(cx, 0);
        cx.schedule();
        Ok(())
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        self.runs += 1;
        if !self.active {
            cx.unschedule();
            return false;
        }
        self.tb.refill(jiffies(cx.now()));
        if !self.tb.contains(self.need()) {
            let ticks = self.tb.time_until_contains(self.need());
            cx.unschedule();
            if ticks != u32::MAX {
                cx.set_timer(TIMER, cx.now() + Timestamp::from_msec(ticks as i64));
            }
            self.empty_runs += 1;
            return false;
        }
        match cx.pull(0) {
            Some(p) => {
                let t = if self.bandwidth { p.len() as u32 } else { 1 };
                self.tb.remove(t);
                self.pushes += 1;
                cx.push(0, p);
                true
            }
            None => {
                self.failed_pulls += 1;
                self.empty_runs += 1;
                let retry = self.signal.known_nonempty(cx);
                if !retry && !self.signal.active(cx) {
                    cx.unschedule();
                }
                retry
            }
        }
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        cx.schedule();
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::rw("rate"),
            HandlerDecl::rw("active"),
            HandlerDecl::read("calls"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "rate" => unparse_rate(&self.tb, self.bandwidth),
            "active" => format!("{}", self.active),
            _ => format!(
                "{} calls to run_task()\n{} empty runs\n{} pushes\n{} failed pulls\n",
                self.runs, self.empty_runs, self.pushes, self.failed_pulls
            ),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        if name == "rate" {
            let r = parse_rate(value, self.bandwidth)?;
            self.tb.assign(r, self.spec.capacity(r));
        } else {
            self.active = bool::from_arg(value)
                .ok_or_else(|| format!("expected true or false, got '{}'", value.trim()))?;
        }
        if self.active {
            cx.schedule();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, TestSink};
    use crate::time::SimClock;
    use alloc::vec::Vec;

    fn lengths(r: &crate::Router) -> Vec<usize> {
        let s = r.find("s").unwrap();
        r.with_element(s, |e, _| {
            e.downcast_ref::<TestSink>()
                .unwrap()
                .got
                .iter()
                .map(|(_, p)| p.len())
                .collect()
        })
        .unwrap()
    }

    #[test]
    fn pulls_at_the_rate_and_sleeps_when_empty() {
        let (r, _) = router(fed(
            &[
                ("q", "Queue", ""),
                ("ru", "RatedUnqueue", "RATE 10, BURST_SIZE 2"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0)],
        ));
        for _ in 0..4 {
            r.inject(0, 0, Packet::new(10));
        }
        // Drain one packet at a time and note when it left.
        let mut when = Vec::new();
        let mut n = 0;
        while n < 4 {
            r.step();
            let got = lengths(&r).len();
            if got > n {
                when.push((r.now() - SimClock::START).nanos() / 1_000_000);
                n = got;
            } else if let Some(t) = r.next_timer() {
                r.clock().advance_to(t);
            }
        }
        assert_eq!(when, [0, 0, 101, 201]);
        // Queue empty: the task sleeps, no timer left: the router is idle.
        assert!(!r.run_until_idle());
        assert_eq!(r.step(), crate::router::Step::Idle(None));
        assert_eq!(r.read("ru.rate").unwrap(), "10");
        assert!(r.read("ru.calls").unwrap().contains("4 pushes"));
        r.write("ru.active", "false").unwrap();
        r.inject(0, 0, Packet::new(10));
        r.run_until_idle();
        assert_eq!(r.read("q.length").unwrap(), "1");
        r.write("ru.active", "true").unwrap();
        r.run_until_idle();
        assert_eq!(r.read("q.length").unwrap(), "0");
        for cfg in ["", "x", "10, ACTIVE maybe"] {
            assert!(
                build(fed(
                    &[
                        ("q", "Queue", ""),
                        ("ru", "RatedUnqueue", cfg),
                        ("s", "TestSink", "")
                    ],
                    &[(0, 0, 1, 0), (1, 0, 2, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
    }

    #[test]
    fn bandwidth_unqueue_moves_bytes() {
        let (r, _) = router(fed(
            &[
                ("q", "Queue", ""),
                ("ru", "BandwidthRatedUnqueue", "RATE 1000Bps"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0)],
        ));
        for _ in 0..3 {
            r.inject(0, 0, Packet::new(15));
        }
        r.run_until_idle();
        assert_eq!(lengths(&r).len(), 3);
        assert_eq!(r.read("ru.rate").unwrap(), "8kbps");
        // 45 bytes at 1000 B/s beyond the 20-byte burst: about 25 ms.
        let ms = (r.now() - SimClock::START).nanos() / 1_000_000;
        assert!((10..=40).contains(&ms), "{ms}");
    }
}

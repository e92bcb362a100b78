//! `BandwidthShaper(RATE [, KEYWORDS])`: lets pulls through at most at
//! RATE bytes per second.
//!
//! # Ports
//! One pull input, one pull output.
//!
//! # Processing
//! A token bucket filled at RATE (a bandwidth, e.g. `1Mbps`, `131072B/s`)
//! decides: while it holds enough tokens, a pull takes a packet from the
//! input and removes its length in tokens; otherwise the pull returns
//! nothing and a timer wakes the pulling elements when it will have them.
//! As for `BandwidthRatedUnqueue`, the bucket holds `BURST_DURATION` of
//! tokens.
//!
//! # Keywords
//! * `RATE` (bandwidth): the rate.
//! * `BURST_DURATION` (time, default 20ms) or `BURST_BYTES` (integer):
//!   the bucket's size.
//!
//! # Handlers
//! * `rate` (read/write): RATE.
//!
//! # Example
//! ```text
//! FromDevice(eth0) -> Queue -> BandwidthShaper(1Mbps) -> ToDevice(eth1);
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::tokenbucket::{
    configure, jiffies, parse_rate, unparse_rate, BurstSpec, TokenBucket, BANDWIDTH_THRESH,
};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::elements::standard::notify::downstream_pullers;
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `BandwidthShaper` class.
pub static CLASS: ElementClass = ElementClass {
    name: "BandwidthShaper",
    ports: "1/1",
    processing: "l/l",
    phase: 0,
    make: |args, _cx| {
        let (tb, spec) = configure(args, true)?;
        Ok(Box::new(BandwidthShaper {
            tb,
            spec,
            closed: false,
            pullers: Vec::new(),
        }))
    },
};

/// Pull-side bandwidth limiter.
pub struct BandwidthShaper {
    tb: TokenBucket,
    spec: BurstSpec,
    /// Out of tokens, waiting for the timer.
    closed: bool,
    pullers: Vec<usize>,
}

impl BandwidthShaper {
    /// True while out of tokens: pullers may sleep until the shaper's
    /// timer wakes them.
    pub fn closed(&self) -> bool {
        self.closed
    }
}

impl Element for BandwidthShaper {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.pullers = downstream_pullers(cx.router(), cx.eid(), 0);
        Ok(())
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        self.tb.refill(jiffies(cx.now()));
        if !self.tb.contains(BANDWIDTH_THRESH) {
            let ticks = self.tb.time_until_contains(BANDWIDTH_THRESH);
            if ticks != u32::MAX {
                cx.set_timer(0, cx.now() + Timestamp::from_msec(i64::from(ticks)));
                self.closed = true;
            }
            return None;
        }
        let p = cx.pull(0)?;
        self.tb.remove(p.len() as u32);
        Some(p)
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        self.closed = false;
        for &e in &self.pullers {
            cx.wake(e);
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("rate")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        unparse_rate(&self.tb, true)
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), ConfigError> {
        let r = parse_rate(value, true)?;
        self.tb.assign(r, self.spec.capacity(r));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::router_from_source;
    use crate::time::Timestamp;

    #[test]
    fn limits_the_byte_rate() {
        let (r, _) = router_from_source(
            "Idle -> q :: Queue(1000) -> s :: BandwidthShaper(100kBps) -> Unqueue -> c :: Counter -> Discard;",
        );
        let start = r.now();
        for _ in 0..500 {
            r.inject(r.find("q").unwrap(), 0, Packet::new(1000));
        }
        r.run_until_idle();
        assert_eq!(r.read("c.count").unwrap(), "500");
        // 500 kB at 100 kB/s: about 5 s, less what the bucket held.
        let took = r.now() - start;
        assert!(took >= Timestamp::from_msec(3500), "{took}");
        assert!(took <= Timestamp::from_msec(5200), "{took}");
        assert!(r.read("s.rate").unwrap().starts_with("800"));
        r.write("s.rate", "1MBps").unwrap();
        assert!(r.write("s.rate", "fast").is_err());
    }
}

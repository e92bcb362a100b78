//! `RatedSource([DATA, RATE, LIMIT, ACTIVE, KEYWORDS])`: generates packets
//! at a steady rate.
//!
//! # Ports
//! No inputs; one output, agnostic.
//!
//! # Processing
//! Creates packets holding DATA (or LENGTH bytes of it) at RATE packets
//! per second (default 10), paced by Click's token bucket (capacity 2
//! packets below 200/s, RATE/100 above). In pull mode a pull returns a
//! packet only when the bucket allows one. Stops after LIMIT packets
//! (default -1: never); then, with `STOP true`, asks the driver to stop.
//! Packets are stamped with the current time.
//!
//! # Keywords
//! * `DATA` (string), `RATE` (unsigned), `LIMIT` (integer), `ACTIVE`
//!   (bool): as the positional arguments.
//! * `LENGTH` (integer): packet length.
//! * `BANDWIDTH` (bandwidth): sets RATE to BANDWIDTH / packet length.
//! * `STOP` (bool, default false).
//!
//! # Handlers
//! * `count` (read): packets sent.
//! * `reset` (write): zeroes `count`.
//! * `data`, `rate`, `limit`, `active`, `length` (read/write).
//!
//! # Example
//! ```text
//! RatedSource(RATE 100, LIMIT 1000, STOP true) -> Queue -> ...
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::{String, ToString};

use super::infinitesource::{make_packet, Payload, DEFAULT_DATA};
use crate::confparse::{parse_written, Bandwidth, Bytes};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::elements::ratelimit::tokenbucket::{jiffies, TokenBucket};
use crate::packet::Packet;
use crate::router::{Ctx, PortKind};
use crate::time::Timestamp;

/// The `RatedSource` class.
pub static CLASS: ElementClass = ElementClass {
    name: "RatedSource",
    ports: "0/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let data = args
            .optional::<Bytes>("DATA")?
            .map_or_else(|| DEFAULT_DATA.into(), |b| b.0);
        let mut rate = args.optional::<u32>("RATE")?.unwrap_or(10);
        let limit = args.optional::<i64>("LIMIT")?.unwrap_or(-1);
        let active = args.optional::<bool>("ACTIVE")?.unwrap_or(true);
        let length = args.keyword::<i64>("LENGTH")?.unwrap_or(-1);
        let stop = args.keyword_or("STOP", false)?;
        let bandwidth = args
            .keyword::<Bandwidth>("BANDWIDTH")?
            .map(|b| b.0)
            .unwrap_or(0);
        let payload = Payload::new(data, length)?;
        if bandwidth > 0 {
            let size = payload.template().len() as u64;
            if size == 0 {
                return Err(ConfigError::out_of_range(
                    "BANDWIDTH needs a non-empty packet",
                ));
            }
            rate = u32::try_from(bandwidth / size).unwrap_or(u32::MAX);
        }
        let mut burst = burst_for(rate);
        if bandwidth > 0 && length > 0 {
            burst = burst.max(u32::try_from(2 * length).unwrap_or(u32::MAX));
        }
        let mut tb = TokenBucket::new(rate, burst);
        tb.set(1);
        Ok(Box::new(RatedSource {
            payload,
            tb,
            limit,
            active,
            stop,
            count: 0,
        }))
    },
};

fn burst_for(rate: u32) -> u32 {
    if rate < 200 {
        2
    } else {
        rate / 100
    }
}

const TIMER: u32 = 0;

/// Rate-paced packet source.
pub struct RatedSource {
    payload: Payload,
    tb: TokenBucket,
    limit: i64,
    active: bool,
    stop: bool,
    count: u64,
}

impl RatedSource {
    fn done(&self) -> bool {
        u64::try_from(self.limit).is_ok_and(|l| self.count >= l)
    }

    fn restart(&mut self, cx: &Ctx) {
        if self.active && cx.output_kind(0) == Some(PortKind::Push) {
            self.tb.set(1);
            cx.schedule();
        }
    }
}

impl Element for RatedSource {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        if cx.output_kind(0) == Some(PortKind::Push) {
            cx.schedule();
        }
        Ok(())
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        if !self.active {
            cx.unschedule();
            return false;
        }
        if self.done() {
            cx.unschedule();
            if self.stop {
                cx.request_stop();
            }
            return false;
        }
        self.tb.refill(jiffies(cx.now()));
        if self.tb.remove_if(1) {
            // Out of memory the token is spent and nothing is sent.
            if let Some(p) = make_packet(cx, self.payload.template(), true) {
                cx.push(0, p);
                self.count += 1;
            }
            true
        } else {
            let ticks = self.tb.time_until_contains(1);
            cx.unschedule();
            cx.set_timer(TIMER, cx.now() + Timestamp::from_msec(ticks as i64));
            false
        }
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        cx.schedule();
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        if !self.active {
            return None;
        }
        if self.done() {
            if self.stop {
                cx.request_stop();
            }
            return None;
        }
        self.tb.refill(jiffies(cx.now()));
        if self.tb.remove_if(1) {
            let p = make_packet(cx, self.payload.template(), true)?;
            self.count += 1;
            Some(p)
        } else {
            None
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("count"),
            HandlerDecl::write("reset"),
            HandlerDecl::rw("data"),
            HandlerDecl::rw("rate"),
            HandlerDecl::rw("limit"),
            HandlerDecl::rw("active"),
            HandlerDecl::rw("length"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "data" | "length" => self.payload.read(name),
            "rate" => self.tb.rate().rate().to_string(),
            "limit" => self.limit.max(-1).to_string(),
            "active" => self.active.to_string(),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        let v = value.trim();
        match name {
            "data" | "length" => self.payload.write(name, value)?,
            "rate" => {
                let r = parse_written(v)?;
                self.tb.assign_adjust(r, burst_for(r));
            }
            "limit" => self.limit = parse_written(v)?,
            "active" => {
                self.active = parse_written(v)?;
                self.restart(cx);
            }
            _ => {
                self.count = 0;
                self.restart(cx);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::{fed, stamped_msec};
    use crate::testing::{build, router};
    use crate::time::{SimClock, Timestamp};

    #[test]
    fn paced_by_the_token_bucket() {
        let (r, _) = router(fed(
            &[
                ("src", "RatedSource", "RATE 10, LIMIT 5, STOP true"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0)],
        ));
        assert!(r.run_until_idle());
        let times = stamped_msec(&r, "s");
        // Two tokens at start (capacity 2 below 200/s), then one about
        // every 100 ticks: the per-tick fraction rounds down, and what is
        // left after each token carries over (Click's arithmetic).
        assert_eq!(times, [0, 0, 101, 201, 301]);
        assert_eq!(r.read("src.count").unwrap(), "5");
        assert_eq!(r.read("src.rate").unwrap(), "10");
        assert!(r.now() >= SimClock::START + Timestamp::from_msec(301));
        r.write("src.rate", "1000").unwrap();
        assert_eq!(r.read("src.rate").unwrap(), "1000");
        assert!(r.write("src.rate", "fast").is_err());
        assert!(build(fed(
            &[("src", "RatedSource", "RATE x"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)]
        ))
        .is_err());
    }
}

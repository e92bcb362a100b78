//! `Unqueue([BURST, KEYWORDS])`: pulls packets whenever they are available
//! and pushes them out.
//!
//! # Ports
//! One pull input, one push output.
//!
//! # Processing
//! Each time its task runs it pulls up to BURST packets (default 1; a
//! negative BURST means until nothing comes back) and pushes each out. It
//! sleeps while every queue upstream is empty and is woken when one gets a
//! packet.
//!
//! # Keywords
//! * `BURST` (integer): packets per run.
//! * `ACTIVE` (bool, default true): if false, pulls nothing.
//! * `LIMIT` (integer, default -1): if not negative, pulls at most LIMIT
//!   packets in total (until `reset`).
//!
//! # Handlers
//! * `count` (read): packets pulled so far.
//! * `reset`, `reset_counts` (write): zeroes `count` (so LIMIT more packets
//!   may be pulled).
//! * `active` (read/write), `burst` (read/write), `limit` (read/write): the
//!   keywords.
//!
//! # Example
//! ```text
//! q :: Queue -> Unqueue(BURST 8) -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::{String, ToString};

use super::notify::UpstreamSignal;
use crate::confparse::parse_written;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::router::Ctx;

/// The `Unqueue` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Unqueue",
    ports: "1/1",
    processing: "l/h",
    phase: 0,
    make: |args, _cx| {
        let burst = args.optional::<i32>("BURST")?.unwrap_or(1);
        let active = args.keyword_or("ACTIVE", true)?;
        let limit = args.keyword_or::<i64>("LIMIT", -1)?;
        Ok(Box::new(Unqueue {
            burst: norm_burst(burst),
            active,
            limit,
            count: 0,
            signal: UpstreamSignal::default(),
        }))
    },
};

fn norm_burst(b: i32) -> u32 {
    if b < 0 {
        i32::MAX as u32
    } else {
        b as u32
    }
}

/// Pull-to-push converter.
pub struct Unqueue {
    burst: u32,
    active: bool,
    limit: i64,
    count: u64,
    signal: UpstreamSignal,
}

impl Unqueue {
    fn may_run(&self) -> bool {
        self.active && (self.limit < 0 || self.count < self.limit as u64)
    }
}

impl Element for Unqueue {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.signal = UpstreamSignal::new(cx, 0);
        if self.active {
            cx.schedule();
        }
        Ok(())
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        if !self.may_run() {
            cx.unschedule();
            return false;
        }
        let mut limit = self.burst as u64;
        if self.limit >= 0 {
            limit = limit.min(self.limit as u64 - self.count);
        }
        let mut worked = 0;
        let mut retry = false;
        while worked < limit && self.active {
            match cx.pull(0) {
                Some(p) => {
                    worked += 1;
                    self.count += 1;
                    cx.push(0, p);
                }
                None => {
                    retry = self.signal.known_nonempty(cx);
                    if !retry && !self.signal.active(cx) {
                        cx.unschedule();
                    }
                    break;
                }
            }
        }
        if !self.may_run() {
            cx.unschedule();
            return worked > 0;
        }
        worked > 0 || retry
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("count"),
            HandlerDecl::write("reset"),
            HandlerDecl::write("reset_counts"),
            HandlerDecl::rw("active"),
            HandlerDecl::rw("burst"),
            HandlerDecl::rw("limit"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "active" => self.active.to_string(),
            "burst" => self.burst.to_string(),
            "limit" => self.limit.to_string(),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        let v = value.trim();
        match name {
            "active" => self.active = parse_written(v)?,
            "burst" => self.burst = norm_burst(parse_written(v)?),
            "limit" => self.limit = parse_written(v)?,
            _ => self.count = 0,
        }
        if self.may_run() {
            cx.schedule();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::router::Step;
    use crate::testing::{build, router, sink_contents};

    fn setup(cfg: &str) -> crate::Router {
        router(fed(
            &[
                ("q", "Queue", ""),
                ("u", "Unqueue", cfg),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0)],
        ))
        .0
    }

    #[test]
    fn burst_pulls_that_many_per_run() {
        let r = setup("BURST 4");
        for i in 0..10u8 {
            r.inject(0, 0, Packet::from_slice(&[i]));
        }
        assert_eq!(r.step(), Step::Worked);
        assert_eq!(r.read("u.count").unwrap(), "4");
        r.run_until_idle();
        assert_eq!(r.read("u.count").unwrap(), "10");
        assert_eq!(sink_contents(&r, "s").len(), 10);
        assert_eq!(r.read("u.burst").unwrap(), "4");
    }

    #[test]
    fn limit_stops_pulling_until_reset() {
        let r = setup("BURST 4, LIMIT 10, ACTIVE false");
        for i in 0..60u8 {
            r.inject(0, 0, Packet::from_slice(&[i]));
        }
        r.run_until_idle();
        assert_eq!(r.read("u.count").unwrap(), "0");
        r.write("u.active", "true").unwrap();
        r.run_until_idle();
        assert_eq!(r.read("u.count").unwrap(), "10");
        assert_eq!(r.read("q.length").unwrap(), "50");
        let got = sink_contents(&r, "s");
        assert_eq!(
            got.iter()
                .map(|(_, d)| d[0])
                .collect::<alloc::vec::Vec<_>>(),
            (0..10).collect::<alloc::vec::Vec<u8>>()
        );
        r.write("u.reset", "").unwrap();
        r.run_until_idle();
        assert_eq!(r.read("u.count").unwrap(), "10");
        assert_eq!(r.read("q.length").unwrap(), "40");
        r.write("u.limit", "-1").unwrap();
        r.run_until_idle();
        assert_eq!(r.read("q.length").unwrap(), "0");
        assert_eq!(r.read("u.limit").unwrap(), "-1");
    }

    #[test]
    fn handler_and_argument_errors() {
        let r = setup("");
        assert!(r.write("u.active", "maybe").is_err());
        assert!(r.write("u.burst", "x").is_err());
        assert!(r.write("u.limit", "").is_err());
        assert_eq!(r.read("u.active").unwrap(), "true");
        for cfg in ["x", "ACTIVE 3", "LIMIT z", "1, 2"] {
            assert!(
                build(fed(
                    &[
                        ("q", "Queue", ""),
                        ("u", "Unqueue", cfg),
                        ("s", "TestSink", "")
                    ],
                    &[(0, 0, 1, 0), (1, 0, 2, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
    }
}

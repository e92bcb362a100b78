//! `TimedSource([INTERVAL, DATA, KEYWORDS])`: generates a packet every
//! INTERVAL.
//!
//! # Ports
//! No inputs; one push output.
//!
//! # Processing
//! Every INTERVAL (default 0.5 s) pushes a packet holding DATA, stamped
//! with the current time. Stops after LIMIT packets (default -1: never);
//! then, with `STOP true`, asks the driver to stop at the next interval.
//!
//! # Keywords
//! * `INTERVAL` (time), `DATA` (string): as the positional arguments.
//! * `LIMIT` (integer), `ACTIVE` (bool, default true), `STOP` (bool,
//!   default false).
//!
//! # Handlers
//! * `count` (read): packets sent.
//! * `reset` (write): zeroes `count` and restarts.
//! * `data`, `limit`, `interval`, `active` (read/write).
//!
//! # Example
//! ```text
//! TimedSource(1s, "hello") -> Print(tick) -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};

use super::infinitesource::{make_packet, DEFAULT_DATA};
use crate::confparse::split::bytes_to_string;
use crate::confparse::{parse_written, Bytes, Duration};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `TimedSource` class.
pub static CLASS: ElementClass = ElementClass {
    name: "TimedSource",
    ports: "0/1",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        let interval = args
            .optional::<Duration>("INTERVAL")?
            .map(|d| d.0)
            .unwrap_or(Timestamp::from_msec(500));
        let data = args
            .optional::<Bytes>("DATA")?
            .map_or_else(|| DEFAULT_DATA.into(), |b| b.0);
        let limit = args.keyword_or::<i64>("LIMIT", -1)?;
        let active = args.keyword_or("ACTIVE", true)?;
        let stop = args.keyword_or("STOP", false)?;
        if interval <= Timestamp::ZERO {
            return Err(ConfigError::out_of_range("INTERVAL must be positive"));
        }
        Ok(Box::new(TimedSource {
            interval,
            data,
            limit,
            active,
            stop,
            count: 0,
        }))
    },
};

const TIMER: u32 = 0;

/// Periodic packet source.
pub struct TimedSource {
    interval: Timestamp,
    data: alloc::vec::Vec<u8>,
    limit: i64,
    active: bool,
    stop: bool,
    count: u64,
}

/// Click's `Timestamp::unparse_interval`.
pub(super) fn unparse_interval(t: Timestamp) -> String {
    if t.sec() == 0 {
        let ns = t.nsec();
        if ns.is_multiple_of(1_000_000) {
            format!("{}ms", ns / 1_000_000)
        } else if ns.is_multiple_of(1000) {
            format!("{}us", ns / 1000)
        } else {
            format!("{ns}ns")
        }
    } else {
        format!("{t}s")
    }
}

impl Element for TimedSource {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        if self.active {
            cx.set_timer(TIMER, cx.now() + self.interval);
        }
        Ok(())
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        if !self.active {
            return;
        }
        if self.limit < 0 || self.count < self.limit as u64 {
            if let Some(p) = make_packet(cx, &self.data, true) {
                cx.push(0, p);
                self.count += 1;
            }
            cx.set_timer(TIMER, cx.now() + self.interval);
        } else if self.stop {
            cx.request_stop();
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("count"),
            HandlerDecl::write("reset"),
            HandlerDecl::rw("data"),
            HandlerDecl::rw("limit"),
            HandlerDecl::rw("interval"),
            HandlerDecl::rw("active"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "data" => bytes_to_string(self.data.clone()),
            "limit" => self.limit.to_string(),
            "interval" => unparse_interval(self.interval),
            "active" => self.active.to_string(),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        let v = value.trim();
        match name {
            "data" => self.data = value.as_bytes().to_vec(),
            "limit" => self.limit = parse_written(v)?,
            "interval" => {
                let Duration(t) = parse_written(v)?;
                if t <= Timestamp::ZERO {
                    return Err(ConfigError::out_of_range("interval: must be positive"));
                }
                self.interval = t;
            }
            "active" => {
                self.active = parse_written(v)?;
                if self.active && !cx.timer_scheduled(TIMER) {
                    cx.set_timer(TIMER, cx.now());
                }
            }
            _ => {
                self.count = 0;
                if self.active && !cx.timer_scheduled(TIMER) {
                    cx.set_timer(TIMER, cx.now());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::{fed, stamped_msec};
    use crate::testing::{build, router, sink_contents};
    use alloc::string::ToString;

    #[test]
    fn one_packet_per_interval_then_stop() {
        let (r, _) = router(fed(
            &[
                ("src", "TimedSource", "200ms, hi, LIMIT 3, STOP true"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0)],
        ));
        assert!(r.run_until_idle());
        assert_eq!(sink_contents(&r, "s").len(), 3);
        let times = stamped_msec(&r, "s");
        assert_eq!(times, [200, 400, 600]);
        assert_eq!(r.read("src.interval").unwrap(), "200ms");
        assert_eq!(r.read("src.data").unwrap(), "hi");
        r.write("src.interval", "1.5s").unwrap();
        assert_eq!(r.read("src.interval").unwrap(), "1.500000s");
        assert!(r.write("src.interval", "0").is_err());
        assert_eq!(r.read("src.interval").unwrap(), "1.500000s");
        let bad = r.write("src.interval", "soon").unwrap_err().to_string();
        assert!(bad.contains("interval: expected a time"), "{bad}");
        for cfg in ["0", "soon", "1s, x, LIMIT y"] {
            assert!(
                build(fed(
                    &[("src", "TimedSource", cfg), ("s", "TestSink", "")],
                    &[(0, 0, 1, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
    }
}

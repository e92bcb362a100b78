//! `TimedSink([INTERVAL])`: pulls and drops one packet every INTERVAL.
//!
//! # Ports
//! One pull input, no outputs.
//!
//! # Processing
//! Every INTERVAL (default 0.5 s) pulls one packet from its input and
//! drops it; nothing happens when none is there.
//!
//! # Keywords
//! * `INTERVAL` (time): the pull period.
//!
//! # Handlers
//! * `interval` (read/write): the period.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Queue(100) -> TimedSink(10ms);
//! ```

use alloc::boxed::Box;
use alloc::string::String;

use super::timedsource::unparse_interval;
use crate::confparse::{parse_written, Duration};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `TimedSink` class.
pub static CLASS: ElementClass = ElementClass {
    name: "TimedSink",
    ports: "1/0",
    processing: "l/l",
    phase: 0,
    make: |args, _cx| {
        let interval = args
            .optional::<Duration>("INTERVAL")?
            .map_or(Timestamp::from_msec(500), |d| d.0);
        Ok(Box::new(TimedSink {
            interval: positive(interval)?,
        }))
    },
};

const TIMER: u32 = 0;

fn positive(t: Timestamp) -> Result<Timestamp, ConfigError> {
    if t <= Timestamp::ZERO {
        return Err(ConfigError::out_of_range("INTERVAL must be positive"));
    }
    Ok(t)
}

/// Periodic puller.
pub struct TimedSink {
    interval: Timestamp,
}

impl Element for TimedSink {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        cx.set_timer(TIMER, cx.now() + self.interval);
        Ok(())
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        if let Some(p) = cx.pull(0) {
            cx.kill(p);
        }
        cx.set_timer(TIMER, cx.now() + self.interval);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("interval")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        unparse_interval(self.interval)
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), ConfigError> {
        let Duration(t) = parse_written(value.trim())?;
        self.interval = positive(t)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{build_from_source, router_from_source};

    #[test]
    fn pulls_one_packet_per_interval() {
        let (r, _) = router_from_source(
            "InfiniteSource(LIMIT 10, STOP false) -> q :: Queue(20) -> t :: TimedSink(100ms);\n\
             DriverManager(wait 350ms, stop);",
        );
        assert!(r.run_until_idle());
        // 10 queued; three pulled at 100, 200 and 300 ms.
        assert_eq!(r.read("q.length").unwrap(), "7");
        assert_eq!(r.read("t.interval").unwrap(), "100ms");
        assert!(r.write("t.interval", "0").is_err());
        assert!(build_from_source("Idle -> TimedSink(-1s);").is_err());
    }
}

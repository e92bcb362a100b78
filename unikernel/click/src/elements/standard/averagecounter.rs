//! `AverageCounter([IGNORE])`: counts packets and bytes and their average
//! rate since the first packet.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Packets pass unchanged. Packets arriving within IGNORE seconds (default
//! 0) of the first one are not counted. The rate is the count divided by
//! the time between the first and the latest packet (less IGNORE), in 1 ms
//! ticks.
//!
//! # Keywords
//! * `IGNORE` (unsigned seconds).
//!
//! # Handlers
//! * `count`, `byte_count` (read): packets and bytes counted.
//! * `rate`, `byte_rate` (read): average packets and bytes per second,
//!   printed as C's `%.12g`.
//! * `reset` (write): zeroes everything.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> a :: AverageCounter -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::elements::ratelimit::tokenbucket::jiffies;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `AverageCounter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "AverageCounter",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let ignore = args.optional::<u32>("IGNORE")?.unwrap_or(0);
        Ok(Box::new(AverageCounter {
            ignore: ignore.saturating_mul(1000),
            count: 0,
            bytes: 0,
            first: 0,
            last: 0,
        }))
    },
};

/// Strict-average counter.
pub struct AverageCounter {
    /// In jiffies.
    ignore: u32,
    count: u64,
    bytes: u64,
    first: u32,
    last: u32,
}

impl AverageCounter {
    fn action(&mut self, cx: &Ctx, p: Packet) -> Option<Packet> {
        let j = jiffies(cx.now());
        if self.first == 0 {
            self.first = j;
        }
        if j.wrapping_sub(self.first) >= self.ignore {
            self.count += 1;
            self.bytes += p.len() as u64;
        }
        self.last = j;
        Some(p)
    }

    fn rate(&self, n: u64) -> String {
        let d = self
            .last
            .wrapping_sub(self.first)
            .wrapping_sub(self.ignore)
            .max(1);
        fmt_g12(n as f64 * 1000.0 / d as f64)
    }
}

/// C's `printf("%.12g", x)` for finite `x` (Click prints doubles so).
pub fn fmt_g12(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let sci = alloc::format!("{:.11e}", x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').into()
        } else {
            s.into()
        }
    };
    if (-4..12).contains(&exp) {
        let decimals = (11 - exp) as usize;
        trim(&alloc::format!("{:.*}", decimals, x))
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        alloc::format!("{}e{}{:02}", trim(mant), sign, exp.abs())
    }
}

impl Element for AverageCounter {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        super::counter::HANDLERS
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "byte_count" => self.bytes.to_string(),
            "rate" => self.rate(self.count),
            "byte_rate" => self.rate(self.bytes),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, _value: &str) -> Result<(), ConfigError> {
        self.count = 0;
        self.bytes = 0;
        self.first = 0;
        self.last = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_g12;
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router};
    use crate::time::{SimClock, Timestamp};

    #[test]
    fn strict_average_over_the_span() {
        let (r, _) = router(fed(
            &[("a", "AverageCounter", ""), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)],
        ));
        for k in 0..4 {
            r.clock()
                .advance_to(SimClock::START + Timestamp::from_msec(1 + k * 100));
            r.inject(0, 0, Packet::new(100));
        }
        assert_eq!(r.read("a.count").unwrap(), "4");
        assert_eq!(r.read("a.byte_count").unwrap(), "400");
        // 4 packets over 300 ms.
        assert_eq!(r.read("a.rate").unwrap(), "13.3333333333");
        assert_eq!(r.read("a.byte_rate").unwrap(), "1333.33333333");
        r.write("a.reset", "").unwrap();
        assert_eq!(r.read("a.count").unwrap(), "0");
        assert!(build(fed(
            &[("a", "AverageCounter", "x"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)]
        ))
        .is_err());
    }

    #[test]
    fn g12() {
        assert_eq!(fmt_g12(0.0), "0");
        assert_eq!(fmt_g12(1000.0), "1000");
        assert_eq!(fmt_g12(0.5), "0.5");
        assert_eq!(fmt_g12(1e15), "1e+15");
        assert_eq!(fmt_g12(123456789012345.0), "1.23456789012e+14");
        assert_eq!(fmt_g12(0.0001), "0.0001");
        assert_eq!(fmt_g12(0.00001), "1e-05");
    }
}

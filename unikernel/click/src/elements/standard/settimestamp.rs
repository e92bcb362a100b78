//! `SetTimestamp([TIMESTAMP])`: sets the timestamp annotation.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Sets every packet's timestamp annotation to the current time, or to
//! TIMESTAMP (seconds since the epoch, e.g. `1000000000.5`) when given.
//! Click's FIRST keyword (a second timestamp annotation this engine does
//! not keep) is refused when true.
//!
//! # Keywords
//! * `TIMESTAMP` (seconds): a fixed value.
//! * `FIRST` (bool, default false): must be false.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! FromDevice(eth0) -> SetTimestamp -> DelayShaper(10ms) -> ...
//! ```

use alloc::boxed::Box;

use crate::confparse::Duration;
use crate::element::{Element, ElementClass};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `SetTimestamp` class.
pub static CLASS: ElementClass = ElementClass {
    name: "SetTimestamp",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let fixed = args.optional::<Duration>("TIMESTAMP")?.map(|d| d.0);
        if args.keyword_or("FIRST", false)? {
            return Err(ConfigError::bad_value(
                "FIRST",
                "false (there is no first-timestamp annotation)",
                "true",
            ));
        }
        Ok(Box::new(SetTimestamp(fixed)))
    },
};

/// Stamps packets; `.0`: the fixed value, if any.
pub struct SetTimestamp(Option<Timestamp>);

impl SetTimestamp {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        p.set_timestamp(self.0.unwrap_or_else(|| cx.now()));
        Some(p)
    }
}

impl Element for SetTimestamp {
    crate::element::simple_action!();
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, TestSink};
    use crate::time::Timestamp;

    #[test]
    fn stamps_now_or_a_fixed_time() {
        let (r, _) = router_from_source(
            "Idle -> a :: SetTimestamp -> s :: TestSink; Idle -> b :: SetTimestamp(5.25) -> s;",
        );
        r.inject(r.find("a").unwrap(), 0, Packet::from_slice(&[1]));
        r.inject(r.find("b").unwrap(), 0, Packet::from_slice(&[1]));
        let now = r.now();
        r.with_element(r.find("s").unwrap(), |e, _| {
            let got = &e.downcast_ref::<TestSink>().unwrap().got;
            assert_eq!(got[0].1.timestamp(), now);
            assert_eq!(got[1].1.timestamp(), Timestamp::from_msec(5250));
        });
        assert!(build_from_source("Idle -> SetTimestamp(FIRST true) -> Discard;").is_err());
    }
}

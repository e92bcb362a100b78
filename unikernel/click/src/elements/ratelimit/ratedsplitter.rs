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
    ) -> Result<RatedSplitter, String> {
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

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), String> {
        let r = parse_rate(value, self.bandwidth)?;
        self.tb.assign(r, self.spec.capacity(r));
        Ok(())
    }
}

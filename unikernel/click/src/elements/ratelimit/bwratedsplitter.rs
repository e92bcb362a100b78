//! `BandwidthRatedSplitter(RATE [, KEYWORDS])`: sends up to RATE bytes per
//! second to output 0, the rest to output 1.
//!
//! # Ports
//! One push input; output 0 push; optional output 1 push (excess packets
//! are dropped when it is not connected).
//!
//! # Processing
//! Click's byte token bucket: RATE bytes per second, refilled every 1 ms,
//! capacity 20 ms of bytes (or BURST_BYTES / BURST_DURATION) plus 131072.
//! A packet goes to output 0 when the bucket holds at least 131072 bytes,
//! and then takes its length in tokens; otherwise it goes to output 1.
//!
//! # Keywords
//! * `RATE` (bandwidth, e.g. `1000Bps`, `8kbps`).
//! * `BURST_BYTES` (unsigned), `BURST_DURATION` (time).
//!
//! # Handlers
//! * `rate` (read/write): the rate (read as Click prints it, e.g.
//!   `8kbps`).
//!
//! # Example
//! ```text
//! bw :: BandwidthRatedSplitter(1Mbps);
//! bw[0] -> ToDump(pass.pcap); bw[1] -> Discard;
//! ```

use alloc::boxed::Box;

use super::ratedsplitter::RatedSplitter;
use crate::element::ElementClass;

/// The `BandwidthRatedSplitter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "BandwidthRatedSplitter",
    ports: "1/1-2",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| Ok(Box::new(RatedSplitter::configure(args, true)?)),
};

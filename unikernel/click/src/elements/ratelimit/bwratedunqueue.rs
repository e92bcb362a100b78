//! `BandwidthRatedUnqueue(RATE [, KEYWORDS])`: pulls packets at RATE bytes
//! per second and pushes them out.
//!
//! # Ports
//! One pull input, one push output.
//!
//! # Processing
//! Like `RatedUnqueue` with Click's byte token bucket (see
//! `BandwidthRatedSplitter`): a packet is pulled when the bucket holds
//! 131072 bytes of tokens, and takes its length in tokens.
//!
//! # Keywords
//! * `RATE` (bandwidth).
//! * `BURST_BYTES` (unsigned), `BURST_DURATION` (time).
//! * `ACTIVE` (bool, default true).
//!
//! # Handlers
//! * `rate` (read/write), `active` (read/write), `calls` (read).
//!
//! # Example
//! ```text
//! q :: Queue -> BandwidthRatedUnqueue(1Mbps) -> ToDump(out.pcap);
//! ```

use alloc::boxed::Box;

use super::ratedunqueue::RatedUnqueue;
use crate::element::ElementClass;

/// The `BandwidthRatedUnqueue` class.
pub static CLASS: ElementClass = ElementClass {
    name: "BandwidthRatedUnqueue",
    ports: "1/1",
    processing: "l/h",
    phase: 0,
    make: |args, _cx| Ok(Box::new(RatedUnqueue::configure(args, true)?)),
};

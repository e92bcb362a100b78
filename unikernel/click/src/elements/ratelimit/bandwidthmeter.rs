//! `BandwidthMeter(RATE1, ..., RATEn)`: sends packets to an output chosen
//! by the current byte rate.
//!
//! # Ports
//! One push input; n+1 push outputs (one more than the rates).
//!
//! # Processing
//! Like `Meter`, measuring bytes per second; the rates are bandwidths
//! (`1000Bps`, `8kbps`; a bare number means bytes per second).
//!
//! # Keywords
//! None (the rates are positional, increasing).
//!
//! # Handlers
//! * `rate` (read): the measured rate in bytes per second.
//! * `meters` (read): the configured rates, separated by spaces.
//!
//! # Example
//! ```text
//! m :: BandwidthMeter(1Mbps);
//! m[0] -> ToDump(ok.pcap); m[1] -> Discard;
//! ```

use alloc::boxed::Box;

use super::meter::RateMeter;
use crate::element::ElementClass;

/// The `BandwidthMeter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "BandwidthMeter",
    ports: "1/2-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| Ok(Box::new(RateMeter::configure(args.rest_raw(), cx, true)?)),
};

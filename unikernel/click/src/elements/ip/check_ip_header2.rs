//! `CheckIPHeader2([OFFSET, KEYWORDS])`: `CheckIPHeader` without the
//! checksum check.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! Exactly `CheckIPHeader`'s, except that `CHECKSUM` defaults to false, so
//! "bad IP checksum" never counts unless `CHECKSUM true` is given.
//!
//! # Keywords
//! As `CheckIPHeader`: `OFFSET`, `INTERFACES`, `BADSRC`, `GOODDST`,
//! `CHECKSUM` (default false), `VERBOSE`, `DETAILS`.
//!
//! # Handlers
//! * `drops` (read): bad packets seen.
//! * `drop_details` (read, only with `DETAILS true`): per-reason counts.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader2 -> Discard;
//! ```

use alloc::boxed::Box;

use super::check_ip_header::CheckIpHeader;
use crate::element::ElementClass;

/// The `CheckIPHeader2` class.
pub static CLASS: ElementClass = ElementClass {
    name: "CheckIPHeader2",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| Ok(Box::new(CheckIpHeader::configure(args, false)?)),
};

//! `Align(MODULUS, OFFSET)`: aligns packet data in memory.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Packets pass unchanged. In Click, Align copies a packet whose data do
//! not start OFFSET bytes past a MODULUS-byte boundary; this engine reads
//! headers bytewise, so no element needs aligned data and Align only
//! checks its arguments, so that Click configurations using it run.
//!
//! # Keywords
//! * `MODULUS` (2, 4 or 8): the alignment.
//! * `OFFSET` (unsigned integer below MODULUS): the offset from it.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! FromDevice(0) -> Strip(14) -> Align(4, 0) -> CheckIPHeader -> ...
//! ```

use alloc::boxed::Box;

use crate::element::ElementClass;
use crate::error::ConfigError;

/// The `Align` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Align",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let modulus = args.required::<u32>("MODULUS")?;
        let offset = args.required::<u32>("OFFSET")?;
        if !matches!(modulus, 2 | 4 | 8) {
            return Err(ConfigError::out_of_range("MODULUS must be 2, 4 or 8"));
        }
        if offset >= modulus {
            return Err(ConfigError::out_of_range("OFFSET must be below MODULUS"));
        }
        Ok(Box::new(super::null::Null))
    },
};

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    #[test]
    fn passes_packets_and_checks_arguments() {
        let (r, _) = router_from_source("Idle -> a :: Align(4, 2) -> s :: TestSink;");
        r.inject(r.find("a").unwrap(), 0, Packet::from_slice(&[1, 2, 3]));
        assert_eq!(sink_contents(&r, "s"), [(0, alloc::vec![1, 2, 3])]);
        for bad in ["Align(3, 0)", "Align(4, 4)", "Align(4)"] {
            let src = alloc::format!("Idle -> {bad} -> Discard;");
            assert!(build_from_source(&src).is_err(), "{bad}");
        }
    }
}

//! `ScheduleInfo(ELEMENT PARAM, ...)`: task scheduling tickets; accepted
//! and ignored.
//!
//! # Ports
//! None.
//!
//! # Processing
//! None: Click gives the named elements' tasks PARAM times the default
//! share of the CPU (stride scheduling). This engine runs every
//! scheduled task once per pass, so the shares are accepted (each
//! argument must be an element name and a non-negative number) and
//! have no effect.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! ScheduleInfo(from 1, to .5);
//! ```

use alloc::boxed::Box;
use alloc::format;

use crate::confparse::split::split_words;
use crate::element::{Element, ElementClass};
use crate::error::ConfigError;

/// The `ScheduleInfo` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ScheduleInfo",
    ports: "0/0",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        for (i, a) in args.rest_raw().iter().enumerate() {
            let w = split_words(a);
            let ok = matches!(w.as_slice(), [_, n] if n.parse::<f64>().is_ok_and(|x| x >= 0.0));
            if !ok && !w.is_empty() {
                return Err(ConfigError::bad_arg(
                    i,
                    format!("argument {i}: expected ELEMENT PARAM, got '{a}'"),
                ));
            }
        }
        Ok(Box::new(ScheduleInfo))
    },
};

/// Holds nothing.
pub struct ScheduleInfo;

impl Element for ScheduleInfo {}

#[cfg(test)]
mod tests {
    use crate::testing::build_from_source;

    #[test]
    fn shares_are_checked_then_ignored() {
        let ok = "s :: InfiniteSource(LIMIT 1) -> Discard; ScheduleInfo(s 1, s .5);";
        assert!(build_from_source(ok).is_ok());
        assert!(build_from_source("ScheduleInfo(s lots); Idle -> Discard;").is_err());
    }
}

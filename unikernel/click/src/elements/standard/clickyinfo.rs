//! `ClickyInfo([ARGS...])`: display hints for the Clicky GUI; accepted
//! and ignored.
//!
//! # Ports
//! None.
//!
//! # Processing
//! None: Click's ClickyInfo carries style sheets for the Clicky
//! configuration viewer. It is accepted with any arguments so that Click
//! configurations that include it run unchanged.
//!
//! # Keywords
//! Any; ignored.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! ClickyInfo(STYLE "* { background: white }");
//! ```

use alloc::boxed::Box;

use crate::element::{Element, ElementClass};

/// The `ClickyInfo` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ClickyInfo",
    ports: "0/0",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        args.rest_raw();
        Ok(Box::new(ClickyInfo))
    },
};

/// Holds nothing.
pub struct ClickyInfo;

impl Element for ClickyInfo {}

#[cfg(test)]
mod tests {
    use crate::testing::router_from_source;

    #[test]
    fn any_arguments_are_accepted() {
        let (r, _) = router_from_source(
            "ci :: ClickyInfo(STYLE \"* { color: red }\", whatever, 3);\nIdle -> Discard;",
        );
        assert_eq!(r.read("ci.class").unwrap(), "ClickyInfo");
    }
}

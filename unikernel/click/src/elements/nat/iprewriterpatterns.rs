//! `IPRewriterPatterns(NAME PATTERN, ...)`: names rewrite patterns that
//! rewriters use as `pattern NAME FOUT ROUT`.
//!
//! # Ports
//! None.
//!
//! # Processing
//! None: it only holds patterns. It is configured before the rewriters
//! (configure phase -2), and a named pattern is shared by every input that
//! names it, sequential allocation cursor included.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! IPRewriterPatterns(NAT 1.2.3.4 10000-19999# - -);
//! rw :: IPRewriter(pattern NAT 0 1, pattern NAT 0 1);
//! ```

use crate::error::{ConfigError, ErrorKind};
use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use super::pattern::Pattern;
use super::spec::SharedPattern;
use crate::confparse::{split_words, Args};
use crate::element::{Element, ElementClass};
use crate::router::ConfigCx;

/// The `IPRewriterPatterns` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPRewriterPatterns",
    ports: "0/0",
    processing: "a/a",
    phase: -2,
    make,
};

fn make(args: &mut Args, cx: &ConfigCx) -> Result<Box<dyn Element>, ConfigError> {
    let mut pats: Vec<(String, SharedPattern)> = Vec::new();
    for a in args.rest_raw_resolved(crate::confparse::Context::Rules) {
        let w = split_words(&a);
        let Some((name, rest)) = w.split_first() else {
            continue;
        };
        let taken = pats.iter().any(|(n, _)| n == name)
            || cx
                .configured
                .iter()
                .flatten()
                .filter_map(|e| e.downcast_ref::<IpRewriterPatterns>())
                .any(|p| p.get(name).is_some());
        if taken {
            return Err(ConfigError::conflict(format!(
                "pattern '{name}' already defined"
            )));
        }
        let words: Vec<&str> = rest.iter().map(|s| s.as_str()).collect();
        let p = Pattern::parse(&words)
            .map_err(|e| ConfigError::new(ErrorKind::BadValue, format!("pattern '{name}': {e}")))?;
        pats.push((name.to_string(), Rc::new(RefCell::new(p))));
    }
    Ok(Box::new(IpRewriterPatterns { pats }))
}

/// Named patterns.
pub struct IpRewriterPatterns {
    pats: Vec<(String, SharedPattern)>,
}

impl IpRewriterPatterns {
    /// The pattern called `name`.
    pub fn get(&self, name: &str) -> Option<SharedPattern> {
        self.pats
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
    }
}

impl Element for IpRewriterPatterns {}

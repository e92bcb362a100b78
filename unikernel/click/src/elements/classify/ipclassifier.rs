//! `IPClassifier(EXPR_0, ..., EXPR_N-1)`: sends IP packets to the output of the first expression they match.
//!
//! # Ports
//! One push input; one output per expression (the number of expressions
//! must equal the number of outputs).
//!
//! # Processing
//! Push. The same as `IPFilter(0 EXPR_0, 1 EXPR_1, ...)`: packets need the
//! IP header annotation; see IPFilter for the expression language. `-`
//! matches every packet; packets matching no expression are dropped.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `program` (read): the compiled rules and their index (for a few
//!   tests in all, the branching program that replaces it).
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader
//!   -> c :: IPClassifier(tcp dst port www, udp port 53 or 123, -);
//! c[0] -> Discard; c[1] -> Discard; c[2] -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::String;

use super::classifier::one_per_output;
use super::compile::expr::parse_expr_text;
use super::compile::Rule;
use super::ipfilter::{parse_each, with_rules, IPFilter};
use crate::confparse::Args;
use crate::element::{Element, ElementClass};
use crate::router::ConfigCx;

/// The `IPClassifier` class (an [`IPFilter`] with one output per rule).
pub static CLASS: ElementClass = ElementClass {
    name: "IPClassifier",
    ports: "1/-",
    processing: "h/h",
    phase: 0,
    make,
};

fn make(args: &mut Args, cx: &ConfigCx) -> Result<Box<dyn Element>, ConfigError> {
    let f = with_rules(args, |rules| ip_classifier(rules, cx.noutputs()))?;
    Ok(Box::new(f))
}

/// Compiles IPClassifier expressions into an [`IPFilter`].
pub fn ip_classifier(exprs: &[String], noutputs: usize) -> Result<IPFilter, ConfigError> {
    one_per_output(exprs, noutputs)?;
    let rules = parse_each(exprs, |i, text, mixed| {
        let (expr, ip6) = parse_expr_text(text, mixed)?;
        Ok((
            Rule {
                expr,
                output: Some(i),
            },
            ip6,
        ))
    })?;
    Ok(IPFilter::from_rules(rules))
}

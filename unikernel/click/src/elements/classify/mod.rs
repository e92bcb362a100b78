//! Classification: Classifier (byte patterns), IPFilter and IPClassifier
//! (tcpdump-like expressions), all compiled by one rule compiler.
//!
//! # Design
//!
//! Each rule is parsed into a boolean tree of masked 4-byte word tests
//! ([`compile::tree`]), exactly as Click's instructions: a test on bytes
//! the packet lacks takes a fixed "short" result, which is what makes `!=`
//! (false on missing bytes) differ from `not` (true). The tree is the
//! reference semantics.
//!
//! For speed the rule list is compiled into a [`compile::Program`]: a
//! tuple-space index. Every rule yields guards (equalities on whole header
//! bytes that must hold when it matches: protocol, ports, address
//! prefixes cut to whole bytes, Ethernet type ...); rules keyed on the
//! same header words form a tuple with one hash table from key values to
//! the rules having them. A first dispatch on the key byte most tuples
//! share (the IP protocol for IPFilter) picks which tuples a packet
//! probes. The header words the index and tests use most are read once
//! per packet. A packet costs one hash probe per selected tuple plus the
//! residual tests (what the matched key does not already prove) of the
//! few candidates found, taken in rule order so the first match wins. Rule sets of 10 or 1,000 rules of a handful of
//! shapes therefore cost about the same; the `classify` bench measures it.
//! The `program` handler prints the rules' tests and the index.

use crate::element::ElementClass;

pub mod classifier;
pub mod compile;
pub mod ipclassifier;
pub mod ipfilter;

/// This group's classes.
pub static CLASSES: &[&ElementClass] =
    &[&classifier::CLASS, &ipfilter::CLASS, &ipclassifier::CLASS];

#[cfg(test)]
mod tests;

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
//! Residual trees run as branching code (one compare per test on the
//! path taken, no recursion).
//!
//! Rule sets of up to [`compile::bitsets::MAX_RULES`] rules that need
//! more than a branching program (below) are matched, on packets that
//! hold every byte their rules test, by per-byte rule bitsets instead
//! ([`compile::bitsets`]): each tested header byte maps its value to the
//! set of rules still possible, a packet intersects its bytes' sets, and
//! the lowest surviving rule whose leftover tests (if any) hold is the
//! first match: a few instructions per tested byte. The index serves
//! shorter packets and larger sets.
//!
//! Rule sets of at most [`compile::linear::MAX_INSNS`] tests in all (a
//! Classifier's `12/0800, 12/0806, -`) skip the index: the whole list
//! becomes one branching program of masked word compares, as Click's
//! Classifier is, costing a few instructions per packet. Batches are
//! classified packet by packet, then leave whole when every packet takes
//! the same output.
//! The `program` handler prints the rules' tests and the index (or the
//! branching program).

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

//! The element library, one element per file, grouped by what they do:
//!
//! * [`standard`]: counting, dropping, copying, painting, queueing,
//!   scheduling, switching, sources, stripping;
//! * `classify`: Classifier, IPFilter, IPClassifier (one decision-tree
//!   compiler);
//! * `ethernet`: Ethernet headers and ARP;
//! * `ip`: IP header checks and updates, ICMP responders and errors;
//! * `ip6`: IPv6 header checks and updates, routing, neighbour
//!   discovery, ICMPv6 errors and echo replies;
//! * `nat`: the IPRewriter family and its mappers, NAT64;
//! * `ratelimit`: token-bucket splitters, meters, per-source limiting;
//! * `monitor`: flow monitoring;
//! * `driver`: DriverManager and Script;
//! * `ipsec`: ESP tunnels (RadixIPsecLookup and the IPsec elements);
//! * `tcp`: TCP endpoints (ToyTCP, WebGen, Click's TCP building blocks);
//! * [`device`]: the counters the hosts' device elements share.
//!
//! Each file opens with its documentation in one fixed format (the class
//! and its arguments on the first line, then `# Ports`, `# Processing`,
//! `# Keywords`, `# Handlers`, `# Example`), which `mbctl doc CLASS` prints.
//! Each group's `mod.rs` lists its classes in `CLASSES`.

use crate::element::ElementClass;

pub mod classify;
pub mod device;
pub mod driver;
pub mod ethernet;
pub mod ip;
pub mod ip6;
pub mod ipsec;
pub mod monitor;
pub mod nat;
pub mod ratelimit;
pub mod standard;
pub mod tcp;

/// Every class of the engine's library, by group.
pub static GROUPS: &[&[&ElementClass]] = &[
    standard::CLASSES,
    classify::CLASSES,
    ratelimit::CLASSES,
    ethernet::CLASSES,
    ip::CLASSES,
    ip6::CLASSES,
    nat::CLASSES,
    monitor::CLASSES,
    driver::CLASSES,
    tcp::CLASSES,
    ipsec::CLASSES,
];

/// Every class of the engine's library.
pub fn classes() -> impl Iterator<Item = &'static ElementClass> {
    GROUPS.iter().flat_map(|g| g.iter().copied())
}

//! Network address translation: the IPRewriter family (Click's
//! `elements/ip/iprewriterbase`, `elements/tcpudp/*rewriter`,
//! `ipaddrrewriter`, `icmppingrewriter`), named patterns and mappers.
//!
//! * [`rewriter`]: the engine every rewriter element wraps;
//! * [`table`]: the flow table (hash index, slab, expiry lists);
//! * [`pattern`], [`spec`]: rewrite patterns and input specs;
//! * [`tcpstate`]: connection tracking for timeouts;
//! * [`export`]: state export and import;
//! * [`nat64`]: stateful NAT64 on the same flow table;
//! * [`xlat`]: RFC 7915 header translation pieces (NAT64, ProtocolTranslator);
//! * [`ftpportmapper`]: FTP PORT commands mapped through a rewriter;
//! * [`checksum`], [`flowid`], [`rng`]: small helpers.

use crate::element::ElementClass;

pub mod checksum;
pub mod export;
pub mod flowid;
pub mod ftpportmapper;
pub mod icmppingrewriter;
pub mod icmprewriter;
pub mod ipaddrrewriter;
pub mod iprewriter;
pub mod iprewriterpatterns;
pub mod nat64;
pub mod pattern;
pub mod rewriter;
pub mod rng;
pub mod roundrobinipmapper;
pub mod sourceiphashmapper;
pub mod spec;
pub mod table;
pub mod tcprewriter;
pub mod tcpstate;
pub mod udprewriter;
pub mod xlat;

#[cfg(test)]
mod tests;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[
    &iprewriter::CLASS,
    &tcprewriter::CLASS,
    &udprewriter::CLASS,
    &ipaddrrewriter::CLASS,
    &icmppingrewriter::CLASS,
    &icmprewriter::CLASS,
    &iprewriterpatterns::CLASS,
    &nat64::CLASS,
    &ftpportmapper::CLASS,
    &roundrobinipmapper::CLASS,
    &sourceiphashmapper::CLASS,
];

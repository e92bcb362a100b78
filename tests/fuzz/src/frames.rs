//! Fuzzes the engine's packet path: arbitrary Ethernet frames (see
//! `common/gateway.rs` for the input format) through a firewall + NAT
//! gateway (Classifier, ARPResponder, ARPQuerier, CheckIPHeader, IPFilter,
//! DecIPTTL, ICMPError, IPClassifier, IPRewriter, ICMPPingRewriter) built
//! once. Nothing may panic, and every frame the gateway sends must keep the
//! gateway's invariants (sane IPv4 header and checksum, own MACs and
//! addresses, no inside address on the outside).

use crate::gateway;

thread_local! {
    static GATEWAY: gateway::Gateway = gateway::Gateway::new();
}

/// One input.
pub fn run(data: &[u8]) {
    GATEWAY.with(|g| {
        g.feed(data);
    });
}

//! The rule compiler shared by Classifier, IPFilter and IPClassifier.
//!
//! * [`tree`]: boolean trees of masked 4-byte word tests (Click's
//!   instruction model, including the short-packet result of each test);
//! * [`expr`]: the IPFilter expression language, parsed into such trees;
//! * [`pattern`]: Classifier's `OFFSET/VALUE%MASK` patterns, likewise;
//! * [`names`]: protocol, service, TCP flag and ICMP type names;
//! * [`program`]: a rule list compiled into a tuple-space index plus exact
//!   per-rule tests (see there for the design);
//! * [`bitsets`]: per-byte rule bitsets, which [`program`] uses instead of
//!   the index for sets of up to a few hundred rules;
//! * [`linear`]: small rule lists compiled into a branching program of
//!   word compares instead.

pub mod bitsets;
pub mod dispatch;
pub mod expr;
pub mod linear;
pub mod names;
pub mod pattern;
pub mod program;
pub mod tree;

pub use program::{Program, Rule};
pub use tree::View;

use crate::packet::Packet;

/// The headers IPFilter reads: the IP header annotation, the transport
/// header after it and the MAC header, each to the end of the packet.
/// Unset annotations read as empty (every test on them is "short").
#[inline]
pub fn ip_view(p: &Packet) -> View<'_> {
    View {
        data: p.data(),
        mac: p.mac_header().unwrap_or(&[]),
        net: p.network_header().unwrap_or(&[]),
        transp: if p.network_header().is_some() {
            p.transport_header().unwrap_or(&[])
        } else {
            &[]
        },
    }
}

/// The view Classifier reads: the packet data.
#[inline]
pub fn data_view(p: &Packet) -> View<'_> {
    View {
        data: p.data(),
        ..View::default()
    }
}

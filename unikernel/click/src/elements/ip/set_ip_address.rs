//! `SetIPAddress(IPADDR)`: sets the destination IP annotation.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Sets every packet's destination IP annotation to IPADDR (an address
//! or an `AddressInfo` name), as a next hop for `ARPQuerier`. Click's
//! ANNO argument is not accepted.
//!
//! # Keywords
//! * `IPADDR` (IP address): the annotation's value.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! ... -> SetIPAddress(10.0.0.254) -> ARPQuerier(10.0.0.1, 00:01:02:03:04:05) -> ...
//! ```

use alloc::boxed::Box;

use crate::confparse::Ipv4;
use crate::element::{in_place_action, Element, ElementClass};

/// The `SetIPAddress` class.
pub static CLASS: ElementClass = ElementClass {
    name: "SetIPAddress",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| Ok(Box::new(SetIpAddress(args.required::<Ipv4>("IPADDR")?))),
};

/// Writes the annotation.
pub struct SetIpAddress(Ipv4);

impl Element for SetIpAddress {
    in_place_action!(|el, p| p.set_dst_ip_anno(el.0 .0));
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, TestSink};

    #[test]
    fn sets_the_annotation() {
        let (r, _) = router_from_source(
            "AddressInfo(gw 10.0.0.254/24);\nIdle -> a :: SetIPAddress(gw) -> s :: TestSink;",
        );
        r.inject(r.find("a").unwrap(), 0, Packet::from_slice(&[1]));
        r.with_element(r.find("s").unwrap(), |e, _| {
            let got = &e.downcast_ref::<TestSink>().unwrap().got;
            assert_eq!(got[0].1.dst_ip_anno(), [10, 0, 0, 254]);
        });
        assert!(build_from_source("Idle -> SetIPAddress(10.0.0) -> Discard;").is_err());
    }
}

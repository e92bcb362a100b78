//! `GetIPAddress(OFFSET)`: sets the destination IP annotation from the
//! packet's data.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Copies the four bytes at OFFSET (16 for an IP header's destination)
//! into the destination IP annotation that the `*IPLookup` elements
//! route on. A packet too short to hold them passes with its annotation
//! unchanged. Click's later `GetIPAddress(IP src|dst)` form and its ANNO
//! argument are not accepted.
//!
//! # Keywords
//! * `OFFSET` (unsigned integer): where the address starts in the data.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> GetIPAddress(16)
//!     -> rt :: StaticIPLookup(10.0.0.0/8 0, 0/0 1);
//! ```

use alloc::boxed::Box;

use crate::element::{in_place_action, Element, ElementClass};
use crate::packet::Packet;

/// The `GetIPAddress` class.
pub static CLASS: ElementClass = ElementClass {
    name: "GetIPAddress",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        Ok(Box::new(GetIpAddress {
            offset: args.required("OFFSET")?,
        }))
    },
};

/// Copies an address into the annotation.
pub struct GetIpAddress {
    offset: usize,
}

impl GetIpAddress {
    fn get(&self, p: &mut Packet) {
        let at = self.offset;
        if let Some(a) = p.data().get(at..at.saturating_add(4)) {
            let a = [a[0], a[1], a[2], a[3]];
            p.set_dst_ip_anno(a);
        }
    }
}

impl Element for GetIpAddress {
    in_place_action!(|el, p| el.get(p));
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, TestSink};

    #[test]
    fn copies_the_address_at_offset() {
        let (r, _) = router_from_source("Idle -> g :: GetIPAddress(2) -> s :: TestSink;");
        let g = r.find("g").unwrap();
        r.inject(g, 0, Packet::from_slice(&[0, 0, 10, 1, 2, 3]));
        let mut short = Packet::from_slice(&[0, 0, 10, 1, 2]);
        short.set_dst_ip_anno([9, 9, 9, 9]);
        r.inject(g, 0, short);
        r.with_element(r.find("s").unwrap(), |e, _| {
            let got = &e.downcast_ref::<TestSink>().unwrap().got;
            assert_eq!(got[0].1.dst_ip_anno(), [10, 1, 2, 3]);
            assert_eq!(got[1].1.dst_ip_anno(), [9, 9, 9, 9]);
        });
        assert!(build_from_source("Idle -> GetIPAddress(x) -> Discard;").is_err());
        assert!(build_from_source("Idle -> GetIPAddress -> Discard;").is_err());
    }
}

//! `MarkIP6Header([OFFSET])`: sets the IPv6 header annotation without
//! checks.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Marks the IPv6 header `OFFSET` bytes into the packet; the transport
//! header annotation is set 40 bytes after it (the fixed header), as in
//! Click. Lengths are not checked (`CheckIP6Header` does that); a packet
//! with fewer than 40 bytes at `OFFSET` passes unmarked.
//!
//! # Keywords
//! * `OFFSET` (integer, default 0): where the IPv6 header starts.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> MarkIP6Header(14) -> Discard;
//! ```

use alloc::boxed::Box;

use crate::element::{in_place_action, Element, ElementClass};
use crate::net::ip6;
use crate::packet::Packet;

/// The `MarkIP6Header` class.
pub static CLASS: ElementClass = ElementClass {
    name: "MarkIP6Header",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let offset = args.optional::<usize>("OFFSET")?.unwrap_or(0);
        Ok(Box::new(MarkIp6Header { offset }))
    },
};

/// Marks IPv6 headers.
pub struct MarkIp6Header {
    offset: usize,
}

impl MarkIp6Header {
    fn mark(&self, p: &mut Packet) {
        if p.len() >= self.offset + ip6::HEADER_LEN {
            p.set_ip_header(self.offset, ip6::HEADER_LEN);
        }
    }
}

impl Element for MarkIp6Header {
    in_place_action!(|el, p| el.mark(p));
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{router_from_source, TestSink};

    #[test]
    fn marks_at_offset() {
        let (r, _) = router_from_source("Idle -> m :: MarkIP6Header(14) -> s :: TestSink;");
        let m = r.find("m").unwrap();
        r.inject(m, 0, Packet::from_slice(&[0x60; 54]));
        r.inject(m, 0, Packet::from_slice(&[0x60; 53]));
        r.with_element(r.find("s").unwrap(), |e, _| {
            let s = e.downcast_ref::<TestSink>().unwrap();
            assert_eq!(s.got[0].1.network_header_offset(), Some(14));
            assert_eq!(s.got[0].1.ip_header_len(), Some(40));
            assert_eq!(s.got[1].1.network_header_offset(), None);
        });
    }
}

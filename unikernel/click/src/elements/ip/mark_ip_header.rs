//! `MarkIPHeader([OFFSET])`: sets the IP header annotation without checks.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Marks the IP header `OFFSET` bytes into the packet, with the length its
//! IHL field gives (the transport header follows it). A packet with no
//! byte at `OFFSET` passes unmarked.
//!
//! # Keywords
//! * `OFFSET` (integer, default 0): where the IP header starts.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> MarkIPHeader(14) -> Discard;
//! ```

use alloc::boxed::Box;

use crate::element::{in_place_action, Element, ElementClass};
use crate::packet::Packet;

/// The `MarkIPHeader` class.
pub static CLASS: ElementClass = ElementClass {
    name: "MarkIPHeader",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let offset = args.optional::<usize>("OFFSET")?.unwrap_or(0);
        Ok(Box::new(MarkIpHeader { offset }))
    },
};

/// Marks IP headers.
pub struct MarkIpHeader {
    offset: usize,
}

impl MarkIpHeader {
    fn mark(&self, p: &mut Packet) {
        if let Some(&b) = p.data().get(self.offset) {
            p.set_ip_header(self.offset, ((b & 0x0F) as usize) << 2);
        }
    }
}

impl Element for MarkIpHeader {
    in_place_action!(|el, p| el.mark(p));
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{flat, router};

    #[test]
    fn marks_at_offset() {
        let (r, _) = router(flat(
            &[
                ("m", "MarkIPHeader", "14"),
                ("s", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (2, 0, 0, 0)],
        ));
        let mut b = [0u8; 40];
        b[14] = 0x46;
        r.inject(0, 0, Packet::from_slice(&b));
        r.inject(0, 0, Packet::from_slice(&b[..14]));
        r.with_element(1, |e, _| {
            let s = e.downcast_ref::<crate::testing::TestSink>().unwrap();
            assert_eq!(s.got[0].1.network_header_offset(), Some(14));
            assert_eq!(s.got[0].1.ip_header_len(), Some(24));
            assert_eq!(s.got[1].1.network_header_offset(), None);
        });
    }
}

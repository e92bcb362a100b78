//! `StripIPHeader()`: strips the outermost IP header, per the IP header annotation.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Removes everything up to the transport header the IP header
//! annotation marks (the IP header and anything before it), so the packet
//! starts at the IP payload. The annotations are unchanged: the IP header
//! annotation still names the stripped header, so an IP-in-IP packet
//! needs `CheckIPHeader` or `MarkIPHeader` after it to mark the inner
//! header. Packets without the annotation pass unchanged.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> StripIPHeader -> CheckIPHeader -> Discard;
//! ```

use alloc::boxed::Box;

use crate::element::{in_place_action, Element, ElementClass};
use crate::packet::Packet;

/// The `StripIPHeader` class.
pub static CLASS: ElementClass = ElementClass {
    name: "StripIPHeader",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(StripIpHeader)),
};

/// The stripper.
pub struct StripIpHeader;

fn strip(p: &mut Packet) {
    if let Some(off) = p.transport_header_offset() {
        if let Ok(n) = usize::try_from(off) {
            p.pull(n.min(p.len()));
        }
    }
}

impl Element for StripIpHeader {
    in_place_action!(|_el, p| strip(p));
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn strips_through_the_ip_header() {
        let (r, _) = router_from_source("Idle -> s :: StripIPHeader -> t :: TestSink;");
        let s = r.find("s").unwrap();
        let mut f = alloc::vec![0u8; 14 + 24 + 3];
        f[14] = 0x46;
        f[38..].copy_from_slice(b"abc");
        let mut p = Packet::from_slice(&f);
        p.set_ip_header(14, 24);
        r.inject(s, 0, p);
        r.inject(s, 0, Packet::from_slice(b"plain"));
        let got = sink_contents(&r, "t");
        assert_eq!(got[0].1, b"abc");
        assert_eq!(got[1].1, b"plain");
    }
}

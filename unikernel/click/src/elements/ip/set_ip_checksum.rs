//! `SetIPChecksum`: recomputes the IP header checksum.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Computes the checksum of the header at the IP header annotation (or the
//! start of the packet when it is unset) and stores it. Packets whose
//! header is shorter than 20 bytes, has IHL below 5, or runs past the
//! packet are dropped (the first with a console message).
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `drops` (read): packets dropped as malformed.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> MarkIPHeader -> SetIPChecksum -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::net::ip;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `SetIPChecksum` class.
pub static CLASS: ElementClass = ElementClass {
    name: "SetIPChecksum",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(SetIpChecksum { drops: 0 })),
};

/// Recomputes IP header checksums.
pub struct SetIpChecksum {
    drops: u64,
}

impl SetIpChecksum {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        if let Some(h) = super::ip_header_mut(&mut p) {
            let hlen = ((h[0] & 0x0F) as usize) << 2;
            if hlen >= ip::MIN_HEADER_LEN && hlen <= h.len() {
                ip::set_checksum(h, hlen);
                return Some(p);
            }
        }
        self.drops += 1;
        if self.drops == 1 {
            cx.log("bad input packet");
        }
        cx.kill(p);
        None
    }
}

impl Element for SetIpChecksum {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("drops")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.drops.to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::net::{checksum, ip};
    use crate::packet::Packet;
    use crate::testing::{flat, router, sink_contents};

    #[test]
    fn recomputes_and_drops_malformed() {
        let (r, _) = router(flat(
            &[
                ("c", "SetIPChecksum", ""),
                ("s", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (2, 0, 0, 0)],
        ));
        let mut b = ip::build([1, 2, 3, 4], [5, 6, 7, 8], 6, 3, &[1, 2]);
        b[10] = 0xde;
        let mut framed = alloc::vec![0u8; 14];
        framed.extend(&b);
        let mut p = Packet::from_slice(&framed);
        p.set_ip_header(14, 20);
        r.inject(0, 0, p);
        r.inject(0, 0, Packet::from_slice(&b[..19]));
        let mut hl = b.clone();
        hl[0] = 0x4f;
        r.inject(0, 0, Packet::from_slice(&hl));
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 1);
        assert_eq!(checksum::checksum(&got[0].1[14..34]), 0);
        assert_eq!(r.read("c.drops").unwrap(), "2");
    }
}

//! `IP6Print([LABEL, KEYWORDS])`: prints a one-line summary of each IPv6
//! packet.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! For each packet, logs `LABEL: SRC -> DST plen N, next N, hlim N` from
//! the IPv6 header (at the network header annotation, else at the start
//! of the data), as Click's IP6Print does; with `CONTENTS true`, a second
//! line holds the first NBYTES bytes of the packet data in hex, in groups
//! of four bytes, 24 bytes a line. Packets too short for an IPv6 header
//! are not printed. Every packet passes on unchanged.
//!
//! # Keywords
//! * `LABEL` (string, default empty): the line prefix (with `: `).
//! * `NBYTES` (integer, default 1500): how many bytes `CONTENTS` prints.
//! * `CONTENTS` (bool, default false): print the data in hex.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> MarkIP6Header -> IP6Print(v6) -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt::Write;

use crate::confparse::Ipv6;
use crate::element::{simple_action, Element, ElementClass};
use crate::net::ip6;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `IP6Print` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IP6Print",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let label = args.optional::<String>("LABEL")?.unwrap_or_default();
        let contents = args.keyword_or("CONTENTS", false)?;
        let nbytes = args.keyword_or("NBYTES", 1500usize)?;
        Ok(Box::new(Ip6Print {
            label,
            contents,
            nbytes,
        }))
    },
};

/// Prints IPv6 packets.
pub struct Ip6Print {
    label: String,
    contents: bool,
    nbytes: usize,
}

impl Ip6Print {
    fn line(&self, p: &Packet) -> Option<String> {
        let off = super::ip6_offset(p)?;
        let h = ip6::Ipv6Header::new(&p.data()[off..])?;
        let mut s = String::new();
        if !self.label.is_empty() {
            let _ = write!(s, "{}: ", self.label);
        }
        let _ = write!(
            s,
            "{} -> {} plen {}, next {}, hlim {}",
            Ipv6(h.src()),
            Ipv6(h.dst()),
            h.payload_len(),
            h.next_header(),
            h.hop_limit()
        );
        if self.contents {
            s.push_str("\n  ");
            for (i, b) in p.data().iter().take(self.nbytes).enumerate() {
                let _ = write!(s, "{b:02x}");
                if i % 24 == 23 {
                    s.push_str("\n  ");
                } else if i % 4 == 3 {
                    s.push(' ');
                }
            }
        }
        Some(s)
    }

    fn action(&mut self, cx: &Ctx, p: Packet) -> Option<Packet> {
        if let Some(s) = self.line(&p) {
            cx.host().log(&s);
        }
        Some(p)
    }
}

impl Element for Ip6Print {
    simple_action!();
}

#[cfg(test)]
mod tests {
    use crate::net::ip6;
    use crate::packet::Packet;
    use crate::testing::router_from_source;

    #[test]
    fn prints_click_summaries() {
        let (r, host) = router_from_source(
            "Idle -> a :: IP6Print(v6) -> b :: IP6Print(x, CONTENTS true, NBYTES 6) -> Discard;",
        );
        let s: [u8; 16] = "fd00::1".parse::<core::net::Ipv6Addr>().unwrap().octets();
        let d: [u8; 16] = "ff02::1:ff00:2"
            .parse::<core::net::Ipv6Addr>()
            .unwrap()
            .octets();
        r.inject(
            r.find("a").unwrap(),
            0,
            Packet::from_slice(&ip6::build(&s, &d, 58, 255, &[0; 8])),
        );
        r.inject(r.find("a").unwrap(), 0, Packet::from_slice(&[0x60; 20]));
        assert_eq!(
            *host.logs.borrow(),
            [
                "v6: fd00::1 -> ff02::1:ff00:2 plen 8, next 58, hlim 255",
                "x: fd00::1 -> ff02::1:ff00:2 plen 8, next 58, hlim 255\n  60000000 0008",
            ]
        );
    }
}

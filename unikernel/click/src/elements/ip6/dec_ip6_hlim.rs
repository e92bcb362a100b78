//! `DecIP6HLIM`: decrements the IPv6 hop limit, sending expiring packets
//! to a second output.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! Needs the IPv6 header annotation (else the header is taken to start
//! the packet). A packet whose hop limit is 0 or 1 leaves unchanged on
//! output 1 (dropped if it is not connected; usually an
//! `ICMP6Error(..., 3, 0)` follows) and counts in `drops`. Otherwise the
//! hop limit drops by one (IPv6 has no header checksum) and the packet
//! leaves on output 0. Packets too short for an IPv6 header are dropped.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `drops` (read): expired packets.
//!
//! # Example
//! ```text
//! ... -> CheckIP6Header -> dh :: DecIP6HLIM -> ...;
//! dh[1] -> ICMP6Error(fd00::1, 3, 0) -> ...;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::net::ip6;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `DecIP6HLIM` class.
pub static CLASS: ElementClass = ElementClass {
    name: "DecIP6HLIM",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(DecIp6Hlim { drops: 0 })),
};

/// Decrements hop limits.
pub struct DecIp6Hlim {
    drops: u64,
}

impl DecIp6Hlim {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let Some(off) = super::ip6_offset(&p) else {
            cx.kill(p);
            return None;
        };
        let h = &mut p.data_mut()[off + ip6::HLIM_OFF];
        if *h <= 1 {
            self.drops += 1;
            cx.push(1, p);
            return None;
        }
        *h -= 1;
        Some(p)
    }
}

impl Element for DecIp6Hlim {
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
    use crate::net::ip6;
    use crate::packet::Packet;
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn decrements_and_expires() {
        let (r, _) = router_from_source(
            "Idle -> d :: DecIP6HLIM -> ok :: TestSink; d[1] -> exp :: TestSink;",
        );
        let d = r.find("d").unwrap();
        let a = [0u8; 16];
        for hlim in [64, 2, 1, 0] {
            r.inject(d, 0, Packet::from_slice(&ip6::build(&a, &a, 59, hlim, &[])));
        }
        r.inject(d, 0, Packet::from_slice(&[0x60; 39]));
        let ok = sink_contents(&r, "ok");
        assert_eq!(
            ok.iter().map(|(_, b)| b[7]).collect::<alloc::vec::Vec<_>>(),
            [63, 1]
        );
        let exp = sink_contents(&r, "exp");
        assert_eq!(
            exp.iter()
                .map(|(_, b)| b[7])
                .collect::<alloc::vec::Vec<_>>(),
            [1, 0]
        );
        assert_eq!(r.read("d.drops").unwrap(), "2");
    }
}

//! `DecIPTTL([KEYWORDS])`: decrements the IP time-to-live, sending
//! expiring packets to a second output.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! Needs the IP header annotation (else the IP header is taken to start
//! the packet). A packet whose TTL is 0 or 1 leaves unchanged on output 1
//! (dropped if it is not connected) and counts in `drops`. Otherwise the
//! TTL drops by one and the header checksum is updated incrementally
//! (`~(~sum + 0xFEFF)`, as Click does), and the packet leaves on output 0.
//! With `MULTICAST false`, packets to multicast destinations pass
//! untouched. Packets too short to hold an IP header are dropped.
//!
//! # Keywords
//! * `ACTIVE` (bool, default true): when false, every packet passes
//!   untouched.
//! * `MULTICAST` (bool, default true): whether multicast packets are
//!   decremented.
//!
//! # Handlers
//! * `drops` (read): expired packets.
//! * `active` (read/write): the `ACTIVE` setting.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> t :: DecIPTTL -> Discard;
//! t[1] -> ICMPError(10.0.0.254, timeexceeded) -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::confparse::parse_written;
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::net::{checksum, ip};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `DecIPTTL` class.
pub static CLASS: ElementClass = ElementClass {
    name: "DecIPTTL",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| {
        let active = args.keyword_or("ACTIVE", true)?;
        let multicast = args.keyword_or("MULTICAST", true)?;
        Ok(Box::new(DecIpTtl {
            active,
            multicast,
            drops: 0,
        }))
    },
};

/// Decrements TTLs.
pub struct DecIpTtl {
    active: bool,
    multicast: bool,
    drops: u64,
}

/// What to do with a packet.
enum Verdict {
    Pass,
    Expired,
    Malformed,
}

impl DecIpTtl {
    fn decide(&self, p: &mut Packet) -> Verdict {
        if !self.active {
            return Verdict::Pass;
        }
        let multicast = self.multicast;
        let Some(h) = super::ip_header_mut(p) else {
            return Verdict::Malformed;
        };
        if !multicast && ip::is_multicast([h[16], h[17], h[18], h[19]]) {
            return Verdict::Pass;
        }
        if h[ip::TTL_OFF] <= 1 {
            return Verdict::Expired;
        }
        h[ip::TTL_OFF] -= 1;
        let sum = checksum::dec_ttl(ip::get16(h, ip::SUM_OFF));
        ip::put16(h, ip::SUM_OFF, sum);
        Verdict::Pass
    }

    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        match self.decide(&mut p) {
            Verdict::Pass => Some(p),
            Verdict::Expired => {
                self.drops += 1;
                cx.push(1, p);
                None
            }
            Verdict::Malformed => {
                cx.kill(p);
                None
            }
        }
    }
}

impl Element for DecIpTtl {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("drops"), HandlerDecl::rw("active")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "drops" => self.drops.to_string(),
            _ => self.active.to_string(),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), ConfigError> {
        self.active = parse_written(value)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use alloc::vec::Vec;

    use crate::net::{checksum, ip};
    use crate::packet::Packet;
    use crate::router::Router;
    use crate::testing::{flat, router, sink_contents};

    fn setup(cfg: &str) -> Router {
        let (r, _) = router(flat(
            &[
                ("d", "DecIPTTL", cfg),
                ("ok", "TestSink", ""),
                ("exp", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (0, 1, 2, 0), (3, 0, 0, 0)],
        ));
        r
    }

    fn marked(b: &[u8]) -> Packet {
        let mut p = Packet::from_slice(b);
        p.set_ip_header(0, 20);
        p
    }

    /// A valid header whose checksum field holds `sum` (0x0000 or 0xFFFF):
    /// the other words are made to add up to 0xFFFF.
    fn header_with_checksum(sum: u16) -> Vec<u8> {
        let mut h = ip::build([10, 0, 0, 1], [10, 0, 0, 2], 17, 64, &[]);
        ip::put16(&mut h, ip::SUM_OFF, 0);
        ip::put16(&mut h, 4, 0);
        let rest = !checksum::finish(checksum::add(0, &h));
        ip::put16(&mut h, 4, 0xFFFF - rest);
        ip::put16(&mut h, ip::SUM_OFF, sum);
        assert_eq!(checksum::checksum(&h), 0);
        h
    }

    #[test]
    fn checksum_edge_cases_stay_valid() {
        let r = setup("");
        for sum in [0x0000, 0xFFFF] {
            r.inject(0, 0, marked(&header_with_checksum(sum)));
        }
        let got = sink_contents(&r, "ok");
        for (_, b) in &got {
            assert_eq!(b[8], 63);
            assert_eq!(ip::get16(b, ip::SUM_OFF), 0x0100);
            assert_eq!(checksum::checksum(&b[..20]), 0);
        }
        // Many ordinary headers: incremental equals full recomputation.
        for ttl in 2..=255u8 {
            let b = ip::build([192, 168, ttl, 1], [10, ttl, 0, 2], 6, ttl, &[ttl]);
            r.inject(0, 0, marked(&b));
        }
        for (_, b) in sink_contents(&r, "ok").iter().skip(2) {
            assert_eq!(checksum::checksum(&b[..20]), 0);
        }
    }

    #[test]
    fn expiry_multicast_and_inactive() {
        let r = setup("MULTICAST false");
        let mc = ip::build([10, 0, 0, 1], [224, 0, 0, 5], 17, 1, &[]);
        r.inject(0, 0, marked(&mc));
        for ttl in [0, 1] {
            r.inject(
                0,
                0,
                marked(&ip::build([10, 0, 0, 1], [10, 0, 0, 2], 17, ttl, &[])),
            );
        }
        r.inject(0, 0, Packet::from_slice(&[0x45; 10]));
        assert_eq!(sink_contents(&r, "ok"), alloc::vec![(0, mc.clone())]);
        assert_eq!(sink_contents(&r, "exp").len(), 2);
        assert_eq!(sink_contents(&r, "exp")[0].1[8], 0);
        assert_eq!(r.read("d.drops").unwrap(), "2");
        r.write("d.active", "false").unwrap();
        let bad = r.write("d.active", "maybe").unwrap_err().to_string();
        assert_eq!(bad, "d.active: expected true or false, got 'maybe'");
        assert_eq!(r.read("d.active").unwrap(), "false");
        r.inject(
            0,
            0,
            marked(&ip::build([10, 0, 0, 1], [10, 0, 0, 2], 17, 1, &[])),
        );
        assert_eq!(sink_contents(&r, "ok").len(), 2);
        let r = setup("");
        r.inject(0, 0, marked(&mc));
        assert_eq!(sink_contents(&r, "exp").len(), 1);
    }
}

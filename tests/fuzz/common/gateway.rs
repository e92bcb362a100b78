//! A firewall + NAT gateway built from the engine's elements, fed arbitrary
//! Ethernet frames on either side, checking what it sends. Shared by the
//! `frames` fuzz target and the deterministic test
//! `tests/host/tests/frames.rs` (both include this file as a module).
//!
//! An input is a sequence of records `FLAGS LEN FRAME`: LEN bytes of frame
//! (LEN 0: the rest of the input). FLAGS bit 0 picks the side (0 inside, 1
//! outside); bit 1 sets the IPv4 total length to the frame's, bit 2
//! recomputes the IPv4 header checksum (so that mutated frames get past
//! CheckIPHeader); bits 3-5 first advance the simulated clock (0, 10 ms,
//! 1 s, 30 s, 5 min, 1 h, 1 day, 0).
//!
//! Invariants of every frame the gateway sends: a whole Ethernet header
//! from the side's own MAC, carrying ARP or IPv4; ARP from the side's own
//! address; IPv4 with a sane header, a correct header checksum, a total
//! length equal to the frame's, a TTL above 0, and, on the outside, the
//! public address as source (no inside address leaks through the NAT).

#![allow(dead_code)]

use click::packet::Packet;
use click::testing::{build_from_source, TestSink};
use click::time::Timestamp;
use click::Router;

/// Inside interface address and MAC.
pub const INSIDE_IP: [u8; 4] = [10, 1, 0, 1];
/// Inside interface MAC.
pub const INSIDE_MAC: [u8; 6] = [2, 0, 10, 1, 0, 1];
/// The public (outside) address.
pub const PUBLIC_IP: [u8; 4] = [10, 2, 0, 1];
/// Outside interface MAC.
pub const OUTSIDE_MAC: [u8; 6] = [2, 0, 10, 2, 0, 1];

/// The graph: click-configs/firewall-live.click's rules in front of
/// click-configs/nat.click's translation, with sinks for the devices.
pub const CONFIG: &str = r#"
rw   :: IPRewriter(pattern 10.2.0.1 1024-65535 - - 0 1, drop, MAPPING_CAPACITY 4096);
ping :: ICMPPingRewriter(pattern 10.2.0.1 1024-65535 - - 0 1, drop, MAPPING_CAPACITY 1024);

in_dev :: Idle;
in_out :: TestSink;
in_eth :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
in_arp :: ARPQuerier(10.1.0.1/24, 02:00:0a:01:00:01, CAPACITY 256, ENTRY_CAPACITY 1024) -> in_out;
in_dev -> in_eth;
in_eth[0] -> ARPResponder(10.1.0.1 02:00:0a:01:00:01) -> in_out;
in_eth[1] -> [1]in_arp;
in_eth[2] -> Strip(14)
          -> in_chk :: CheckIPHeader(INTERFACES 10.1.0.1/24 10.2.0.1/24)
          -> out_rules :: IPFilter(
                 allow tcp dst port www or https or ssh,
                 allow udp dst port domain,
                 allow icmp type echo,
                 allow icmp type unreachable or timeexceeded,
                 1     all);
in_eth[3] -> Discard;
in_chk[1] -> Discard;
out_rules[0] -> in_ttl :: DecIPTTL -> in_ip :: IPClassifier(icmp type echo, -);
in_ip[0] -> [0]ping;
in_ip[1] -> [0]rw;
out_rules[1] -> ICMPError(10.1.0.1, unreachable, filterprohibited) -> in_arp;
in_ttl[1] -> ICMPError(10.1.0.1, timeexceeded) -> in_arp;

out_dev :: Idle;
out_out :: TestSink;
out_eth :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
out_arp :: ARPQuerier(10.2.0.1/24, 02:00:0a:02:00:01, CAPACITY 256, ENTRY_CAPACITY 1024) -> out_out;
out_dev -> out_eth;
out_eth[0] -> ARPResponder(10.2.0.1 02:00:0a:02:00:01) -> out_out;
out_eth[1] -> [1]out_arp;
out_eth[2] -> Strip(14)
           -> out_chk :: CheckIPHeader(INTERFACES 10.1.0.1/24 10.2.0.1/24)
           -> in_rules :: IPFilter(
                  allow tcp src port www or https or ssh and not (tcp opt syn and not tcp opt ack),
                  allow udp src port domain,
                  allow icmp type echo-reply,
                  allow icmp type unreachable or timeexceeded,
                  1     all);
out_eth[3] -> Discard;
out_chk[1] -> Discard;
in_rules[0] -> out_ttl :: DecIPTTL -> out_ip :: IPClassifier(icmp type echo-reply, -);
out_ip[0] -> [1]ping;
out_ip[1] -> [1]rw;
in_rules[1] -> ICMPError(10.2.0.1, unreachable, filterprohibited) -> out_arp;
out_ttl[1] -> ICMPError(10.2.0.1, timeexceeded) -> out_arp;

rw[0] -> out_arp;
ping[0] -> out_arp;
rw[1] -> in_arp;
ping[1] -> in_arp;
"#;

/// Which interface a frame arrives on or leaves by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The inside network.
    Inside,
    /// The outside network (public address).
    Outside,
}

/// Clock advances selected by FLAGS bits 3-5, in milliseconds.
const ADVANCE_MS: [i64; 8] = [0, 10, 1_000, 30_000, 300_000, 3_600_000, 86_400_000, 0];

/// The gateway router and its device stand-ins.
pub struct Gateway {
    router: Router,
    in_eth: usize,
    out_eth: usize,
    in_out: usize,
    out_out: usize,
}

impl Default for Gateway {
    fn default() -> Gateway {
        Gateway::new()
    }
}

impl Gateway {
    /// Builds the router.
    pub fn new() -> Gateway {
        let (router, _host) = match build_from_source(CONFIG) {
            Ok(r) => r,
            Err(e) => panic!("gateway graph: {e}"),
        };
        let find = |n: &str| router.find(n).expect("element");
        Gateway {
            in_eth: find("in_eth"),
            out_eth: find("out_eth"),
            in_out: find("in_out"),
            out_out: find("out_out"),
            router,
        }
    }

    /// Feeds every record of `data`; returns the frames sent (inside,
    /// outside). Panics if a sent frame breaks an invariant.
    pub fn feed(&self, mut data: &[u8]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let mut sent = (Vec::new(), Vec::new());
        while data.len() >= 2 {
            let (flags, len) = (data[0], data[1] as usize);
            data = &data[2..];
            let n = if len == 0 {
                data.len()
            } else {
                len.min(data.len())
            };
            let (frame, rest) = data.split_at(n);
            data = rest;
            self.advance(ADVANCE_MS[(flags >> 3 & 7) as usize]);
            let side = if flags & 1 == 0 {
                Side::Inside
            } else {
                Side::Outside
            };
            let mut f = frame.to_vec();
            fix_ipv4(&mut f, flags & 2 != 0, flags & 4 != 0);
            let (i, o) = self.frame(side, &f);
            sent.0.extend(i);
            sent.1.extend(o);
        }
        sent
    }

    /// Injects one frame arriving on `side` and runs the router until idle
    /// (without advancing time); returns and checks what was sent.
    pub fn frame(&self, side: Side, frame: &[u8]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let eid = match side {
            Side::Inside => self.in_eth,
            Side::Outside => self.out_eth,
        };
        self.router.inject(eid, 0, Packet::from_slice(frame));
        self.settle();
        self.take_sent()
    }

    /// Advances the simulated clock by `ms` and runs what came due;
    /// returns and checks what was sent.
    pub fn advance(&self, ms: i64) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        if ms > 0 {
            let clock = self.router.clock();
            clock.advance_to(clock.now() + Timestamp::from_msec(ms));
            self.settle();
        }
        self.take_sent()
    }

    /// Reads a handler, e.g. `rw.tcp_table`.
    pub fn read(&self, handler: &str) -> String {
        self.router
            .read(handler)
            .unwrap_or_else(|e| panic!("{handler}: {e}"))
    }

    fn settle(&self) {
        // Bounded: a graph that keeps itself busy forever is a bug too.
        for _ in 0..10_000 {
            if !matches!(self.router.step(), click::router::Step::Worked) {
                return;
            }
        }
        panic!("the gateway never went idle");
    }

    fn take_sent(&self) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let take = |eid: usize, side: Side| -> Vec<Vec<u8>> {
            let got = self
                .router
                .with_element(eid, |e, _| {
                    e.downcast_mut::<TestSink>()
                        .map(|s| core::mem::take(&mut s.got))
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            got.into_iter()
                .map(|(_, p)| {
                    let f = p.data().to_vec();
                    check_sent(side, &f);
                    f
                })
                .collect()
        };
        (
            take(self.in_out, Side::Inside),
            take(self.out_out, Side::Outside),
        )
    }
}

/// Optionally sets an IPv4 frame's total length to the frame's and
/// recomputes its header checksum.
pub fn fix_ipv4(f: &mut [u8], length: bool, checksum: bool) {
    if f.len() < 34 || f[12..14] != [8, 0] {
        return;
    }
    if length {
        let l = ((f.len() - 14).min(0xffff) as u16).to_be_bytes();
        f[16..18].copy_from_slice(&l);
    }
    let hl = (f[14] & 15) as usize * 4;
    if checksum && hl >= 20 && 14 + hl <= f.len() {
        f[24..26].copy_from_slice(&[0, 0]);
        let c = !fold(sum(&f[14..14 + hl]));
        f[24..26].copy_from_slice(&c.to_be_bytes());
    }
}

fn sum(b: &[u8]) -> u32 {
    b.chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum()
}

fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Panics unless `f`, sent on `side`, keeps the invariants in the module
/// documentation.
pub fn check_sent(side: Side, f: &[u8]) {
    let (mac, ip) = match side {
        Side::Inside => (INSIDE_MAC, INSIDE_IP),
        Side::Outside => (OUTSIDE_MAC, PUBLIC_IP),
    };
    assert!(f.len() >= 14, "{side:?}: runt frame {f:02x?}");
    assert_eq!(f[6..12], mac, "{side:?}: foreign source MAC {f:02x?}");
    match [f[12], f[13]] {
        [8, 6] => {
            assert!(f.len() >= 42, "{side:?}: short ARP {f:02x?}");
            assert_eq!(f[28..32], ip, "{side:?}: ARP from another address {f:02x?}");
        }
        [8, 0] => {
            let h = &f[14..];
            assert!(
                h.len() >= 20 && h[0] >> 4 == 4,
                "{side:?}: bad IPv4 {f:02x?}"
            );
            let hl = (h[0] & 15) as usize * 4;
            assert!(hl >= 20 && hl <= h.len(), "{side:?}: bad IHL {f:02x?}");
            assert_eq!(
                u16::from_be_bytes([h[2], h[3]]) as usize,
                h.len(),
                "{side:?}: IP length is not the frame's {f:02x?}"
            );
            assert_eq!(
                fold(sum(&h[..hl])),
                0xffff,
                "{side:?}: bad IP checksum {f:02x?}"
            );
            assert!(h[8] > 0, "{side:?}: TTL 0 sent {f:02x?}");
            if side == Side::Outside {
                assert_eq!(h[12..16], PUBLIC_IP, "inside address leaked {f:02x?}");
            }
        }
        t => panic!("{side:?}: sent EtherType {t:02x?}: {f:02x?}"),
    }
}

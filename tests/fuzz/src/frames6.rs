//! Fuzzes the IPv6 packet path: arbitrary Ethernet frames through the
//! NAT64 middlebox of `click-configs/nat64.click` (Classifier,
//! IP6NDAdvertiser, IP6NDSolicitor, CheckIP6Header, DecIP6HLIM,
//! ICMP6Error, NAT64, ARPResponder, ARPQuerier, CheckIPHeader, DecIPTTL),
//! its devices replaced by stand-ins. Nothing may panic, and every frame
//! it sends must be well formed: IPv6 with version 6 and a payload length
//! matching the frame, IPv4 with a correct header checksum and total
//! length, ARP, all from the middlebox's own MACs.
//!
//! An input is a sequence of records `FLAGS LEN FRAME` as for `frames`:
//! LEN bytes (0: the rest). FLAGS bit 0 picks the side (0 the IPv6 NIC, 1
//! the IPv4 NIC); bit 1 sets the IPv6 payload length (or IPv4 total length
//! and header checksum) from the frame; bits 3-5 first advance the clock
//! (0, 10 ms, 1 s, 30 s, 5 min, 1 h, 1 day, 0).

use click::net::{ip, ip6};
use click::packet::Packet;
use click::testing::{build_from_source, TestSink};
use click::time::Timestamp;
use click::Router;

const ADVANCE_MS: [i64; 8] = [0, 10, 1_000, 30_000, 300_000, 3_600_000, 86_400_000, 0];
const V6_MAC: [u8; 6] = [2, 0x64, 0, 0, 0, 1];
const V4_MAC: [u8; 6] = [2, 0x64, 0, 0, 0, 2];

/// The middlebox with its devices replaced.
pub struct Nat64Box {
    router: Router,
    ins: [usize; 2],
    outs: [usize; 2],
}

impl Default for Nat64Box {
    fn default() -> Self {
        Nat64Box::new()
    }
}

impl Nat64Box {
    /// Builds the router from the repository's config.
    pub fn new() -> Nat64Box {
        let text = include_str!("../../../click-configs/nat64.click")
            .replace("FromDevice(0)", "Idle")
            .replace("FromDevice(1)", "Idle")
            .replace("Queue(512) -> ToDevice(0)", "TestSink")
            .replace("Queue(512) -> ToDevice(1)", "TestSink");
        let (router, _host) = match build_from_source(&text) {
            Ok(r) => r,
            Err(e) => panic!("nat64.click: {e}"),
        };
        let find = |n: &str| router.find(n).expect("element");
        Nat64Box {
            ins: [find("c6"), find("c4")],
            outs: [find("to6"), find("to4")],
            router,
        }
    }

    /// Feeds every record of `data`; returns how many frames were sent.
    pub fn feed(&self, mut data: &[u8]) -> usize {
        let mut sent = 0;
        while data.len() >= 2 {
            let (flags, len) = (data[0], data[1] as usize);
            data = &data[2..];
            let n = if len == 0 { data.len() } else { len.min(data.len()) };
            let (frame, rest) = data.split_at(n);
            data = rest;
            let ms = ADVANCE_MS[(flags >> 3 & 7) as usize];
            if ms > 0 {
                let clock = self.router.clock();
                clock.advance_to(clock.now() + Timestamp::from_msec(ms));
                self.settle();
            }
            let mut f = frame.to_vec();
            if flags & 2 != 0 {
                fix_lengths(&mut f);
            }
            let side = usize::from(flags & 1);
            self.router.inject(self.ins[side], 0, Packet::from_slice(&f));
            self.settle();
            sent += self.take_sent();
        }
        sent
    }

    fn settle(&self) {
        for _ in 0..10_000 {
            if !matches!(self.router.step(), click::router::Step::Worked) {
                return;
            }
        }
        panic!("the router never settled");
    }

    fn take_sent(&self) -> usize {
        let mut n = 0;
        for (side, &eid) in self.outs.iter().enumerate() {
            let got = self
                .router
                .with_element(eid, |e, _| {
                    e.downcast_mut::<TestSink>()
                        .map(|s| core::mem::take(&mut s.got))
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            for (_, p) in got {
                check_sent(side, p.data());
                n += 1;
            }
        }
        n
    }
}

/// Sets the IPv6 payload length, or the IPv4 total length and checksum,
/// from the frame's length.
fn fix_lengths(f: &mut [u8]) {
    match f.get(12..14) {
        Some([0x86, 0xdd]) if f.len() >= 54 => {
            let l = (f.len() - 54) as u16;
            f[18..20].copy_from_slice(&l.to_be_bytes());
        }
        Some([0x08, 0x00]) if f.len() >= 34 => {
            let l = (f.len() - 14) as u16;
            f[16..18].copy_from_slice(&l.to_be_bytes());
            let hl = usize::from(f[14] & 15) * 4;
            if hl >= 20 && 14 + hl <= f.len() {
                ip::set_checksum(&mut f[14..], hl);
            }
        }
        _ => {}
    }
}

/// The invariants of a sent frame on `side` (0 IPv6, 1 IPv4).
fn check_sent(side: usize, f: &[u8]) {
    assert!(f.len() >= 14, "runt frame {f:02x?}");
    let mac = if side == 0 { V6_MAC } else { V4_MAC };
    assert_eq!(f[6..12], mac, "foreign source MAC: {f:02x?}");
    let ty = u16::from_be_bytes([f[12], f[13]]);
    match (side, ty) {
        (0, 0x86dd) => {
            let b = &f[14..];
            assert_eq!(ip6::check(b), Ok(b.len()), "bad IPv6 packet sent: {f:02x?}");
        }
        (1, 0x0800) => {
            let b = &f[14..];
            assert_eq!(ip::check(b, true).map(|(_, l)| l), Ok(b.len()), "bad IPv4 packet sent: {f:02x?}");
        }
        (1, 0x0806) => assert!(f.len() >= 42, "short ARP: {f:02x?}"),
        _ => panic!("unexpected frame on side {side}: {f:02x?}"),
    }
}

thread_local! {
    static BOX: Nat64Box = Nat64Box::new();
}

/// One input.
pub fn run(data: &[u8]) {
    BOX.with(|b| {
        b.feed(data);
    });
}

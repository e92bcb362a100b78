//! `VLANDecap([KEYWORDS])`: removes an 802.1Q tag from Ethernet frames.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! A frame of at least 18 bytes whose EtherType is `ETHERTYPE` loses its
//! 4-byte shim: the addresses move up over it, so the frame becomes an
//! ordinary Ethernet frame carrying the inner EtherType, and the IP header
//! annotation keeps pointing at the same bytes. Other frames pass
//! unchanged. The TCI of the last tag removed is kept for the `vlan_tci`
//! handler.
//!
//! # Keywords
//! * `ANNO` (bool, default true): accepted for Click compatibility; the
//!   engine has no VLAN TCI annotation, so nothing is set.
//! * `ETHERTYPE` (16-bit integer, default `0x8100`): the tag protocol
//!   identifier to remove (`0x88a8` for 802.1ad service tags).
//!
//! # Handlers
//! * `vlan_tci` (read): the TCI of the last tag removed (0 before any).
//! * `count` (read): tags removed.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> VLANDecap -> Classifier(12/0800, -) -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use super::vlan_encap::{SHIM_LEN, TPID_8021Q};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::net::ether;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `VLANDecap` class.
pub static CLASS: ElementClass = ElementClass {
    name: "VLANDecap",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let _anno: bool = args.keyword_or("ANNO", true)?;
        let tpid = args.keyword_or("ETHERTYPE", TPID_8021Q)?;
        Ok(Box::new(VlanDecap {
            tpid,
            last_tci: 0,
            count: 0,
        }))
    },
};

/// Untags Ethernet frames.
pub struct VlanDecap {
    tpid: u16,
    last_tci: u16,
    count: u64,
}

impl VlanDecap {
    fn strip(&mut self, p: &mut Packet) {
        let d = p.data();
        if d.len() < ether::HEADER_LEN + SHIM_LEN || ether::ethertype(d) != Some(self.tpid) {
            return;
        }
        self.last_tci = u16::from_be_bytes([d[14], d[15]]);
        self.count += 1;
        p.data_mut().copy_within(0..12, SHIM_LEN);
        p.pull(SHIM_LEN);
        p.set_mac_header(0);
    }
}

impl Element for VlanDecap {
    fn push(&mut self, cx: &Ctx, _port: usize, mut p: Packet) {
        self.strip(&mut p);
        cx.push(0, p);
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let mut p = cx.pull(0)?;
        self.strip(&mut p);
        Some(p)
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("vlan_tci"), HandlerDecl::read("count")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "vlan_tci" => self.last_tci.to_string(),
            _ => self.count.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::packet::Packet;
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn untags_and_round_trips_with_encap() {
        let (r, _) = router_from_source(
            "Idle -> e :: VLANEncap(VLAN_ID 7) -> d :: VLANDecap -> s :: TestSink;\
             Idle -> q :: VLANDecap(ETHERTYPE 0x88a8) -> t :: TestSink;",
        );
        let mut f: Vec<u8> = (1..=12).collect();
        f.extend([0x08, 0x00, 0x45, 0x00, 0x00, 0x14]);
        let mut p = Packet::from_slice(&f);
        p.set_ip_header(14, 20);
        r.inject(r.find("e").unwrap(), 0, p);
        assert_eq!(sink_contents(&r, "s"), [(0, f.clone())]);
        assert_eq!(r.read("d.vlan_tci").unwrap(), "7");
        let d = r.find("d").unwrap();
        // Untagged, short tagged, and wrong-TPID frames pass unchanged.
        let mut short = f[..12].to_vec();
        short.extend([0x81, 0x00, 0, 1, 8]);
        let mut qinq = f[..12].to_vec();
        qinq.extend([0x88, 0xa8, 0, 9, 8, 0]);
        for b in [&f, &short, &qinq] {
            r.inject(d, 0, Packet::from_slice(b));
        }
        let got = sink_contents(&r, "s");
        assert_eq!(got[1..], [(0, f.clone()), (0, short), (0, qinq.clone())]);
        assert_eq!(r.read("d.count").unwrap(), "1");
        r.inject(r.find("q").unwrap(), 0, Packet::from_slice(&qinq));
        let mut want = f[..12].to_vec();
        want.extend([8, 0]);
        assert_eq!(sink_contents(&r, "t"), [(0, want)]);
        assert!(crate::testing::build_from_source("Idle -> VLANDecap(ANNO x) -> Idle;").is_err());
    }
}

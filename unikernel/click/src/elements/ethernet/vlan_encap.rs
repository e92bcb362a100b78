//! `VLANEncap([VLAN_TCI, VLAN_PCP, KEYWORDS])`: adds an 802.1Q tag to Ethernet frames.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Inserts a 4-byte shim after the source address of each Ethernet frame:
//! `ETHERTYPE` (the tag protocol identifier) then the TCI. The frame's own
//! EtherType follows the shim, and the IP header annotation keeps pointing
//! at the same bytes. When the tag's VLAN ID equals `NATIVE_VLAN` the frame
//! passes untagged. Frames shorter than an Ethernet header are dropped.
//!
//! # Keywords
//! * `VLAN_TCI` (16-bit integer): the whole TCI (PCP, DEI and VLAN ID).
//! * `VLAN_ID` (0-4095): the VLAN ID; exactly one of `VLAN_TCI` and
//!   `VLAN_ID` is given.
//! * `VLAN_PCP` (0-7, default 0): the priority code point; replaces the
//!   TCI's top three bits.
//! * `NATIVE_VLAN` (-1 to 4095, default 0): frames on this VLAN ID are not
//!   tagged; -1 for none.
//! * `ETHERTYPE` (16-bit integer, default `0x8100`): the tag protocol
//!   identifier (`0x88a8` for 802.1ad service tags).
//!
//! # Handlers
//! * `vlan_tci` (read/write): the TCI, in decimal.
//! * `vlan_id` (read/write): the VLAN ID.
//! * `vlan_pcp` (read/write): the priority code point.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> VLANEncap(VLAN_ID 10, VLAN_PCP 3) -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::confparse::parse_written;
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::ether;
use crate::packet::Packet;
use crate::router::Ctx;

/// The default 802.1Q tag protocol identifier.
pub const TPID_8021Q: u16 = 0x8100;
/// Bytes an 802.1Q shim adds.
pub const SHIM_LEN: usize = 4;
/// The VLAN ID bits of a TCI.
const ID_MASK: u16 = 0x0FFF;

/// The `VLANEncap` class.
pub static CLASS: ElementClass = ElementClass {
    name: "VLANEncap",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let tci = args.optional::<u16>("VLAN_TCI")?;
        let pcp = args.optional::<u8>("VLAN_PCP")?;
        let id = args.keyword::<u16>("VLAN_ID")?;
        let native = args.keyword_or::<i32>("NATIVE_VLAN", 0)?;
        let tpid = args.keyword_or("ETHERTYPE", TPID_8021Q)?;
        let mut tci = match (tci, id) {
            (Some(t), None) => t,
            (None, Some(id)) if id <= ID_MASK => id,
            (None, Some(id)) => {
                return Err(ConfigError::bad_value(
                    "VLAN_ID",
                    "a VLAN ID (0-4095)",
                    &id.to_string(),
                ))
            }
            _ => {
                return Err(ConfigError::conflict(
                    "give exactly one of VLAN_TCI and VLAN_ID",
                ))
            }
        };
        if let Some(pcp) = pcp {
            tci = with_pcp(tci, pcp)?;
        }
        if !(-1..=ID_MASK as i32).contains(&native) {
            return Err(ConfigError::bad_value(
                "NATIVE_VLAN",
                "a VLAN ID (-1 to 4095)",
                &native.to_string(),
            ));
        }
        Ok(Box::new(VlanEncap { tci, native, tpid }))
    },
};

/// `tci` with its priority bits set to `pcp`.
fn with_pcp(tci: u16, pcp: u8) -> Result<u16, ConfigError> {
    if pcp > 7 {
        return Err(ConfigError::bad_value(
            "VLAN_PCP",
            "a priority (0-7)",
            &pcp.to_string(),
        ));
    }
    Ok((tci & 0x1FFF) | ((pcp as u16) << 13))
}

/// Tags Ethernet frames.
pub struct VlanEncap {
    tci: u16,
    native: i32,
    tpid: u16,
}

impl VlanEncap {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        if p.len() < ether::HEADER_LEN {
            cx.kill(p);
            return None;
        }
        if (self.tci & ID_MASK) as i32 == self.native {
            return Some(p);
        }
        // Grow at the front and slide the two addresses down, so the
        // payload (and any header annotation on it) stays where it was.
        p.push(SHIM_LEN);
        let d = p.data_mut();
        d.copy_within(SHIM_LEN..SHIM_LEN + 12, 0);
        d[12..14].copy_from_slice(&self.tpid.to_be_bytes());
        d[14..16].copy_from_slice(&self.tci.to_be_bytes());
        p.set_mac_header(0);
        Some(p)
    }
}

impl Element for VlanEncap {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::rw("vlan_tci"),
            HandlerDecl::rw("vlan_id"),
            HandlerDecl::rw("vlan_pcp"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "vlan_tci" => self.tci.to_string(),
            "vlan_id" => (self.tci & ID_MASK).to_string(),
            _ => (self.tci >> 13).to_string(),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "vlan_tci" => self.tci = parse_written(value)?,
            "vlan_id" => {
                let id: u16 = parse_written(value)?;
                if id > ID_MASK {
                    return Err(ConfigError::bad_value(
                        "vlan_id",
                        "a VLAN ID (0-4095)",
                        value,
                    ));
                }
                self.tci = (self.tci & !ID_MASK) | id;
            }
            _ => self.tci = with_pcp(self.tci, parse_written(value)?)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::packet::Packet;
    use crate::router::Router;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    fn setup(args: &str) -> Router {
        let src = alloc::format!("Idle -> v :: VLANEncap({args}) -> s :: TestSink;");
        router_from_source(&src).0
    }

    fn frame() -> Vec<u8> {
        let mut f: Vec<u8> = (1..=12).collect();
        f.extend([0x08, 0x00, 0x45, 0x00]);
        f
    }

    #[test]
    fn tags_frames_and_keeps_ip_annotation() {
        let r = setup("VLAN_ID 10, VLAN_PCP 3");
        let v = r.find("v").unwrap();
        let mut p = Packet::from_slice(&frame());
        p.set_ip_header(14, 20);
        r.inject(v, 0, p);
        r.inject(v, 0, Packet::from_slice(&[0; 13]));
        let got = sink_contents(&r, "s");
        let mut want: Vec<u8> = (1..=12).collect();
        want.extend([0x81, 0x00, 0x60, 0x0a, 0x08, 0x00, 0x45, 0x00]);
        assert_eq!(got, [(0, want)]);
        assert_eq!(r.read("v.vlan_tci").unwrap(), "24586");
        assert_eq!(r.read("v.vlan_pcp").unwrap(), "3");
        r.write("v.vlan_id", "4095").unwrap();
        assert_eq!(r.read("v.vlan_id").unwrap(), "4095");
        assert!(r.write("v.vlan_id", "4096").is_err());
        assert!(r.write("v.vlan_pcp", "8").is_err());
    }

    #[test]
    fn native_vlan_tci_and_ethertype() {
        let r = setup("0x2005, ETHERTYPE 0x88a8, NATIVE_VLAN 5");
        let v = r.find("v").unwrap();
        r.inject(v, 0, Packet::from_slice(&frame()));
        assert_eq!(sink_contents(&r, "s"), [(0, frame())]);
        let r = setup("0x2005, NATIVE_VLAN -1, ETHERTYPE 0x88a8");
        let v = r.find("v").unwrap();
        r.inject(v, 0, Packet::from_slice(&frame()));
        assert_eq!(
            &sink_contents(&r, "s")[0].1[12..16],
            &[0x88, 0xa8, 0x20, 0x05]
        );
        // VLAN 0 is the default native VLAN: untagged.
        let r = setup("VLAN_ID 0");
        let v = r.find("v").unwrap();
        r.inject(v, 0, Packet::from_slice(&frame()));
        assert_eq!(sink_contents(&r, "s")[0].1.len(), 16);
    }

    #[test]
    fn argument_errors() {
        for bad in [
            "",
            "1, VLAN_ID 2",
            "VLAN_ID 4096",
            "1, 8",
            "1, NATIVE_VLAN -2",
            "ANNO",
        ] {
            let src = alloc::format!("Idle -> VLANEncap({bad}) -> Idle;");
            assert!(build_from_source(&src).is_err(), "{bad}");
        }
    }
}

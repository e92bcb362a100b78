//! `IPsecEncap(PROTO)`: prepends a tunnel's outer IP header, to the destination address annotation (the tunnel's gateway).
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Pushes a 20-byte IP header with protocol `PROTO` (a number or a name;
//! 50, ESP, in a tunnel), destination the packet's destination address
//! annotation (`RadixIPsecLookup` set it to the tunnel route's gateway),
//! source 0.0.0.0 with the fix-IP-source annotation set (so `FixIPSrc`
//! on the way out writes the interface's address), TTL 250, TOS 0, an ID
//! counting up from 0, the total length and the header checksum. The IP
//! header and destination annotations are set. Packets that would exceed
//! 65535 bytes are dropped.
//!
//! # Keywords
//! * `PROTO` (IP protocol): the outer header's protocol.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! IPsecAES(1) -> IPsecEncap(50) -> [0] rt;
//! ```

use alloc::boxed::Box;
use alloc::string::String;

use crate::element::{simple_action, Element, ElementClass};
use crate::elements::ip::ip_encap::ip_protocol;
use crate::error::ConfigError;
use crate::net::ip;
use crate::packet::{anno, Packet};
use crate::router::Ctx;

/// The `IPsecEncap` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPsecEncap",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let text = args.required::<String>("PROTO")?;
        let proto = ip_protocol(&text)
            .ok_or_else(|| ConfigError::bad_value("PROTO", "an IP protocol", &text))?;
        Ok(Box::new(IpsecEncap { proto, id: 0 }))
    },
};

/// The outer header writer.
pub struct IpsecEncap {
    proto: u8,
    id: u16,
}

impl IpsecEncap {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let total = p.len() + ip::MIN_HEADER_LEN;
        if total > usize::from(u16::MAX) {
            cx.kill(p);
            return None;
        }
        let dst = p.dst_ip_anno();
        p.push(ip::MIN_HEADER_LEN);
        let h = &mut p.data_mut()[..ip::MIN_HEADER_LEN];
        h.fill(0);
        h[0] = 0x45;
        ip::put16(h, 2, total as u16);
        ip::put16(h, 4, self.id);
        self.id = self.id.wrapping_add(1);
        h[ip::TTL_OFF] = 250;
        h[9] = self.proto;
        h[ip::DST_OFF..ip::DST_OFF + 4].copy_from_slice(&dst);
        ip::set_checksum(h, ip::MIN_HEADER_LEN);
        p.set_ip_header(0, ip::MIN_HEADER_LEN);
        p.set_anno_u8(anno::FIX_IP_SRC, 1);
        Some(p)
    }
}

impl Element for IpsecEncap {
    simple_action!();
}

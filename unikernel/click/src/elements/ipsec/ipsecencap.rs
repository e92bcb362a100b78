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
//! * `src`, `dst` (read/write): the source (0.0.0.0) and destination
//!   (`DST_ANNO`, the annotation) as `IPEncap`'s.
//!
//! # Example
//! ```text
//! IPsecAES(1) -> IPsecEncap(50) -> [0] rt;
//! ```

use alloc::boxed::Box;
use alloc::string::String;

use crate::element::ElementClass;
use crate::elements::ip::ip_encap::{ip_protocol, IpEncap};
use crate::error::ConfigError;

/// The `IPsecEncap` class: an `IPEncap` to the annotation, marked for
/// `FixIPSrc`.
pub static CLASS: ElementClass = ElementClass {
    name: "IPsecEncap",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let text = args.required::<String>("PROTO")?;
        let proto = ip_protocol(&text)
            .ok_or_else(|| ConfigError::bad_value("PROTO", "an IP protocol", &text))?;
        Ok(Box::new(IpEncap::tunnel(proto)))
    },
};

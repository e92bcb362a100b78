//! `SetPacketType(TYPE)`: sets the packet type annotation.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Sets every packet's link-level packet type annotation to TYPE: one of
//! `HOST`, `BROADCAST`, `MULTICAST`, `OTHERHOST`, `OUTGOING`, `LOOPBACK`,
//! `FASTROUTE` (upper or lower case), as Click names them.
//!
//! # Keywords
//! * `TYPE` (packet type): the annotation's value.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> SetPacketType(BROADCAST) -> DropBroadcasts -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::String;

use crate::element::{in_place_action, Element, ElementClass};
use crate::error::ConfigError;
use crate::packet::PacketType;

/// The `SetPacketType` class.
pub static CLASS: ElementClass = ElementClass {
    name: "SetPacketType",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let t = args.required::<String>("TYPE")?;
        let ty = match t.to_ascii_uppercase().as_str() {
            "HOST" => PacketType::Host,
            "BROADCAST" => PacketType::Broadcast,
            "MULTICAST" => PacketType::Multicast,
            "OTHERHOST" => PacketType::OtherHost,
            "OUTGOING" => PacketType::Outgoing,
            "LOOPBACK" => PacketType::Loopback,
            "FASTROUTE" => PacketType::FastRoute,
            _ => return Err(ConfigError::bad_value("TYPE", "a packet type", &t)),
        };
        Ok(Box::new(SetPacketType(ty)))
    },
};

/// Writes the annotation.
pub struct SetPacketType(PacketType);

impl Element for SetPacketType {
    in_place_action!(|el, p| p.anno_mut().packet_type = el.0);
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source};

    #[test]
    fn marked_broadcasts_are_dropped_downstream() {
        let (r, _) = router_from_source(
            "Idle -> a :: SetPacketType(broadcast) -> d :: DropBroadcasts -> Discard;\n\
             Idle -> b :: SetPacketType(OTHERHOST) -> d;",
        );
        r.inject(r.find("a").unwrap(), 0, Packet::from_slice(&[1]));
        r.inject(r.find("b").unwrap(), 0, Packet::from_slice(&[2]));
        assert_eq!(r.read("d.drops").unwrap(), "1");
        let e = alloc::format!(
            "{}",
            build_from_source("Idle -> SetPacketType(BOGUS) -> Discard;")
                .err()
                .unwrap()
        );
        assert!(e.contains("a packet type"), "{e}");
    }
}

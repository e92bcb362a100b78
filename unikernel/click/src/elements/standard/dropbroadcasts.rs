//! `DropBroadcasts`: drops packets that arrived as link-level broadcasts
//! or multicasts.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Drops a packet whose packet type annotation is broadcast or multicast
//! (as set by the device that received it, or by `SetPacketType`); passes
//! the others.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `drops` (read): packets dropped.
//!
//! # Example
//! ```text
//! FromDevice(0) -> Strip(14) -> CheckIPHeader -> DropBroadcasts -> ...
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::packet::{Packet, PacketType};
use crate::router::Ctx;

/// The `DropBroadcasts` class.
pub static CLASS: ElementClass = ElementClass {
    name: "DropBroadcasts",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |_, _| Ok(Box::new(DropBroadcasts { drops: 0 })),
};

/// Drops link-level broadcasts.
pub struct DropBroadcasts {
    drops: u64,
}

impl DropBroadcasts {
    fn action(&mut self, cx: &Ctx, p: Packet) -> Option<Packet> {
        match p.anno().packet_type {
            PacketType::Broadcast | PacketType::Multicast => {
                self.drops += 1;
                cx.kill(p);
                None
            }
            _ => Some(p),
        }
    }
}

impl Element for DropBroadcasts {
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
    use crate::packet::{Packet, PacketType};
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn drops_broadcast_and_multicast() {
        let (r, _) = router_from_source("Idle -> d :: DropBroadcasts -> s :: TestSink;");
        let d = r.find("d").unwrap();
        for (i, t) in [
            PacketType::Host,
            PacketType::Broadcast,
            PacketType::Multicast,
            PacketType::OtherHost,
        ]
        .into_iter()
        .enumerate()
        {
            let mut p = Packet::from_slice(&[i as u8]);
            p.anno_mut().packet_type = t;
            r.inject(d, 0, p);
        }
        let got: alloc::vec::Vec<u8> = sink_contents(&r, "s").iter().map(|x| x.1[0]).collect();
        assert_eq!(got, [0, 3]);
        assert_eq!(r.read("d.drops").unwrap(), "2");
    }
}

//! `GetIP6Address(OFFSET)`: copies an IPv6 address from the packet into
//! the destination IPv6 annotation.
//!
//! `SetIP6Address(ADDR)`: sets the destination IPv6 annotation to ADDR.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! `GetIP6Address` copies the 16 bytes at `OFFSET` (24: the destination of
//! an IPv6 header at the start of the packet) into the destination IPv6
//! annotation, which `LookupIP6Route` and `IP6NDSolicitor` use. A packet
//! too short for them passes unchanged. `SetIP6Address` stores ADDR
//! there.
//!
//! # Keywords
//! * `OFFSET` (integer): where the address starts (`GetIP6Address`).
//! * `ADDR` (IPv6 address): the address (`SetIP6Address`).
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! ... -> CheckIP6Header -> GetIP6Address(24) -> rt :: LookupIP6Route(::/0 ::0 0);
//! ```

use alloc::boxed::Box;

use crate::confparse::Ipv6;
use crate::element::{in_place_action, Element, ElementClass};
use crate::packet::Packet;

/// The `GetIP6Address` class.
pub static CLASS: ElementClass = ElementClass {
    name: "GetIP6Address",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let offset = args.required::<usize>("OFFSET")?;
        Ok(Box::new(GetIp6Address { offset }))
    },
};

/// The `SetIP6Address` class.
pub static SET: ElementClass = ElementClass {
    name: "SetIP6Address",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let addr = args.required::<Ipv6>("ADDR")?;
        Ok(Box::new(SetIp6Address(addr.0)))
    },
};

/// Copies an address into the annotation.
pub struct GetIp6Address {
    offset: usize,
}

impl GetIp6Address {
    fn get(&self, p: &mut Packet) {
        let Some(b) = p.data().get(self.offset..self.offset + 16) else {
            return;
        };
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        p.set_dst_ip6_anno(a);
    }
}

impl Element for GetIp6Address {
    in_place_action!(|el, p| el.get(p));
}

/// Sets the annotation to a fixed address.
pub struct SetIp6Address([u8; 16]);

impl Element for SetIp6Address {
    in_place_action!(|el, p| p.set_dst_ip6_anno(el.0));
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{router_from_source, TestSink};

    #[test]
    fn copies_and_sets_the_annotation() {
        let (r, _) = router_from_source(
            "Idle -> g :: GetIP6Address(24) -> s :: TestSink; Idle -> t :: SetIP6Address(fd00::7) -> s2 :: TestSink;",
        );
        let b: alloc::vec::Vec<u8> = (0..40).collect();
        r.inject(r.find("g").unwrap(), 0, Packet::from_slice(&b));
        r.inject(r.find("t").unwrap(), 0, Packet::from_slice(&b));
        r.with_element(r.find("s").unwrap(), |e, _| {
            let s = e.downcast_ref::<TestSink>().unwrap();
            assert_eq!(s.got[0].1.dst_ip6_anno()[..], b[24..40]);
        });
        r.with_element(r.find("s2").unwrap(), |e, _| {
            let s = e.downcast_ref::<TestSink>().unwrap();
            let a = s.got[0].1.dst_ip6_anno();
            assert_eq!((a[0], a[1], a[15]), (0xfd, 0, 7));
        });
    }
}

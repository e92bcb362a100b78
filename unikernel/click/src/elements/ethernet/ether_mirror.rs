//! `EtherMirror`: swaps the Ethernet source and destination addresses.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Exchanges bytes 0–5 and 6–11 of each packet. A packet shorter than 12
//! bytes passes unchanged (Click would read past its end).
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! ICMPPingResponder -> Unstrip(14) -> EtherMirror -> Discard;
//! ```

use alloc::boxed::Box;

use crate::element::{in_place_action, Element, ElementClass};
use crate::packet::Packet;

/// The `EtherMirror` class.
pub static CLASS: ElementClass = ElementClass {
    name: "EtherMirror",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(EtherMirror)),
};

/// Swaps Ethernet addresses.
pub struct EtherMirror;

fn mirror(p: &mut Packet) {
    if let Some(h) = p.data_mut().get_mut(..12) {
        let (d, s) = h.split_at_mut(6);
        d.swap_with_slice(s);
    }
}

impl Element for EtherMirror {
    in_place_action!(|_, p| mirror(p));
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{flat, router, sink_contents};

    #[test]
    fn swaps_and_tolerates_runts() {
        let (r, _) = router(flat(
            &[
                ("m", "EtherMirror", ""),
                ("s", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (2, 0, 0, 0)],
        ));
        let f: alloc::vec::Vec<u8> = (0u8..16).collect();
        r.inject(0, 0, Packet::from_slice(&f));
        r.inject(0, 0, Packet::from_slice(&[1, 2, 3]));
        let got = sink_contents(&r, "s");
        assert_eq!(
            got[0].1,
            [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 12, 13, 14, 15]
        );
        assert_eq!(got[1].1, [1, 2, 3]);
    }
}

//! `Unstrip(LENGTH)`: puts LENGTH bytes back on the front of each packet.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Moves the start of the data LENGTH bytes back into the headroom. The
//! bytes there are whatever the buffer held, so after `Strip(LENGTH)` the
//! original header reappears. A packet without enough headroom is copied
//! into a larger buffer (the new bytes are then zero).
//!
//! # Keywords
//! * `LENGTH` (unsigned): bytes to restore.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! ... -> Strip(14) -> CheckIPHeader -> Unstrip(14) -> ToDump(out.pcap);
//! ```

use alloc::boxed::Box;

use crate::element::{in_place_action, Element, ElementClass};
use crate::error::ConfigError;
use crate::packet::MAX_CONFIG_LEN;

/// The `Unstrip` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Unstrip",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let n = args.required::<u32>("LENGTH")? as usize;
        // Each packet grows by LENGTH: more than a packet can hold would
        // be an allocation per packet the config sized.
        if n > MAX_CONFIG_LEN {
            return Err(ConfigError::out_of_range(alloc::format!(
                "LENGTH {n} is too large (at most {MAX_CONFIG_LEN})"
            )));
        }
        Ok(Box::new(Unstrip(n)))
    },
};

/// Restores bytes at the front.
pub struct Unstrip(usize);

impl Element for Unstrip {
    in_place_action!(|el, p| p.push(el.0));
}

#[cfg(test)]
mod tests {
    use crate::batch::Batch;
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{router, sink_contents};
    use alloc::vec;

    #[test]
    fn lengths_beyond_a_packet_are_refused() {
        for n in ["65536", "4294967295"] {
            let e = crate::testing::build(fed(
                &[("u", "Unstrip", n), ("s", "TestSink", "")],
                &[(0, 0, 1, 0)],
            ))
            .err()
            .expect("accepted");
            assert!(alloc::format!("{e}").contains("at most 65535"), "{e}");
        }
    }

    #[test]
    fn unstrip_beyond_headroom_grows_with_zeros() {
        let (r, _) = router(fed(
            &[("u", "Unstrip", "2"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)],
        ));
        r.inject(0, 0, Packet::with_room(1, 1, 0));
        let mut b = Batch::new();
        b.push(Packet::with_room(0, 1, 0)).unwrap();
        r.with_element(0, |e, cx| e.push_batch(cx, 0, b));
        assert_eq!(
            sink_contents(&r, "s"),
            vec![(0, vec![0, 0, 0]), (0, vec![0, 0, 0])]
        );
    }
}

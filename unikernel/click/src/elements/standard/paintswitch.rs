//! `PaintSwitch([ANNO])`: sends each packet out the output its paint
//! annotation names.
//!
//! # Ports
//! One push input; any number of push outputs.
//!
//! # Processing
//! A packet painted N goes to output N; if there is no output N it is
//! dropped. Colour 255 means every output: copies go to outputs 0 to n-2,
//! then the original to the last.
//!
//! # Keywords
//! * `ANNO` (annotation name or byte offset): the one-byte annotation to
//!   read (default `PAINT`).
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! ps :: PaintSwitch;
//! ps[0] -> Discard; ps[1] -> ToDump(one.pcap);
//! ```

use alloc::boxed::Box;

use super::paint::anno_arg;
use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `PaintSwitch` class.
pub static CLASS: ElementClass = ElementClass {
    name: "PaintSwitch",
    ports: "1/-",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        Ok(Box::new(PaintSwitch {
            anno: anno_arg(args, 1)?,
        }))
    },
};

/// Switches on the paint annotation.
pub struct PaintSwitch {
    anno: usize,
}

impl Element for PaintSwitch {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let c = p.anno_u8(self.anno).unwrap_or(0) as usize;
        let n = cx.noutputs();
        if c != 0xFF {
            // Pushing to an output that does not exist drops the packet.
            cx.push(c, p);
        } else if n == 0 {
            cx.kill(p);
        } else {
            for i in 0..n - 1 {
                if let Some(q) = cx.clone_packet(&p) {
                    cx.push(i, q);
                }
            }
            cx.push(n - 1, p);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::{fed, painted};
    use crate::testing::{router, sink_contents};
    use alloc::vec;

    #[test]
    fn routes_by_colour_drops_missing_and_floods_255() {
        let (r, _) = router(fed(
            &[("ps", "PaintSwitch", ""), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1)],
        ));
        r.inject(0, 0, painted(1, 1));
        r.inject(0, 0, painted(9, 2));
        r.inject(0, 0, painted(0, 3));
        r.inject(0, 0, painted(255, 4));
        assert_eq!(
            sink_contents(&r, "s"),
            vec![(1, vec![1]), (0, vec![3]), (0, vec![4]), (1, vec![4])]
        );
    }
}

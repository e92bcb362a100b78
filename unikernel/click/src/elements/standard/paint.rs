//! `Paint(COLOR [, ANNO])`: sets a packet's paint annotation.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Sets the one-byte annotation at ANNO (default the paint annotation,
//! `PAINT`) to COLOR (0-255), then passes the packet on.
//!
//! # Keywords
//! * `COLOR` (0-255): the colour.
//! * `ANNO` (annotation name or byte offset): where to write it.
//!
//! # Handlers
//! * `color` (read/write): the colour.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Paint(2) -> PaintSwitch -> ...
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::batch::Batch;
use crate::confparse::{Args, FromArg};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::{anno, Packet, ANNO_SIZE};
use crate::router::Ctx;

/// The `Paint` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Paint",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let color = args.required::<u8>("COLOR")?;
        let anno = anno_arg(args, 1)?;
        Ok(Box::new(Paint { color, anno }))
    },
};

/// Click's named user annotations: (name, offset, size).
const NAMES: &[(&str, usize, usize)] = &[
    ("DST_IP", anno::DST_IP, 4),
    ("PAINT", anno::PAINT, 1),
    ("ICMP_PARAMPROB", anno::ICMP_PARAMPROB, 1),
    ("FIX_IP_SRC", anno::FIX_IP_SRC, 1),
    ("FWD_RATE", anno::FWD_RATE, 4),
    ("REV_RATE", anno::REV_RATE, 4),
    ("AGGREGATE", anno::AGGREGATE, 4),
    ("EXTRA_PACKETS", anno::EXTRA_PACKETS, 4),
    ("EXTRA_LENGTH", anno::EXTRA_LENGTH, 4),
    ("FIRST_TIMESTAMP", anno::FIRST_TIMESTAMP, 8),
];

/// Parses an annotation of `size` bytes (Click's `AnnoArg`): a name such as
/// `PAINT`, or a byte offset into the user annotation area.
pub fn parse_anno(s: &str, size: usize) -> Option<usize> {
    let s = s.trim();
    if let Some(&(_, off, sz)) = NAMES.iter().find(|(n, _, _)| *n == s) {
        return (sz == size).then_some(off);
    }
    let off = crate::confparse::values::parse_u64(s)? as usize;
    (off + size <= ANNO_SIZE).then_some(off)
}

/// Reads the optional `ANNO` argument for a `size`-byte annotation; the
/// default is the paint annotation.
pub fn anno_arg(args: &mut Args, size: usize) -> Result<usize, String> {
    match args.optional::<String>("ANNO")? {
        None => Ok(anno::PAINT),
        Some(a) => parse_anno(&a, size).ok_or_else(|| {
            alloc::format!(
                "ANNO: expected an annotation name or offset below {ANNO_SIZE}, got '{a}'"
            )
        }),
    }
}

/// Reads a colour for a `color` write handler.
pub fn color_value(v: &str) -> Result<u8, String> {
    u8::from_arg(v).ok_or_else(|| alloc::format!("expected a colour 0-255, got '{}'", v.trim()))
}

/// Sets the paint annotation.
pub struct Paint {
    color: u8,
    anno: usize,
}

impl Element for Paint {
    #[inline]
    fn push(&mut self, cx: &Ctx, _port: usize, mut p: Packet) {
        p.set_anno_u8(self.anno, self.color);
        cx.push(0, p);
    }

    fn push_batch(&mut self, cx: &Ctx, _port: usize, mut b: Batch) {
        for p in b.iter_mut() {
            p.set_anno_u8(self.anno, self.color);
        }
        cx.push_batch(0, b);
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let mut p = cx.pull(0)?;
        p.set_anno_u8(self.anno, self.color);
        Some(p)
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("color")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.color.to_string()
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), String> {
        self.color = color_value(value)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_anno;
    use crate::batch::Batch;
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::TestSink;
    use crate::testing::{build, router};
    use alloc::vec::Vec;

    fn paints(r: &crate::Router, sink: &str) -> Vec<(u8, u8)> {
        let s = r.find(sink).unwrap();
        r.with_element(s, |e, _| {
            e.downcast_ref::<TestSink>()
                .unwrap()
                .got
                .iter()
                .map(|(_, p)| (p.paint(), p.anno_u8(20).unwrap()))
                .collect()
        })
        .unwrap()
    }

    #[test]
    fn paints_packets_and_batches_and_handler() {
        let (r, _) = router(fed(
            &[
                ("p", "Paint", "7"),
                ("q", "Paint", "COLOR 3, ANNO 20"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0)],
        ));
        r.inject(0, 0, Packet::new(1));
        let mut b = Batch::new();
        b.push(Packet::new(1)).unwrap();
        r.with_element(0, |e, cx| e.push_batch(cx, 0, b));
        r.write("p.color", "200").unwrap();
        r.inject(0, 0, Packet::new(1));
        assert_eq!(paints(&r, "s"), [(7, 3), (7, 3), (200, 3)]);
        assert_eq!(r.read("p.color").unwrap(), "200");
        assert!(r.write("p.color", "256").is_err());
    }

    #[test]
    fn argument_errors() {
        for cfg in ["", "256", "1, ANNO 48", "1, ANNO BOGUS", "1, 2, 3"] {
            assert!(
                build(fed(
                    &[("p", "Paint", cfg), ("s", "TestSink", "")],
                    &[(0, 0, 1, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
        assert_eq!(parse_anno("PAINT", 1), Some(16));
        assert_eq!(parse_anno("DST_IP", 1), None);
        assert_eq!(parse_anno("47", 1), Some(47));
        assert_eq!(parse_anno("47", 4), None);
    }
}

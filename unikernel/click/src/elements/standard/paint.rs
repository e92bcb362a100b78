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

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::String;

use crate::confparse::Args;
use crate::element::{in_place_action, Element, ElementClass};
use crate::packet::{anno, Packet, ANNO_SIZE};

/// The `Paint` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Paint",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| Ok(Box::new(Paint(Colour::from_args(args)?))),
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
pub fn anno_arg(args: &mut Args, size: usize) -> Result<usize, ConfigError> {
    match args.optional::<String>("ANNO")? {
        None => Ok(anno::PAINT),
        Some(a) => parse_anno(&a, size).ok_or_else(|| {
            let what = alloc::format!("an annotation name or offset below {ANNO_SIZE}");
            ConfigError::bad_value("ANNO", &what, &a)
        }),
    }
}

/// The `COLOR [, ANNO]` setting Paint, PaintTee and CheckPaint share, with
/// its `color` handler.
pub struct Colour {
    /// Written by the `color` handler.
    pub(super) color: u8,
    anno: usize,
}

impl Colour {
    /// Reads the `COLOR` and `ANNO` arguments.
    pub fn from_args(args: &mut Args) -> Result<Self, ConfigError> {
        let color = args.required::<u8>("COLOR")?;
        let anno = anno_arg(args, 1)?;
        Ok(Colour { color, anno })
    }

    /// Whether `p` is painted this colour.
    #[inline]
    pub fn matches(&self, p: &Packet) -> bool {
        p.anno_u8(self.anno) == Some(self.color)
    }

    /// Paints `p` this colour.
    #[inline]
    pub fn paint(&self, p: &mut Packet) {
        p.set_anno_u8(self.anno, self.color);
    }
}

/// Writes the `color` handler (read/write) inside an `impl Element` block
/// for an element whose `self.0` is a [`Colour`].
macro_rules! colour_handler {
    () => {
        fn handlers(&self) -> &'static [$crate::element::HandlerDecl] {
            const H: &[$crate::element::HandlerDecl] = &[$crate::element::HandlerDecl::rw("color")];
            H
        }

        fn read_handler(&self, _cx: &$crate::router::Ctx, _name: &str) -> alloc::string::String {
            alloc::string::ToString::to_string(&self.0.color)
        }

        fn write_handler(
            &mut self,
            _cx: &$crate::router::Ctx,
            _name: &str,
            value: &str,
        ) -> Result<(), $crate::error::ConfigError> {
            self.0.color = $crate::confparse::parse_written(value)?;
            Ok(())
        }
    };
}
pub(super) use colour_handler;

/// Sets the paint annotation.
pub struct Paint(Colour);

impl Element for Paint {
    in_place_action!(|el, p| el.0.paint(p));
    colour_handler!();
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

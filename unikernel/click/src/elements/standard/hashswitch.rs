//! `HashSwitch(OFFSET, LENGTH)`: sends each packet to an output chosen by
//! a hash of some of its bytes.
//!
//! # Ports
//! One push input; one or more push outputs.
//!
//! # Processing
//! Sums the LENGTH bytes starting at OFFSET. With 2, 4 or 8 outputs the
//! output is `(sum ^ (sum >> 4)) & (n - 1)`, otherwise `sum % n`. Packets
//! too short to hold those bytes go to output 0. Packets of one flow (equal
//! hashed bytes) always take the same output.
//!
//! # Keywords
//! * `OFFSET` (unsigned): first byte hashed.
//! * `LENGTH` (unsigned, > 0): bytes hashed.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! // IP source and destination of Ethernet frames
//! FromDump(in.pcap) -> hs :: HashSwitch(26, 8);
//! hs[0] -> ToDump(a.pcap); hs[1] -> ToDump(b.pcap);
//! ```

use alloc::boxed::Box;

use crate::element::{Element, ElementClass};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `HashSwitch` class.
pub static CLASS: ElementClass = ElementClass {
    name: "HashSwitch",
    ports: "1/1-",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        let offset = args.required::<u32>("OFFSET")? as usize;
        let length = args.required::<u32>("LENGTH")? as usize;
        if length == 0 {
            return Err(ConfigError::out_of_range("LENGTH must be > 0"));
        }
        Ok(Box::new(HashSwitch { offset, length }))
    },
};

/// Hash switch.
pub struct HashSwitch {
    offset: usize,
    length: usize,
}

impl HashSwitch {
    /// The output for `data` with `n` outputs.
    fn output(&self, data: &[u8], n: usize) -> usize {
        let Some(bytes) = data.get(self.offset..self.offset + self.length) else {
            return 0;
        };
        let d: usize = bytes.iter().map(|&b| b as usize).sum();
        if matches!(n, 2 | 4 | 8) {
            (d ^ (d >> 4)) & (n - 1)
        } else {
            d % n.max(1)
        }
    }
}

impl Element for HashSwitch {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let o = self.output(p.data(), cx.noutputs());
        cx.push(o, p);
    }
}

#[cfg(test)]
mod tests {
    use super::HashSwitch;
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};

    #[test]
    fn click_hash() {
        let h = HashSwitch {
            offset: 1,
            length: 2,
        };
        // d = 0x30 + 0x05 = 53; (53 ^ 3) & 1 = 0; & 3 = 2.
        assert_eq!(h.output(&[0xff, 0x30, 0x05], 2), 0);
        assert_eq!(h.output(&[0xff, 0x30, 0x05], 4), 2);
        assert_eq!(h.output(&[0xff, 0x30, 0x05], 8), 6);
        // Other counts: d % n.
        assert_eq!(h.output(&[0xff, 0x30, 0x05], 3), 53 % 3);
        // Too short: output 0.
        assert_eq!(h.output(&[0xff, 0x30], 4), 0);
    }

    #[test]
    fn routes_and_rejects_bad_arguments() {
        let (r, _) = router(fed(
            &[("h", "HashSwitch", "0, 1"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1)],
        ));
        r.inject(0, 0, Packet::from_slice(&[0x11]));
        r.inject(0, 0, Packet::from_slice(&[0x10]));
        let got = sink_contents(&r, "s");
        // 0x11: (17 ^ 1) & 1 = 0; 0x10: (16 ^ 1) & 1 = 1.
        assert_eq!(got[0].0, 0);
        assert_eq!(got[1].0, 1);
        for cfg in ["", "1", "1, 0", "x, 1", "1, 2, 3"] {
            assert!(
                build(fed(
                    &[("h", "HashSwitch", cfg), ("s", "TestSink", "")],
                    &[(0, 0, 1, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
    }
}

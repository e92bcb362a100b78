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
            return Err("LENGTH must be > 0".into());
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

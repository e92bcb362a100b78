//! `RandomSwitch`: sends each packet to an output chosen at random.
//!
//! # Ports
//! One push input; one or more push outputs.
//!
//! # Processing
//! Each packet goes to an output picked uniformly at random (from a
//! per-element pseudo-random generator, so runs are repeatable).
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> rs :: RandomSwitch;
//! rs[0] -> ToDump(a.pcap); rs[1] -> ToDump(b.pcap);
//! ```

use alloc::boxed::Box;

use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `RandomSwitch` class.
pub static CLASS: ElementClass = ElementClass {
    name: "RandomSwitch",
    ports: "1/1-",
    processing: "h/h",
    phase: 0,
    make: |_, _| {
        Ok(Box::new(RandomSwitch {
            state: 0x2545_F491_4F6C_DD1D,
        }))
    },
};

/// Random switch.
pub struct RandomSwitch {
    state: u64,
}

impl RandomSwitch {
    /// xorshift64*: fast, and good enough to spread packets.
    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

impl Element for RandomSwitch {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let n = cx.noutputs().max(1) as u64;
        // The high bits are the best mixed.
        let o = ((self.next() >> 32) * n) >> 32;
        cx.push(o as usize, p);
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{router, sink_contents};

    #[test]
    fn uses_every_output() {
        let (r, _) = router(fed(
            &[("rs", "RandomSwitch", ""), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1), (0, 2, 1, 2)],
        ));
        for _ in 0..300 {
            r.inject(0, 0, Packet::new(1));
        }
        let got = sink_contents(&r, "s");
        for port in 0..3 {
            let n = got.iter().filter(|(p, _)| *p == port).count();
            assert!(n > 50, "output {port} got {n}");
        }
    }
}

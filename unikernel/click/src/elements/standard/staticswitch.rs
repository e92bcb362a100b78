//! `StaticSwitch(OUTPUT)`: sends every packet to one fixed output.
//!
//! # Ports
//! One push input; any number of push outputs.
//!
//! # Processing
//! Every packet goes to output OUTPUT. If OUTPUT is negative or there is
//! no such output, packets are dropped.
//!
//! # Keywords
//! * `OUTPUT` (integer): the output.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! s :: StaticSwitch(1);
//! s[0] -> ToDump(a.pcap); s[1] -> ToDump(b.pcap);
//! ```

use alloc::boxed::Box;

use crate::element::{Element, ElementClass};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `StaticSwitch` class.
pub static CLASS: ElementClass = ElementClass {
    name: "StaticSwitch",
    ports: "1/-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| {
        let o = args.required::<i32>("OUTPUT")?;
        let output = usize::try_from(o).ok().filter(|&o| o < cx.noutputs());
        Ok(Box::new(StaticSwitch { output }))
    },
};

/// Fixed switch.
pub struct StaticSwitch {
    output: Option<usize>,
}

impl Element for StaticSwitch {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        match self.output {
            Some(o) => cx.push(o, p),
            None => cx.kill(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use alloc::vec;

    #[test]
    fn fixed_output_or_drop() {
        let conns = [(0, 0, 1, 0), (0, 1, 1, 1)];
        let (r, _) = router(fed(
            &[("w", "StaticSwitch", "1"), ("s", "TestSink", "")],
            &conns,
        ));
        r.inject(0, 0, Packet::from_slice(&[1]));
        assert_eq!(sink_contents(&r, "s"), vec![(1, vec![1])]);
        let (r, _) = router(fed(
            &[("w", "StaticSwitch", "5"), ("s", "TestSink", "")],
            &conns,
        ));
        r.inject(0, 0, Packet::from_slice(&[1]));
        let (r2, _) = router(fed(
            &[("w", "StaticSwitch", "-1"), ("s", "TestSink", "")],
            &conns,
        ));
        r2.inject(0, 0, Packet::from_slice(&[1]));
        assert!(sink_contents(&r, "s").is_empty() && sink_contents(&r2, "s").is_empty());
        assert!(build(fed(
            &[("w", "StaticSwitch", ""), ("s", "TestSink", "")],
            &conns
        ))
        .is_err());
    }
}

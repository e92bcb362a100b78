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

//! `Switch([OUTPUT])`: sends every packet to one output, changeable at run
//! time.
//!
//! # Ports
//! One push input; any number of push outputs.
//!
//! # Processing
//! Every packet goes to output OUTPUT (default 0). A negative OUTPUT drops
//! packets.
//!
//! # Keywords
//! * `OUTPUT` (integer): the output; must be less than the number of
//!   outputs.
//!
//! # Handlers
//! * `switch` (read/write): the current output; writing a number at or
//!   beyond the outputs (or negative) makes it -1: drop.
//!
//! # Example
//! ```text
//! s :: Switch(0);
//! s[0] -> ToDump(a.pcap); s[1] -> ToDump(b.pcap);
//! // mbctl handler write s.switch 1
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::confparse::FromArg;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `Switch` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Switch",
    ports: "1/-",
    processing: "h/h",
    phase: 0,
    make: |args, cx| {
        let o = args.optional::<i32>("OUTPUT")?.unwrap_or(0);
        if o >= 0 && o as usize >= cx.noutputs() {
            let e = alloc::format!("OUTPUT must be < {}", cx.noutputs());
            return Err(ConfigError::out_of_range(e));
        }
        Ok(Box::new(Switch { output: o.max(-1) }))
    },
};

/// Switch with a write handler.
pub struct Switch {
    output: i32,
}

impl Element for Switch {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        match usize::try_from(self.output) {
            Ok(o) => cx.push(o, p),
            Err(_) => cx.kill(p),
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("switch")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.output.to_string()
    }

    fn write_handler(&mut self, cx: &Ctx, _name: &str, value: &str) -> Result<(), ConfigError> {
        let v = i32::from_arg(value).ok_or_else(|| {
            alloc::format!("Switch output must be an integer, got '{}'", value.trim())
        })?;
        self.output = if v < 0 || v as usize >= cx.noutputs() {
            -1
        } else {
            v
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use alloc::vec;

    #[test]
    fn switch_handler_moves_traffic() {
        let conns = [(0, 0, 1, 0), (0, 1, 1, 1)];
        let (r, _) = router(fed(&[("w", "Switch", ""), ("s", "TestSink", "")], &conns));
        r.inject(0, 0, Packet::from_slice(&[1]));
        r.write("w.switch", "1").unwrap();
        assert_eq!(r.read("w.switch").unwrap(), "1");
        r.inject(0, 0, Packet::from_slice(&[2]));
        r.write("w.switch", "7").unwrap();
        assert_eq!(r.read("w.switch").unwrap(), "-1");
        r.inject(0, 0, Packet::from_slice(&[3]));
        assert_eq!(sink_contents(&r, "s"), vec![(0, vec![1]), (1, vec![2])]);
        assert!(r.write("w.switch", "left").is_err());
        assert!(build(fed(&[("w", "Switch", "2"), ("s", "TestSink", "")], &conns)).is_err());
        assert!(build(fed(&[("w", "Switch", "x"), ("s", "TestSink", "")], &conns)).is_err());
    }
}

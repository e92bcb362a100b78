//! `CheckLength(LENGTH)`: sends packets longer than LENGTH to a second
//! output.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! A packet of at most LENGTH bytes leaves on output 0; a longer one
//! leaves on output 1, or is dropped when output 1 is not connected. In
//! a router, output 1 usually feeds an `ICMP6Error(..., packettoobig, 0)`
//! (or an `ICMPError` needfrag) for path MTU discovery.
//!
//! # Keywords
//! * `LENGTH` (integer): the longest packet passed on output 0.
//!
//! # Handlers
//! * `length` (read/write): LENGTH.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> c :: CheckLength(1514) -> Discard;
//! c[1] -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::confparse::parse_written;
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `CheckLength` class.
pub static CLASS: ElementClass = ElementClass {
    name: "CheckLength",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| {
        let length = args.required::<usize>("LENGTH")?;
        Ok(Box::new(CheckLength { length }))
    },
};

/// Splits packets by length.
pub struct CheckLength {
    length: usize,
}

impl CheckLength {
    fn action(&mut self, cx: &Ctx, p: Packet) -> Option<Packet> {
        if p.len() <= self.length {
            return Some(p);
        }
        cx.push(1, p);
        None
    }
}

impl Element for CheckLength {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("length")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.length.to_string()
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), ConfigError> {
        self.length = parse_written(value)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn long_packets_take_output_1() {
        let (r, _) = router_from_source(
            "Idle -> c :: CheckLength(4) -> a :: TestSink; c[1] -> b :: TestSink;",
        );
        let c = r.find("c").unwrap();
        for n in [3, 4, 5] {
            r.inject(c, 0, Packet::from_slice(&alloc::vec![0; n]));
        }
        assert_eq!(sink_contents(&r, "a").len(), 2);
        assert_eq!(sink_contents(&r, "b")[0].1.len(), 5);
        r.write("c.length", "5").unwrap();
        assert_eq!(r.read("c.length").unwrap(), "5");
        assert!(r.write("c.length", "-1").is_err());
    }
}

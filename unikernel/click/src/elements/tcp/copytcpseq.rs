//! `CopyTCPSeq()`: copies the highest TCP sequence number seen on input 0 onto segments on input 1.
//!
//! # Ports
//! Two inputs, two outputs; agnostic. Input 0 goes to output 0, input 1
//! to output 1.
//!
//! # Processing
//! Segments need their IP header annotation set. Segments on input 0
//! pass unchanged; the highest sequence number among them (in sequence
//! space, since initialization or a `reset`) is remembered. Segments on
//! input 1 get that sequence number written into them (the checksum is
//! left to `SetTCPChecksum`); before any is seen, they get 0. Input-1
//! packets too short for a TCP header are dropped.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `reset` (write): forget the sequence number.
//! * `seq` (read): the sequence number remembered (empty if none).
//!
//! # Example
//! ```text
//! data -> [0] seq :: CopyTCPSeq [0] -> out;  acks -> [1] seq [1] -> out;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use super::{seq_lt, set_seq_field, tcp_header};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `CopyTCPSeq` class.
pub static CLASS: ElementClass = ElementClass {
    name: "CopyTCPSeq",
    ports: "2/2",
    processing: "a/a",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(CopyTcpSeq(None))),
};

/// The sequence number copier.
pub struct CopyTcpSeq(Option<u32>);

impl CopyTcpSeq {
    fn process(&mut self, cx: &Ctx, port: usize, mut p: Packet) -> Option<Packet> {
        if port == 0 {
            if let Some(h) = tcp_header(&p) {
                if self.0.is_none_or(|s| seq_lt(s, h.seq)) {
                    self.0 = Some(h.seq);
                }
            }
            return Some(p);
        }
        if set_seq_field(&mut p, 4, self.0.unwrap_or(0)) {
            Some(p)
        } else {
            cx.kill(p);
            None
        }
    }
}

impl Element for CopyTcpSeq {
    fn push(&mut self, cx: &Ctx, port: usize, p: Packet) {
        if let Some(p) = self.process(cx, port, p) {
            cx.push(port, p);
        }
    }

    fn pull(&mut self, cx: &Ctx, port: usize) -> Option<Packet> {
        let p = cx.pull(port)?;
        self.process(cx, port, p)
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::write("reset"), HandlerDecl::read("seq")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.0.map(|s| s.to_string()).unwrap_or_default()
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, _value: &str) -> Result<(), ConfigError> {
        self.0 = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{bare_segment, ACK};
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn highest_sequence_number_in_sequence_space() {
        let (r, _) = router_from_source(
            "Idle -> [0] c :: CopyTCPSeq [0] -> a :: TestSink; Idle -> [1] c [1] -> b :: TestSink;",
        );
        let c = r.find("c").unwrap();
        let seq = |b: &[u8]| u32::from_be_bytes(b[24..28].try_into().unwrap());
        r.inject(c, 0, bare_segment(ACK, 0xffff_fff0, 0, &[]).unwrap());
        // 5 is after 0xfffffff0 (wrapped); 0xffffff00 is before it.
        r.inject(c, 0, bare_segment(ACK, 5, 0, &[]).unwrap());
        r.inject(c, 0, bare_segment(ACK, 0xffff_ff00, 0, &[]).unwrap());
        r.inject(c, 1, bare_segment(ACK, 99, 1, &[]).unwrap());
        assert_eq!(seq(&sink_contents(&r, "b")[0].1), 5);
        assert_eq!(r.read("c.seq").unwrap(), "5");
        r.write("c.reset", "").unwrap();
        assert_eq!(r.read("c.seq").unwrap(), "");
        r.inject(c, 0, bare_segment(ACK, 3, 0, &[]).unwrap());
        assert_eq!(r.read("c.seq").unwrap(), "3");
        assert_eq!(sink_contents(&r, "a").len(), 4);
        r.inject(c, 1, crate::packet::Packet::from_slice(&[0; 4]));
        assert_eq!(sink_contents(&r, "b").len(), 1);
    }
}

//! `TCPBuffer([SKIP])`: a TCP reorder buffer: stores segments pushed in, returns them in sequence order when pulled.
//!
//! # Ports
//! One push input, one pull output.
//!
//! # Processing
//! Segments (TCP/IP packets with their IP header annotation set) are
//! kept sorted by sequence number; one whose sequence number is already
//! held is dropped. A pull returns the first segment, the first time
//! (it sets where the stream starts: expected to be the SYN or SYN-ACK)
//! or when it is the next in sequence after the last one returned;
//! otherwise, with a segment missing, nothing. With `SKIP true` a pull
//! returns the first segment held even past a gap (still in order). Once
//! pulling has begun, a segment arriving from before the next expected
//! sequence number (a retransmission, or one already skipped) is dropped.
//! A segment takes as much sequence space as its payload, plus one if it
//! carries SYN or FIN. `TCPAck` upstream asks the buffer where the first
//! gap after a sequence number lies, to choose its acknowledgement.
//!
//! # Keywords
//! * `SKIP` (bool, default false): let pulls skip missing segments.
//!
//! # Handlers
//! * `length` (read): segments held.
//!
//! # Example
//! ```text
//! ... -> con :: TCPConn -> rob :: TCPBuffer -> [0] b2p :: BufferConverter(1400);
//! ```

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};

use super::{seq_len, seq_lt, tcp_header};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `TCPBuffer` class.
pub static CLASS: ElementClass = ElementClass {
    name: "TCPBuffer",
    ports: "1/1",
    processing: "h/l",
    phase: 0,
    make: |args, _cx| {
        Ok(Box::new(TcpBuffer {
            skip: args.optional("SKIP")?.unwrap_or(false),
            held: VecDeque::new(),
            next_seq: None,
        }))
    },
};

/// The reorder buffer.
pub struct TcpBuffer {
    skip: bool,
    /// (sequence number, sequence length, segment), in sequence order.
    held: VecDeque<(u32, u32, Packet)>,
    /// After the first pull: the sequence number expected next.
    next_seq: Option<u32>,
}

impl TcpBuffer {
    /// The first sequence number at or after `pos` that no held segment
    /// covers, counting from where the stream is (the next expected
    /// number once pulling began, else the first held segment); `None`
    /// while nothing has arrived. Gaps before `pos` do not count.
    pub fn next_missing(&self, pos: u32) -> Option<u32> {
        let mut expect = match (self.next_seq, self.held.front()) {
            (Some(n), _) => n,
            (None, Some(&(s, _, _))) => s,
            (None, None) => return None,
        };
        for &(s, len, _) in &self.held {
            if s != expect {
                if !seq_lt(expect, pos) {
                    return Some(expect);
                }
                if seq_lt(pos, s) {
                    return Some(pos);
                }
            }
            expect = s.wrapping_add(len);
        }
        Some(if seq_lt(expect, pos) { pos } else { expect })
    }
}

impl Element for TcpBuffer {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let Some(h) = tcp_header(&p) else {
            cx.kill(p);
            return;
        };
        let s = h.seq;
        if self.next_seq.is_some_and(|n| seq_lt(s, n)) {
            cx.kill(p);
            return;
        }
        let at = self.held.iter().position(|&(q, _, _)| !seq_lt(q, s));
        match at {
            Some(i) if self.held[i].0 == s => cx.kill(p),
            Some(i) => self.held.insert(i, (s, seq_len(&p), p)),
            None => self.held.push_back((s, seq_len(&p), p)),
        }
    }

    fn pull(&mut self, _cx: &Ctx, _port: usize) -> Option<Packet> {
        let &(s, len, _) = self.held.front()?;
        if self.next_seq.is_some_and(|n| n != s) && !self.skip {
            return None;
        }
        self.next_seq = Some(s.wrapping_add(len));
        self.held.pop_front().map(|(_, _, p)| p)
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("length")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.held.len().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{bare_segment, ACK, SYN};
    use super::TcpBuffer;
    use crate::packet::Packet;
    use crate::router::Router;
    use crate::testing::router_from_source;

    fn seg(seq: u32, len: usize) -> Packet {
        bare_segment(ACK, seq, 0, &alloc::vec![b'x'; len]).unwrap()
    }

    fn pull_seq(r: &Router) -> Option<u32> {
        let u = r.find("u").unwrap();
        let p = r.with_element(u, |_, cx| cx.pull(0)).flatten()?;
        Some(super::super::tcp_header(&p).unwrap().seq)
    }

    fn missing(r: &Router, pos: u32) -> Option<u32> {
        r.with_element(r.find("b").unwrap(), |e, _| {
            e.downcast_ref::<TcpBuffer>().unwrap().next_missing(pos)
        })
        .unwrap()
    }

    #[test]
    fn returns_segments_in_order_and_waits_at_gaps() {
        let (r, _) =
            router_from_source("Idle -> b :: TCPBuffer -> u :: Unqueue(ACTIVE false) -> Discard;");
        let b = r.find("b").unwrap();
        assert_eq!(missing(&r, 5), None);
        r.inject(b, 0, bare_segment(SYN | ACK, 100, 0, &[]).unwrap());
        r.inject(b, 0, seg(111, 10));
        r.inject(b, 0, seg(101, 10));
        r.inject(b, 0, seg(101, 10));
        r.inject(b, 0, seg(131, 5));
        assert_eq!(
            r.read("b.length").unwrap(),
            "4",
            "the duplicate was dropped"
        );
        assert_eq!(missing(&r, 101), Some(121));
        assert_eq!(missing(&r, 125), Some(125));
        assert_eq!(missing(&r, 131), Some(136));
        assert_eq!(pull_seq(&r), Some(100));
        assert_eq!(pull_seq(&r), Some(101));
        assert_eq!(pull_seq(&r), Some(111));
        assert_eq!(pull_seq(&r), None, "121 is missing");
        // A retransmission of something already returned is dropped.
        r.inject(b, 0, seg(111, 10));
        assert_eq!(r.read("b.length").unwrap(), "1");
        r.inject(b, 0, seg(121, 10));
        assert_eq!(pull_seq(&r), Some(121));
        assert_eq!(pull_seq(&r), Some(131));
        assert_eq!(missing(&r, 0), Some(136));
    }

    #[test]
    fn skip_passes_gaps_in_order() {
        let (r, _) = router_from_source(
            "Idle -> b :: TCPBuffer(true) -> u :: Unqueue(ACTIVE false) -> Discard;",
        );
        let b = r.find("b").unwrap();
        r.inject(b, 0, seg(50, 5));
        r.inject(b, 0, seg(10, 5));
        assert_eq!(pull_seq(&r), Some(10));
        assert_eq!(pull_seq(&r), Some(50));
        r.inject(b, 0, seg(20, 5));
        assert_eq!(pull_seq(&r), None, "from before the stream's position");
        // Not TCP: dropped.
        r.inject(b, 0, Packet::from_slice(&[1, 2, 3]));
        assert_eq!(r.read("b.length").unwrap(), "0");
    }
}

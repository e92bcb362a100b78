//! `TCPAck([DELAY])`: chooses acknowledgement numbers for a TCP endpoint: tags outgoing segments, sends delayed ACKs.
//!
//! # Ports
//! Two inputs, three outputs. Input and output 0 (segments arriving from
//! the peer) and input and output 1 (segments leaving for it) agnostic;
//! output 2 (explicit ACKs) push.
//!
//! # Processing
//! Part of Click's experimental TCP endpoint (`test-tcp.click`), with
//! `TCPBuffer` downstream of output 0: the buffer holds what arrived, and
//! TCPAck acknowledges up to the first gap in it. Packets need their IP
//! header annotation set.
//!
//! Nothing passes before the connection's SYN-ACK is seen: arriving on
//! input 0 (then the next expected sequence number is its sequence
//! number plus one) or leaving on input 1 (then it is its
//! acknowledgement number). Segments before that are dropped.
//!
//! A segment on input 0 leaves on output 0. SYN, FIN and RST segments
//! pass untouched; for data, if it starts at the expected sequence
//! number, the expected number moves past it and past whatever the
//! buffer already holds after it, else a console message notes it as
//! out of order or retransmitted. Either way an acknowledgement is due:
//! if none has gone out `DELAY` later, TCPAck sends a bare ACK on output
//! 2 (no addresses, ports or sequence number: `CopyFlowID` and
//! `CopyTCPSeq` downstream add them; TOS 0x10, DF, TTL 255, window
//! 32120).
//!
//! A segment on input 1 leaves on output 1 with its acknowledgement
//! number set to the expected sequence number, which also counts as the
//! due acknowledgement. Checksums are left to `SetTCPChecksum`.
//!
//! # Keywords
//! * `DELAY` (time, default 20ms): how long an acknowledgement may wait
//!   for a segment leaving to carry it.
//!
//! # Handlers
//! * `ack` (read): the next expected sequence number (empty before the
//!   SYN-ACK).
//!
//! # Example
//! ```text
//! dmx :: TCPDemux -> [0] ack :: TCPAck -> [0] con :: TCPConn -> rob :: TCPBuffer -> ...;
//! ... -> [1] ack [1] -> out;  ack[2] -> [1] fid :: CopyFlowID [1] -> out;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use super::tcpbuffer::TcpBuffer;
use super::{bare_segment, nearest, seq_len, set_seq_field, tcp_header, ACK, FIN, RST, SYN};
use crate::confparse::Duration;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `TCPAck` class.
pub static CLASS: ElementClass = ElementClass {
    name: "TCPAck",
    ports: "2/3",
    processing: "aa/aah",
    phase: 0,
    make: |args, _cx| {
        let delay = args
            .keyword::<Duration>("DELAY")?
            .map_or(Timestamp::from_msec(20), |d| d.0);
        Ok(Box::new(TcpAck {
            delay,
            buffer: 0,
            ack_nxt: None,
            need_ack: false,
        }))
    },
};

const TIMER: u32 = 0;

/// The acknowledgement keeper.
pub struct TcpAck {
    delay: Timestamp,
    /// The TCPBuffer downstream.
    buffer: usize,
    /// The next expected sequence number, once the SYN-ACK was seen.
    ack_nxt: Option<u32>,
    need_ack: bool,
}

impl TcpAck {
    /// An arriving segment: true to pass it on.
    fn arriving(&mut self, cx: &Ctx, p: &Packet) -> bool {
        let Some(h) = tcp_header(p) else {
            return false;
        };
        if self.ack_nxt.is_none() && h.flags & (SYN | ACK) == SYN | ACK {
            self.ack_nxt = Some(h.seq.wrapping_add(1));
        }
        let Some(expected) = self.ack_nxt else {
            return false;
        };
        if h.flags & (SYN | FIN | RST) != 0 {
            return true;
        }
        if h.seq == expected {
            let past = expected.wrapping_add(seq_len(p));
            let buffered = cx
                .with_element(self.buffer, |e, _| {
                    e.downcast_ref::<TcpBuffer>()
                        .and_then(|b| b.next_missing(past))
                })
                .flatten();
            self.ack_nxt = Some(buffered.unwrap_or(past));
        } else {
            cx.log("seqno < ack_nxt: out of order or retransmitted packet");
        }
        self.need_ack = true;
        if !cx.timer_scheduled(TIMER) {
            cx.set_timer(TIMER, cx.now() + self.delay);
        }
        true
    }

    /// A leaving segment: true to pass it on (tagged).
    fn leaving(&mut self, p: &mut Packet) -> bool {
        let Some(h) = tcp_header(p) else {
            return false;
        };
        if h.flags & (SYN | ACK) == SYN | ACK {
            self.ack_nxt = Some(h.ack);
        }
        let Some(ack) = self.ack_nxt else {
            return false;
        };
        self.need_ack = false;
        set_seq_field(p, 8, ack)
    }

    fn process(&mut self, cx: &Ctx, port: usize, mut p: Packet) -> Option<Packet> {
        let pass = if port == 0 {
            self.arriving(cx, &p)
        } else {
            self.leaving(&mut p)
        };
        if pass {
            Some(p)
        } else {
            cx.kill(p);
            None
        }
    }
}

impl Element for TcpAck {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let r = cx.router();
        self.buffer = *nearest(r, cx.eid(), 0, true, "TCPBuffer")
            .first()
            .ok_or_else(|| ConfigError::initialize("need at least 1 downstream TCPBuffer"))?;
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, port: usize, p: Packet) {
        if let Some(p) = self.process(cx, port, p) {
            cx.push(port, p);
        }
    }

    fn pull(&mut self, cx: &Ctx, port: usize) -> Option<Packet> {
        let p = cx.pull(port)?;
        self.process(cx, port, p)
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        if !self.need_ack {
            return;
        }
        self.need_ack = false;
        if let Some(p) = self.ack_nxt.and_then(|a| bare_segment(ACK, 0, a, &[])) {
            cx.push(2, p);
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("ack")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.ack_nxt.map(|a| a.to_string()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::run_to;
    use super::super::{bare_segment, tcp_header, ACK, PSH, SYN};
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};
    use crate::time::Timestamp;

    const CONF: &str = "Idle -> [0] a :: TCPAck(DELAY 50ms) [0] -> b :: TCPBuffer -> Unqueue(ACTIVE false) -> Discard;
        Idle -> [1] a [1] -> out :: TestSink; a[2] -> acks :: TestSink;";

    fn seg(flags: u8, seq: u32, ack: u32, len: usize) -> Packet {
        bare_segment(flags, seq, ack, &alloc::vec![b'x'; len]).unwrap()
    }

    #[test]
    fn acknowledges_up_to_the_first_gap_after_a_delay() {
        let (r, _) = router_from_source(CONF);
        let a = r.find("a").unwrap();
        // Before the SYN-ACK nothing passes.
        r.inject(a, 0, seg(ACK, 5, 0, 10));
        r.inject(a, 1, seg(PSH, 1, 0, 10));
        assert!(sink_contents(&r, "out").is_empty());
        assert_eq!(r.read("b.length").unwrap(), "0");
        r.inject(a, 0, seg(SYN | ACK, 1000, 77, 0));
        assert_eq!(r.read("a.ack").unwrap(), "1001");
        // 1011.. arrives first and waits in the buffer; 1001 then
        // acknowledges both.
        r.inject(a, 0, seg(ACK, 1011, 77, 10));
        assert_eq!(r.read("a.ack").unwrap(), "1001");
        r.inject(a, 0, seg(ACK, 1001, 77, 10));
        assert_eq!(r.read("a.ack").unwrap(), "1021");
        assert!(sink_contents(&r, "acks").is_empty(), "not before the delay");
        run_to(&r, r.now() + Timestamp::from_msec(60));
        let acks = sink_contents(&r, "acks");
        assert_eq!(acks.len(), 1);
        let h = tcp_header(&{
            let mut p = Packet::from_slice(&acks[0].1);
            p.set_ip_header(0, 20);
            p
        })
        .unwrap();
        assert_eq!((h.flags, h.ack), (ACK, 1021));
        // An outgoing segment carries the acknowledgement and cancels the
        // delayed one.
        r.inject(a, 0, seg(ACK, 1021, 77, 4));
        r.inject(a, 1, seg(PSH, 77, 0, 3));
        run_to(&r, r.now() + Timestamp::from_msec(60));
        assert_eq!(sink_contents(&r, "acks").len(), 1);
        let out = sink_contents(&r, "out");
        assert_eq!(
            u32::from_be_bytes(out[0].1[28..32].try_into().unwrap()),
            1025
        );
    }

    #[test]
    fn needs_a_buffer_downstream() {
        let e = build_from_source("Idle -> [0] a :: TCPAck [0] -> Discard; Idle -> [1] a [1] -> Discard; a[2] -> Discard;")
            .err()
            .unwrap();
        assert!(alloc::format!("{e}").contains("TCPBuffer"), "{e}");
    }
}

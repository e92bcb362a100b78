//! `ToyTCP(DPORT)`: a toy TCP client that connects to DPORT and sends it odd segments.
//!
//! # Ports
//! One input (TCP segments from the server, starting at the TCP header),
//! one output (TCP segments to the server, starting at the TCP header);
//! push.
//!
//! # Processing
//! Click's stress test for a TCP receiver. From a source port chosen at
//! start (1024-61023) it sends the server port `DPORT` a SYN every second
//! until a segment from `DPORT` to that port acknowledges it (an ACK
//! without RST, acknowledging the initial sequence number plus one); it
//! is then connected. Connected, it sends ACK segments carrying one byte,
//! acknowledging the server's initial sequence number plus one, at a
//! sequence number that wanders through the 4096 bytes after the next
//! one to send (so a receiver sees out-of-order, duplicate and
//! window-probing data). It answers each input segment with one such
//! segment, adds an extra one after every sixth input, and sends one each
//! second; every fourth segment advertises a 30 KB window, the others
//! 60 KB. An RST from the server stops it until the next second, when it
//! starts over with a new port and a new initial sequence number. Input
//! segments not from `DPORT` to its port are counted and dropped. Output
//! segments leave 34 bytes of headroom, for `IPEncap` (which must supply
//! the addresses; `SetTCPChecksum` then the checksum) and `EtherEncap`.
//! Each second it logs `G good in, B bad in, O out`.
//!
//! # Keywords
//! * `DPORT` (TCP port or service name): the server's port.
//!
//! # Handlers
//! * `state` (read): `connecting`, `connected` or `reset`.
//! * `stats` (read): `G good in, B bad in, O out`.
//!
//! # Example
//! ```text
//! FromDevice(eth0) -> Classifier(12/0800 23/06) -> Strip(34)
//!   -> ToyTCP(5432) -> IPEncap(6, 18.26.4.106, 18.26.4.123) -> SetTCPChecksum
//!   -> EtherEncap(0x0800, 0:e0:29:5:e5:6f, 00:90:27:e0:23:1f) -> ToDevice(eth0);
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;

use super::{parse_port, Header, ACK, HEADER_LEN, RST, SYN};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `ToyTCP` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ToyTCP",
    ports: "1/1",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        let text = args.required::<String>("DPORT")?;
        let dport = parse_port(&text)
            .ok_or_else(|| ConfigError::bad_value("DPORT", "a TCP port", &text))?;
        Ok(Box::new(ToyTcp {
            dport,
            sport: 0,
            iss: 0,
            rcv_nxt: 0,
            connected: false,
            reset: false,
            since_extra: 0,
            window_turn: 0,
            good_in: 0,
            bad_in: 0,
            out: 0,
        }))
    },
};

/// Room before each segment for an IP and an Ethernet header.
const HEADROOM: usize = 34;
const TIMER: u32 = 0;

/// The toy client.
pub struct ToyTcp {
    dport: u16,
    sport: u16,
    iss: u32,
    rcv_nxt: u32,
    connected: bool,
    reset: bool,
    since_extra: u32,
    window_turn: u32,
    good_in: u64,
    bad_in: u64,
    out: u64,
}

impl ToyTcp {
    /// A new connection: port and initial sequence number from the clock.
    fn restart(&mut self, now: Timestamp) {
        let usec = now.0.rem_euclid(1_000_000_000) / 1000;
        self.sport = 1024 + (usec % 60000) as u16;
        self.iss = (now.0 / 1_000_000_000) as u32 & 0x0fff_ffff;
        self.rcv_nxt = 0;
        self.connected = false;
        self.reset = false;
        self.since_extra = 0;
        self.window_turn = 0;
    }

    fn input(&mut self, cx: &Ctx, p: &Packet) {
        let Some(h) = Header::read(p.data()) else {
            return;
        };
        if h.sport != self.dport || h.dport != self.sport {
            return;
        }
        if !self.connected && h.flags & (ACK | RST) == ACK && h.ack == self.iss.wrapping_add(1) {
            self.rcv_nxt = h.seq.wrapping_add(1);
            self.connected = true;
            cx.log("connected");
        }
        if h.flags & RST != 0 {
            cx.log(&format!(
                "RST from port {}, in {}, out {}",
                h.sport, self.good_in, self.out
            ));
            self.bad_in += 1;
            self.reset = true;
        } else {
            self.good_in += 1;
        }
    }

    fn output(&mut self, cx: &Ctx) {
        let len = HEADER_LEN + usize::from(self.connected);
        let Some(mut p) = Packet::try_with_room(HEADROOM, len, 0) else {
            return;
        };
        let window_small = self.window_turn >= 3;
        self.window_turn = if window_small {
            0
        } else {
            self.window_turn + 1
        };
        let h = Header {
            sport: self.sport,
            dport: self.dport,
            seq: if self.connected {
                self.iss
                    .wrapping_add(2)
                    .wrapping_add((self.out & 0xfff) as u32)
            } else {
                self.iss
            },
            ack: if self.connected { self.rcv_nxt } else { 0 },
            flags: if self.connected { ACK } else { SYN },
            win: if window_small { 30 * 1024 } else { 60 * 1024 },
        };
        let d = p.data_mut();
        d.fill(0);
        h.write(d);
        self.out += 1;
        cx.push(0, p);
    }

    fn stats(&self) -> String {
        format!(
            "{} good in, {} bad in, {} out",
            self.good_in, self.bad_in, self.out
        )
    }
}

impl Element for ToyTcp {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.restart(cx.now());
        cx.set_timer(TIMER, cx.now() + Timestamp::from_msec(1000));
        Ok(())
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        if self.reset {
            self.restart(cx.now());
        }
        self.output(cx);
        cx.set_timer(TIMER, cx.now() + Timestamp::from_msec(1000));
        cx.log(&self.stats());
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        if !self.reset {
            self.input(cx, &p);
            self.output(cx);
            self.since_extra += 1;
            if self.since_extra > 5 {
                self.output(cx);
                self.since_extra = 0;
            }
        }
        cx.kill(p);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("state"), HandlerDecl::read("stats")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "state" if self.reset => "reset".into(),
            "state" if self.connected => "connected".into(),
            "state" => "connecting".into(),
            _ => self.stats(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::run_to;
    use super::super::{Header, ACK, RST, SYN};
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};
    use crate::time::Timestamp;
    use alloc::vec;

    fn segment(h: Header) -> Packet {
        let mut b = vec![0u8; 20];
        h.write(&mut b);
        Packet::from_slice(&b)
    }

    #[test]
    fn connects_then_sends_one_byte_segments() {
        let (r, host) = router_from_source("Idle -> t :: ToyTCP(www) -> s :: TestSink;");
        let t = r.find("t").unwrap();
        let start = r.now();
        run_to(&r, start + Timestamp::from_msec(2500));
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 2, "a SYN each second");
        let syn = Header::read(&got[0].1).unwrap();
        assert_eq!((syn.dport, syn.flags, syn.win), (80, SYN, 60 * 1024));
        assert!((1024..61024).contains(&syn.sport));
        assert_eq!(got[0].1.len(), 20);
        assert_eq!(r.read("t.state").unwrap(), "connecting");
        assert!(host
            .logs
            .borrow()
            .iter()
            .any(|l| l == "t :: ToyTCP: 0 good in, 0 bad in, 1 out"));

        // Not ours: counted as nothing, still answered.
        let other = Header {
            sport: 81,
            dport: syn.sport,
            flags: ACK,
            ack: syn.seq + 1,
            ..Header::default()
        };
        r.inject(t, 0, segment(other));
        assert_eq!(r.read("t.state").unwrap(), "connecting");
        let synack = Header {
            sport: 80,
            dport: syn.sport,
            seq: 5000,
            ack: syn.seq + 1,
            flags: SYN | ACK,
            win: 1000,
        };
        r.inject(t, 0, segment(synack));
        assert_eq!(r.read("t.state").unwrap(), "connected");
        let got = sink_contents(&r, "s");
        let data = &got.last().unwrap().1;
        assert_eq!(data.len(), 21, "one byte of payload");
        let h = Header::read(data).unwrap();
        assert_eq!((h.flags, h.ack), (ACK, 5001));
        assert_eq!(
            h.seq,
            syn.seq + 2 + 3,
            "wanders from snd_nxt + 1 by the output count"
        );
        // The sixth input brings an extra segment; every fourth segment
        // offers the smaller window.
        let n = sink_contents(&r, "s").len();
        for _ in 0..4 {
            r.inject(t, 0, segment(synack));
        }
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), n + 5);
        let wins: vec::Vec<u16> = got
            .iter()
            .map(|(_, b)| Header::read(b).unwrap().win)
            .collect();
        assert_eq!(
            wins.iter().filter(|&&w| w == 30 * 1024).count(),
            got.len() / 4
        );
        assert_eq!(r.read("t.stats").unwrap(), "5 good in, 0 bad in, 9 out");
    }

    #[test]
    fn rst_restarts_at_the_next_second() {
        let (r, _) = router_from_source("Idle -> t :: ToyTCP(5432) -> s :: TestSink;");
        let t = r.find("t").unwrap();
        run_to(&r, r.now() + Timestamp::from_msec(1100));
        let syn = Header::read(&sink_contents(&r, "s")[0].1).unwrap();
        let rst = Header {
            sport: 5432,
            dport: syn.sport,
            flags: RST,
            ..Header::default()
        };
        r.inject(t, 0, segment(rst));
        assert_eq!(r.read("t.state").unwrap(), "reset");
        // Reset: input is dropped unanswered.
        r.inject(t, 0, segment(rst));
        assert_eq!(sink_contents(&r, "s").len(), 2);
        run_to(&r, r.now() + Timestamp::from_msec(1000));
        assert_eq!(r.read("t.state").unwrap(), "connecting");
        let again = Header::read(&sink_contents(&r, "s").last().unwrap().1).unwrap();
        assert_eq!(again.flags, SYN);
        // Short input is ignored, not a panic.
        r.inject(t, 0, Packet::from_slice(&[0; 7]));
    }

    #[test]
    fn bad_port() {
        assert!(build_from_source("Idle -> ToyTCP(nope) -> Idle;").is_err());
        assert!(build_from_source("Idle -> ToyTCP(70000) -> Idle;").is_err());
    }
}

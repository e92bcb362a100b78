//! `TCPConn()`: opens a TCP connection for Click's experimental TCP endpoint: sends the SYN, registers the flow, addresses outgoing data.
//!
//! # Ports
//! Two inputs, three outputs. Input and output 0 (segments arriving from
//! the peer) push; input and output 1 (data leaving for it) pull; output
//! 2 (the SYN) push.
//!
//! # Processing
//! Part of Click's experimental TCP endpoint (`test-tcp.click`). At
//! initialization it finds the `TCPDemux` upstream of input 0. Writing
//! `connect SRC SPORT DST DPORT` to its `ctrl` handler registers that
//! flow (from our side) in the demultiplexer, so the peer's segments
//! reach input 0, and sends a SYN from `SRC:SPORT` to `DST:DPORT` on
//! output 2 with a random initial sequence number (TOS 0x10, DF, TTL 255,
//! window 32120; checksums are left to `SetIPChecksum` and
//! `SetTCPChecksum` downstream).
//!
//! Arriving segments pass from input 0 to output 0; a SYN-ACK
//! establishes the connection. Once it is established, each pull on
//! output 1 pulls a segment from input 1 (as `BufferConverter` makes
//! them) and gives it the connection's addresses, ports and next
//! sequence number, which then moves past its data. Before that, pulls
//! return nothing, so data waits upstream.
//!
//! `listen SRC SPORT` registers `SRC:SPORT` for any peer, but, as in
//! Click, where accepting connections was never written, a listening
//! TCPConn drops what arrives and sends nothing. Without a connection
//! everything arriving is dropped.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `ctrl` (write): `connect SRC SPORT DST DPORT` or `listen SRC SPORT`;
//!   an error if a connection is already active.
//! * `reset` (write): forgets the connection and unregisters its flow.
//! * `state` (read): `idle`, `listening`, `connecting` or `established`.
//!
//! # Example
//! ```text
//! dmx :: TCPDemux -> [0] ack :: TCPAck [0] -> [0] con :: TCPConn [0] -> rob :: TCPBuffer -> ...;
//! b2p :: BufferConverter(1400) -> Queue -> [1] con [1] -> Unqueue -> ...;
//! con[2] -> ...;
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::tcpdemux::TcpDemux;
use super::{
    bare_segment, nearest, parse_port, seq_len, set_seq_field, tcp_header, Flow, ACK, SYN,
};
use crate::confparse::{parse_written, Ipv4};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::elements::nat::rng::Rng;
use crate::elements::standard::notify::downstream_pullers;
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `TCPConn` class.
pub static CLASS: ElementClass = ElementClass {
    name: "TCPConn",
    ports: "2/3",
    processing: "hl/hlh",
    phase: 0,
    make: |_args, cx| {
        Ok(Box::new(TcpConn {
            demux: 0,
            pullers: Vec::new(),
            conn: None,
            rng: Rng::from_name(cx.name()),
        }))
    },
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Listening,
    Connecting,
    Established,
}

/// The connection.
pub struct TcpConn {
    demux: usize,
    /// The tasks pulling from output 1, woken when the connection is up.
    pullers: Vec<usize>,
    /// The flow (from our side), its mode and the next sequence number.
    conn: Option<(Flow, Mode, u32)>,
    rng: Rng,
}

impl TcpConn {
    /// True while output 1 gives nothing (no established connection):
    /// its pullers may sleep.
    pub fn closed(&self) -> bool {
        !matches!(self.conn, Some((_, Mode::Established, _)))
    }

    fn register(&self, cx: &Ctx, flow: Flow) -> bool {
        cx.with_element(self.demux, |e, _| {
            e.downcast_mut::<TcpDemux>()
                .is_some_and(|d| d.add_flow(flow, 0))
        })
        .unwrap_or(false)
    }

    fn reset(&mut self, cx: &Ctx) {
        if let Some((flow, _, _)) = self.conn.take() {
            cx.with_element(self.demux, |e, _| {
                e.downcast_mut::<TcpDemux>().map(|d| d.remove_flow(&flow))
            });
        }
    }

    fn ctrl(&mut self, cx: &Ctx, value: &str) -> Result<(), ConfigError> {
        if self.conn.is_some() {
            return Err(ConfigError::conflict("TCPConn already active"));
        }
        let words: Vec<&str> = value.split_whitespace().collect();
        let addr = |i: usize, name: &str| -> Result<[u8; 4], ConfigError> {
            let w = words.get(i).copied().unwrap_or("");
            parse_written::<Ipv4>(w)
                .map(|a| a.0)
                .map_err(|_| ConfigError::bad_value(name, "an IP address", w))
        };
        let port = |i: usize, name: &str| -> Result<u16, ConfigError> {
            let w = words.get(i).copied().unwrap_or("");
            parse_port(w).ok_or_else(|| ConfigError::bad_value(name, "a TCP port", w))
        };
        match words.first().copied() {
            Some("connect") if words.len() == 5 => {
                let flow = Flow {
                    saddr: addr(1, "SRC")?,
                    sport: port(2, "SPORT")?,
                    daddr: addr(3, "DST")?,
                    dport: port(4, "DPORT")?,
                };
                if !self.register(cx, flow) {
                    return Err(ConfigError::conflict("cannot connect: flow in use"));
                }
                let iss = self.rng.next_u64() as u32;
                self.conn = Some((flow, Mode::Connecting, iss));
                if let Some(mut p) = bare_segment(SYN, iss, 0, &[]) {
                    flow.write_to(&mut p);
                    cx.push(2, p);
                }
                Ok(())
            }
            Some("listen") if words.len() == 3 => {
                let flow = Flow {
                    saddr: addr(1, "SRC")?,
                    sport: port(2, "SPORT")?,
                    ..Flow::default()
                };
                if !self.register(cx, flow) {
                    return Err(ConfigError::conflict("cannot listen: flow in use"));
                }
                self.conn = Some((flow, Mode::Listening, 0));
                Ok(())
            }
            _ => Err(ConfigError::bad_value(
                "ctrl",
                "connect SRC SPORT DST DPORT, or listen SRC SPORT",
                value,
            )),
        }
    }
}

impl Element for TcpConn {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.demux = *nearest(cx.router(), cx.eid(), 0, false, "TCPDemux")
            .first()
            .ok_or_else(|| ConfigError::initialize("need at least 1 upstream TCPDemux"))?;
        self.pullers = downstream_pullers(cx.router(), cx.eid(), 1);
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let pass = match (&mut self.conn, tcp_header(&p)) {
            (Some((_, mode, seq)), Some(h)) if *mode != Mode::Listening => {
                if *mode == Mode::Connecting && h.flags & (SYN | ACK) == SYN | ACK {
                    *mode = Mode::Established;
                    *seq = seq.wrapping_add(1);
                    for &e in &self.pullers {
                        cx.wake(e);
                    }
                }
                true
            }
            _ => false,
        };
        if pass {
            cx.push(0, p);
        } else {
            cx.kill(p);
        }
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let (flow, Mode::Established, seq) = self.conn.as_mut()? else {
            return None;
        };
        let mut p = cx.pull(1)?;
        if !flow.write_to(&mut p) || !set_seq_field(&mut p, 4, *seq) {
            cx.kill(p);
            return None;
        }
        *seq = seq.wrapping_add(seq_len(&p));
        Some(p)
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::write("ctrl"),
            HandlerDecl::write("reset"),
            HandlerDecl::read("state"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        match self.conn {
            None => "idle",
            Some((_, Mode::Listening, _)) => "listening",
            Some((_, Mode::Connecting, _)) => "connecting",
            Some((_, Mode::Established, _)) => "established",
        }
        .into()
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "ctrl" => self.ctrl(cx, value),
            _ => {
                self.reset(cx);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{bare_segment, ip_tcp_packet, Header, ACK, PSH, SYN};
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    const CONF: &str = "Idle -> d :: TCPDemux -> [0] c :: TCPConn [0] -> in :: TestSink;
        src :: Idle -> q :: Queue -> [1] c [1] -> u :: Unqueue(ACTIVE false) -> Discard;
        c[2] -> syn :: TestSink;";

    fn pulled(r: &crate::router::Router) -> Option<Packet> {
        r.with_element(r.find("u").unwrap(), |_, cx| cx.pull(0))
            .flatten()
    }

    #[test]
    fn connects_and_addresses_outgoing_data() {
        let (r, _) = router_from_source(CONF);
        let (d, q) = (r.find("d").unwrap(), r.find("q").unwrap());
        assert_eq!(r.read("c.state").unwrap(), "idle");
        assert!(r.write("c.ctrl", "connect 10.0.0.1 1000 10.0.0.2").is_err());
        r.write("c.ctrl", "connect 10.0.0.1 1000 10.0.0.2 www")
            .unwrap();
        assert!(
            r.write("c.ctrl", "listen 10.0.0.1 2000").is_err(),
            "already active"
        );
        assert_eq!(r.read("d.flows").unwrap(), "10.0.0.1 1000 10.0.0.2 80 0\n");
        let syn = &sink_contents(&r, "syn")[0].1;
        assert_eq!(&syn[12..24], &[10, 0, 0, 1, 10, 0, 0, 2, 0x03, 0xe8, 0, 80]);
        assert_eq!(syn[33], SYN);
        let iss = u32::from_be_bytes(syn[24..28].try_into().unwrap());
        // Data waits until the SYN-ACK.
        r.inject(q, 0, bare_segment(PSH, 0, 0, b"hello").unwrap());
        r.inject(q, 0, bare_segment(PSH, 0, 0, b"you").unwrap());
        assert!(pulled(&r).is_none());
        let h = Header {
            sport: 80,
            dport: 1000,
            seq: 500,
            ack: iss + 1,
            flags: SYN | ACK,
            win: 1,
        };
        r.inject(
            d,
            0,
            ip_tcp_packet([10, 0, 0, 2], [10, 0, 0, 1], 0, &h, &[]).unwrap(),
        );
        assert_eq!(r.read("c.state").unwrap(), "established");
        assert_eq!(sink_contents(&r, "in").len(), 1);
        let a = pulled(&r).unwrap();
        let b = pulled(&r).unwrap();
        assert_eq!(&a.data()[12..24], &syn[12..24]);
        let seq = |p: &Packet| u32::from_be_bytes(p.data()[24..28].try_into().unwrap());
        assert_eq!((seq(&a), seq(&b)), (iss + 1, iss + 6));
        // Another flow's segment never reaches it; reset unregisters.
        r.write("c.reset", "").unwrap();
        assert_eq!(r.read("d.flows").unwrap(), "");
        let h = Header {
            sport: 80,
            dport: 1000,
            flags: ACK,
            ..Header::default()
        };
        r.inject(
            d,
            0,
            ip_tcp_packet([10, 0, 0, 2], [10, 0, 0, 1], 0, &h, &[]).unwrap(),
        );
        assert_eq!(sink_contents(&r, "in").len(), 1);
    }

    #[test]
    fn listening_registers_but_accepts_nothing() {
        let (r, _) = router_from_source(CONF);
        r.write("c.ctrl", "listen 10.0.0.1 2000").unwrap();
        assert_eq!(r.read("c.state").unwrap(), "listening");
        let h = Header {
            sport: 5,
            dport: 2000,
            flags: SYN,
            ..Header::default()
        };
        r.inject(
            r.find("d").unwrap(),
            0,
            ip_tcp_packet([10, 0, 0, 9], [10, 0, 0, 1], 0, &h, &[]).unwrap(),
        );
        assert!(sink_contents(&r, "in").is_empty());
        assert!(r.write("c.ctrl", "frob").is_err());
    }

    #[test]
    fn needs_a_demux_upstream() {
        let e = build_from_source("Idle -> [0] c :: TCPConn -> Discard; Idle -> Queue -> [1] c [1] -> Discard; c[2] -> Discard;")
            .err()
            .unwrap();
        assert!(alloc::format!("{e}").contains("TCPDemux"), "{e}");
    }
}

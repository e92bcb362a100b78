//! `WebGen(PREFIX, DST, RATE)`: a web client load generator: RATE HTTP/1.0 connections a second from addresses in PREFIX to DST.
//!
//! # Ports
//! One input (IP packets from the server), one output (IP packets to the
//! server); push.
//!
//! # Processing
//! Opens `RATE` TCP connections a second to port 80 of `DST`, each from a
//! random address in `PREFIX` and a random port (1024-61023), and on each
//! asks for one random page of the SPECweb file set
//! (`GET /spec/D/D-C-F HTTP/1.0`, D 0-9, C 0-2, F 0-8). A connection
//! sends a SYN; once the server's SYN-ACK acknowledges it, it sends the
//! request with FIN (the request is its whole side), acknowledges the
//! server's data as it comes, and closes when the server's FIN is
//! acknowledged. A connection that has sent nothing for a second sends
//! its last segment again (the SYN, or the request while the server has
//! not acknowledged it), at most five times; then it is abandoned (a
//! timeout). An RST from the server ends a connection. A TCP segment
//! for no open connection is answered with an RST. Input that is not an
//! unfragmented TCP/IP packet with a valid header is dropped.
//!
//! This is the core of Click's WebGen, not a full TCP: the response is
//! acknowledged and discarded, no window or congestion control is kept,
//! and at most `10 × RATE` connections are open at once (Click's limit;
//! a new one beyond it is skipped and logged).
//!
//! Output packets carry IP and TCP headers with correct checksums, TTL
//! 250, window 60 KB, 34 bytes of headroom (for `EtherEncap`), and the IP
//! header and destination address annotations. Every five seconds it
//! logs `init: I comp: C tmo: T rst: R` (connections begun, completed,
//! timed out and reset since the last report).
//!
//! # Keywords
//! * `PREFIX` (IP prefix): where source addresses are drawn from.
//! * `DST` (IP address): the web server.
//! * `RATE` (positive integer): connections begun a second.
//!
//! # Handlers
//! * `stats` (read): `init: I comp: C tmo: T rst: R` since the last report.
//! * `open` (read): connections now open.
//!
//! # Example
//! ```text
//! FromDevice(eth0) -> cl :: Classifier(12/0800, 12/0806);
//! cl[0] -> Strip(14) -> WebGen(7.1.0.0/16, 1.0.0.1, 500)
//!   -> EtherEncap(0x0800, 00:00:5A:98:F9:28, 00:03:47:0D:39:57) -> q :: Queue -> ToDevice(eth0);
//! cl[1] -> ARPResponder(7.1.0.0/16 00:00:5A:98:F9:28) -> q;
//! ```

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{ip_tcp_packet, parse_ip_tcp, Header, ACK, FIN, PSH, RST, SYN};
use crate::confparse::{Ipv4, Ipv4Prefix};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::elements::nat::rng::Rng;
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `WebGen` class.
pub static CLASS: ElementClass = ElementClass {
    name: "WebGen",
    ports: "1/1",
    processing: "h/h",
    phase: 0,
    make: |args, cx| {
        let prefix = args.required::<Ipv4Prefix>("PREFIX")?;
        let dst = args.required::<Ipv4>("DST")?;
        let rate = args.required::<u32>("RATE")?;
        if rate == 0 || rate > 1_000_000 {
            return Err(ConfigError::out_of_range("RATE must be 1 to 1000000"));
        }
        Ok(Box::new(WebGen {
            prefix,
            dst: dst.0,
            interval: Timestamp(1_000_000_000 / i64::from(rate)),
            max_open: 10 * rate as usize,
            rng: Rng::from_name(cx.name()),
            next_start: Timestamp::ZERO,
            next_report: Timestamp::ZERO,
            conns: BTreeMap::new(),
            sends: VecDeque::new(),
            id: 0,
            counts: Counts::default(),
        }))
    },
};

const TIMER: u32 = 0;
/// The server's port.
const HTTP: u16 = 80;
/// Silence after which a connection sends again.
const RESEND_AFTER: Timestamp = Timestamp(1_000_000_000);
/// Sends again before a connection is abandoned.
const RESEND_MAX: u8 = 5;
/// Between statistics reports.
const REPORT_EVERY: Timestamp = Timestamp(5_000_000_000);
const TICK: Timestamp = Timestamp(1_000_000);

/// One connection's state (by our address and port).
struct Conn {
    iss: u32,
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    connected: bool,
    got_fin: bool,
    sent_fin: bool,
    /// Something arrived that needs an acknowledgement.
    ack_due: bool,
    resends: u8,
    last_send: Timestamp,
    request: Vec<u8>,
}

#[derive(Default)]
struct Counts {
    initiated: u64,
    completed: u64,
    timeout: u64,
    reset: u64,
}

/// The load generator.
pub struct WebGen {
    prefix: Ipv4Prefix,
    dst: [u8; 4],
    interval: Timestamp,
    max_open: usize,
    rng: Rng,
    next_start: Timestamp,
    next_report: Timestamp,
    conns: BTreeMap<([u8; 4], u16), Conn>,
    /// Each send, in time order: (when, connection); stale entries (the
    /// connection sent since, or is gone) are skipped.
    sends: VecDeque<(Timestamp, ([u8; 4], u16))>,
    id: u16,
    counts: Counts,
}

impl WebGen {
    fn pick_src(&mut self) -> [u8; 4] {
        let mask = self.prefix.mask();
        let r = self.rng.next_u64() as u32;
        ((r & !mask) | (self.prefix.addr.to_u32() & mask)).to_be_bytes()
    }

    fn start(&mut self, cx: &Ctx) {
        if self.conns.len() >= self.max_open {
            cx.log("out of connections");
            return;
        }
        let src = self.pick_src();
        let sport = 1024 + self.rng.range(0, 59_999) as u16;
        if self.conns.contains_key(&(src, sport)) {
            return;
        }
        let iss = self.rng.next_u64() as u32 & 0x0fff_ffff;
        let (dir, c, file) = (
            self.rng.range(0, 9),
            self.rng.range(0, 2),
            self.rng.range(0, 8),
        );
        let request = format!("GET /spec/{dir}/{dir}-{c}-{file} HTTP/1.0\r\n\r\n").into_bytes();
        self.conns.insert(
            (src, sport),
            Conn {
                iss,
                snd_una: iss,
                snd_nxt: iss,
                rcv_nxt: 0,
                connected: false,
                got_fin: false,
                sent_fin: false,
                ack_due: false,
                resends: 0,
                last_send: Timestamp::ZERO,
                request,
            },
        );
        self.counts.initiated += 1;
        self.send(cx, (src, sport));
    }

    /// Sends what connection `key` owes: its SYN, its request, or an
    /// acknowledgement. Closes it once both FINs are acknowledged.
    fn send(&mut self, cx: &Ctx, key: ([u8; 4], u16)) {
        let now = cx.now();
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        let unacked = c.snd_una.wrapping_sub(c.iss).wrapping_sub(1) < c.request.len() as u32;
        let with_request = c.connected && unacked;
        let seq = if with_request {
            c.snd_nxt = c.iss.wrapping_add(1).wrapping_add(c.request.len() as u32);
            c.iss.wrapping_add(1)
        } else {
            c.snd_nxt.wrapping_add(u32::from(c.sent_fin))
        };
        c.last_send = now;
        self.sends.push_back((now, key));
        if c.connected && !c.ack_due && !with_request {
            return;
        }
        c.ack_due = false;
        let mut flags = if c.connected { ACK } else { SYN };
        if with_request {
            flags |= PSH | FIN;
        }
        if c.connected && c.got_fin {
            flags |= FIN;
        }
        if flags & FIN != 0 {
            c.sent_fin = true;
        }
        let h = Header {
            sport: key.1,
            dport: HTTP,
            seq,
            ack: if c.connected { c.rcv_nxt } else { 0 },
            flags,
            win: 60 * 1024,
        };
        let payload: &[u8] = if with_request { &c.request } else { &[] };
        let p = ip_tcp_packet(key.0, self.dst, self.id, &h, payload);
        let closed = c.sent_fin && c.got_fin;
        self.id = self.id.wrapping_add(1);
        if closed {
            self.conns.remove(&key);
            self.counts.completed += 1;
        }
        if let Some(p) = p {
            cx.push(0, p);
        }
    }

    fn input(&mut self, cx: &Ctx, b: &[u8]) {
        let Some((iph, h, data)) = parse_ip_tcp(b) else {
            return;
        };
        let our: [u8; 4] = iph[16..20].try_into().unwrap_or_default();
        let key = (our, h.dport);
        let Some(c) = self.conns.get_mut(&key).filter(|_| h.sport == HTTP) else {
            if h.flags & RST == 0 {
                self.reset_unknown(cx, iph, &h);
            }
            return;
        };
        let dlen = data.len() as u32;
        if h.flags & (ACK | RST) == ACK && !c.connected && h.ack == c.iss.wrapping_add(1) {
            c.snd_nxt = h.ack;
            c.snd_una = h.ack;
            c.rcv_nxt = h.seq.wrapping_add(1);
            c.connected = true;
            c.ack_due = true;
        } else if dlen > 0 && c.connected {
            c.ack_due = true;
            let end = h.seq.wrapping_add(dlen);
            if (end.wrapping_sub(c.rcv_nxt) as i32) > 0 {
                c.rcv_nxt = end;
            }
        }
        if h.flags & ACK != 0 && (h.ack.wrapping_sub(c.snd_una) as i32) > 0 {
            c.snd_una = h.ack;
        }
        if h.flags & FIN != 0 && c.connected && !c.got_fin && h.seq.wrapping_add(dlen) == c.rcv_nxt
        {
            c.got_fin = true;
            c.rcv_nxt = c.rcv_nxt.wrapping_add(1);
            c.ack_due = true;
        }
        if h.flags & RST != 0 {
            self.conns.remove(&key);
            self.counts.reset += 1;
            return;
        }
        c.resends = 0;
        self.send(cx, key);
    }

    /// An RST for a segment of no connection of ours.
    fn reset_unknown(&mut self, cx: &Ctx, iph: &[u8], h: &Header) {
        let (src, dst) = (&iph[12..16], &iph[16..20]);
        let r = Header {
            sport: h.dport,
            dport: h.sport,
            seq: h.ack,
            ack: h.seq,
            flags: RST,
            win: 60 * 1024,
        };
        let p = ip_tcp_packet(
            dst.try_into().unwrap_or_default(),
            src.try_into().unwrap_or_default(),
            self.id,
            &r,
            &[],
        );
        self.id = self.id.wrapping_add(1);
        if let Some(p) = p {
            cx.push(0, p);
        }
    }

    fn resend_silent(&mut self, cx: &Ctx, now: Timestamp) {
        while let Some(&(when, key)) = self.sends.front() {
            if now - when < RESEND_AFTER {
                break;
            }
            self.sends.pop_front();
            let Some(c) = self.conns.get_mut(&key) else {
                continue;
            };
            if c.last_send != when {
                continue;
            }
            if c.resends >= RESEND_MAX {
                self.conns.remove(&key);
                self.counts.timeout += 1;
                continue;
            }
            c.resends += 1;
            // Whatever was last sent goes again; an idle established
            // connection re-acknowledges.
            c.ack_due = true;
            self.send(cx, key);
        }
    }

    fn stats(&self) -> String {
        let c = &self.counts;
        format!(
            "init: {} comp: {} tmo: {} rst: {}",
            c.initiated, c.completed, c.timeout, c.reset
        )
    }
}

impl Element for WebGen {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let now = cx.now();
        self.next_start = now + self.interval;
        self.next_report = now + REPORT_EVERY;
        cx.set_timer(TIMER, now);
        Ok(())
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        let now = cx.now();
        while self.next_start <= now {
            self.next_start = self.next_start + self.interval;
            self.start(cx);
        }
        self.resend_silent(cx, now);
        if self.next_report <= now {
            cx.log(&self.stats());
            self.counts = Counts::default();
            self.next_report = now + REPORT_EVERY;
        }
        cx.set_timer(TIMER, now + TICK);
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.input(cx, p.data());
        cx.kill(p);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("stats"), HandlerDecl::read("open")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "stats" => self.stats(),
            _ => self.conns.len().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::run_to;
    use super::super::{ip_tcp_packet, parse_ip_tcp, Header, ACK, FIN, PSH, RST, SYN};
    use crate::net::checksum;
    use crate::testing::{build_from_source, router_from_source, sink_contents};
    use crate::time::Timestamp;
    use alloc::vec::Vec;

    const CONF: &str = "Idle -> w :: WebGen(7.1.0.0/16, 1.0.0.1, 10) -> s :: TestSink;";

    fn sent(r: &crate::router::Router) -> Vec<([u8; 4], Header, Vec<u8>)> {
        sink_contents(r, "s")
            .into_iter()
            .map(|(_, b)| {
                let (iph, h, data) = parse_ip_tcp(&b).expect("a TCP/IP packet");
                assert_eq!(checksum::checksum(iph), 0);
                assert_eq!(&iph[16..20], &[1, 0, 0, 1]);
                (iph[12..16].try_into().unwrap(), h, data.to_vec())
            })
            .collect()
    }

    /// A segment from the server to (src, port).
    fn from_server(to: [u8; 4], h: Header, data: &[u8]) -> crate::packet::Packet {
        ip_tcp_packet([1, 0, 0, 1], to, 0, &h, data).unwrap()
    }

    #[test]
    fn a_connection_asks_for_a_page_and_closes() {
        let (r, _) = router_from_source(CONF);
        let w = r.find("w").unwrap();
        run_to(&r, r.now() + Timestamp::from_msec(150));
        let syns = sent(&r);
        assert_eq!(syns.len(), 1, "10 a second: one in the first 150 ms");
        let (src, syn, _) = &syns[0];
        assert_eq!(&src[..2], &[7, 1]);
        assert_eq!((syn.dport, syn.flags), (80, SYN));
        assert_eq!(r.read("w.open").unwrap(), "1");
        let (src, sport, iss) = (*src, syn.sport, syn.seq);
        let sh = |seq, ack, flags| Header {
            sport: 80,
            dport: sport,
            seq,
            ack,
            flags,
            win: 8192,
        };
        r.inject(w, 0, from_server(src, sh(900, iss + 1, SYN | ACK), &[]));
        let (_, req, body) = sent(&r).pop().unwrap();
        assert_eq!(
            (req.seq, req.ack, req.flags),
            (iss + 1, 901, ACK | PSH | FIN)
        );
        let text = core::str::from_utf8(&body).unwrap();
        assert!(
            text.starts_with("GET /spec/") && text.ends_with(" HTTP/1.0\r\n\r\n"),
            "{text}"
        );
        let acked = iss + 1 + body.len() as u32 + 1;
        r.inject(
            w,
            0,
            from_server(src, sh(901, acked, ACK), b"HTTP/1.0 200 OK\r\n\r\nhello"),
        );
        let (_, a, _) = sent(&r).pop().unwrap();
        assert_eq!((a.flags, a.ack, a.seq), (ACK, 901 + 24, acked));
        r.inject(w, 0, from_server(src, sh(925, acked, ACK | FIN), &[]));
        let (_, fin, _) = sent(&r).pop().unwrap();
        assert_eq!((fin.flags, fin.ack), (ACK | FIN, 926));
        assert_eq!(r.read("w.open").unwrap(), "0");
        assert_eq!(r.read("w.stats").unwrap(), "init: 1 comp: 1 tmo: 0 rst: 0");
    }

    #[test]
    fn silence_resends_then_times_out_and_strangers_get_rst() {
        let (r, host) = router_from_source(CONF);
        let w = r.find("w").unwrap();
        run_to(&r, r.now() + Timestamp::from_msec(150));
        let (src, syn, _) = sent(&r)[0].clone();
        // No answer: the SYN again after a second, five times, then gone.
        run_to(&r, r.now() + Timestamp::from_msec(10_000));
        let again = sent(&r)
            .iter()
            .filter(|(s, h, _)| *s == src && h.sport == syn.sport)
            .count();
        assert_eq!(again, 6);
        // Reports every five seconds: 10 begun a second, and by 10 s those
        // begun before 4 s have had six silent seconds.
        assert_eq!(
            *host.logs.borrow(),
            [
                "w :: WebGen: init: 50 comp: 0 tmo: 0 rst: 0",
                "w :: WebGen: init: 50 comp: 0 tmo: 40 rst: 0"
            ]
        );
        // A segment for no connection is refused.
        let n = sent(&r).len();
        let h = Header {
            sport: 80,
            dport: 999,
            seq: 5,
            ack: 77,
            flags: ACK,
            win: 1,
        };
        r.inject(w, 0, from_server([7, 1, 0, 0], h, &[]));
        let got = sent(&r);
        let (rs, rh, _) = &got[n];
        assert_eq!(
            (*rs, rh.sport, rh.dport, rh.flags, rh.seq, rh.ack),
            ([7, 1, 0, 0], 999, 80, RST, 77, 5)
        );
        // An RST ends a connection.
        let open = sent(&r)
            .iter()
            .rev()
            .find(|(_, h, _)| h.flags == SYN)
            .map(|(s, h, _)| (*s, h.sport))
            .unwrap();
        let rst = Header {
            sport: 80,
            dport: open.1,
            flags: RST,
            ..Header::default()
        };
        let before: usize = r.read("w.open").unwrap().parse().unwrap();
        r.inject(w, 0, from_server(open.0, rst, &[]));
        assert_eq!(
            r.read("w.open").unwrap().parse::<usize>().unwrap(),
            before - 1
        );
        // Garbage is dropped.
        r.inject(w, 0, crate::packet::Packet::from_slice(&[0x45, 0, 0]));
    }

    #[test]
    fn bad_arguments() {
        for bad in [
            "7.1.0.0/16, 1.0.0.1, 0",
            "7.1.0.0/16, 1.0.0.1",
            "x, 1.0.0.1, 5",
        ] {
            let src = alloc::format!("Idle -> WebGen({bad}) -> Idle;");
            assert!(build_from_source(&src).is_err(), "{bad}");
        }
    }
}

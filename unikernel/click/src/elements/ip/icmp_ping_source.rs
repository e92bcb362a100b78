//! `ICMPPingSource(SRC, DST [, KEYWORDS])`: sends ICMP echo requests and,
//! with an input, matches the replies and keeps ping statistics.
//!
//! # Ports
//! At most one input (push), one output (agnostic).
//!
//! # Processing
//! Sends an IP packet from SRC to DST holding an ICMP echo request every
//! INTERVAL (push output), or one per pull (pull output), until LIMIT are
//! sent. The IP header has TTL 200 and ID N (1, 2, ...), the echo carries
//! IDENTIFIER, sequence number N and DATA; both checksums are set, and the
//! packet gets the IP header, destination and timestamp annotations.
//! Packets on the input are examined and dropped: echo replies with our
//! identifier (IP header annotation needed) are matched to their requests
//! by sequence number; with VERBOSE each logs `N bytes from SRC:
//! icmp_seq=S ttl=T time=MS ms` (MS from the reply's timestamp). Replies
//! to any of the last 1024 requests are matched.
//!
//! # Keywords
//! * `SRC`, `DST` (IP addresses): the addresses.
//! * `INTERVAL` (time, default 1s): the send period.
//! * `IDENTIFIER` (0-65535, default 0): the echo identifier.
//! * `LIMIT` (integer, default -1: no limit): requests to send.
//! * `DATA` (string, default empty): the echo payload.
//! * `ACTIVE` (bool, default true): false stops sending.
//! * `VERBOSE` (bool, default true): log each matched reply.
//! * `STOP` (bool, default false): stop the driver once LIMIT are sent.
//!
//! # Handlers
//! * `count` (read): requests sent.
//! * `active`, `src`, `dst` (read/write): the settings.
//! * `limit`, `interval` (write): the settings.
//! * `reset_counts` (write): zeroes the counts and statistics.
//! * `summary` (read, with an input): `N packets transmitted, M received[,
//!   +D duplicates], L% packet loss` and `rtt min/avg/max/mdev =
//!   A/B/C/D` (milliseconds), as ping.
//! * `rtt_min`, `rtt_avg`, `rtt_max` (read, with an input): round-trip
//!   times in seconds.
//!
//! # Example
//! ```text
//! ps :: ICMPPingSource(10.0.0.1, 10.0.0.2, LIMIT 5, STOP true);
//! ps -> ICMPPingResponder -> CheckIPHeader -> ps;
//! ```

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt::Write;

use crate::confparse::{parse_written, Duration, Ipv4};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::{checksum, icmp, ip};
use crate::packet::{Packet, MAX_CONFIG_LEN};
use crate::router::{Ctx, PortKind};
use crate::time::Timestamp;

/// The `ICMPPingSource` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ICMPPingSource",
    ports: "0-1/1",
    processing: "h/a",
    phase: 0,
    make: |args, cx| {
        let src = args.required::<Ipv4>("SRC")?;
        let dst = args.required::<Ipv4>("DST")?;
        let interval = args
            .keyword::<Duration>("INTERVAL")?
            .map_or(Timestamp::from_msec(1000), |d| d.0);
        let id = args.keyword_or::<u16>("IDENTIFIER", 0)?;
        let data = args
            .keyword::<crate::confparse::Bytes>("DATA")?
            .map_or_else(alloc::vec::Vec::new, |b| b.0);
        if data.len() > MAX_CONFIG_LEN - 28 {
            return Err(ConfigError::out_of_range("DATA too long"));
        }
        Ok(Box::new(IcmpPingSource {
            src: src.0,
            dst: dst.0,
            interval: interval_checked(interval)?,
            id,
            data,
            limit: args.keyword_or::<i64>("LIMIT", -1)?,
            active: args.keyword_or("ACTIVE", true)?,
            verbose: args.keyword_or("VERBOSE", true)?,
            stop: args.keyword_or("STOP", false)?,
            has_input: cx.ninputs() > 0,
            count: 0,
            stats: Stats::default(),
        }))
    },
};

const TIMER: u32 = 0;
/// Requests remembered for reply matching.
const WINDOW: u16 = 1024;

fn interval_checked(t: Timestamp) -> Result<Timestamp, ConfigError> {
    if t.0 <= 0 {
        return Err(ConfigError::out_of_range("INTERVAL must be positive"));
    }
    Ok(t)
}

/// Reply statistics, in microseconds.
#[derive(Default)]
struct Stats {
    /// Send time and whether a reply came, by sequence number.
    sent: BTreeMap<u16, (Timestamp, bool)>,
    received: u64,
    duplicates: u64,
    min: u64,
    max: u64,
    sum: u64,
    sum_sq: u128,
}

/// `usec` as `M.UUU` milliseconds.
fn ms(usec: u64) -> String {
    format!("{}.{:03}", usec / 1000, usec % 1000)
}

/// `usec` as seconds, without trailing zeros.
fn secs(usec: u64) -> String {
    let mut s = format!("{}.{:06}", usec / 1_000_000, usec % 1_000_000);
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s
}

/// Sends pings.
pub struct IcmpPingSource {
    src: [u8; 4],
    dst: [u8; 4],
    interval: Timestamp,
    id: u16,
    data: alloc::vec::Vec<u8>,
    limit: i64,
    active: bool,
    verbose: bool,
    stop: bool,
    has_input: bool,
    count: u64,
    stats: Stats,
}

impl IcmpPingSource {
    fn below_limit(&self) -> bool {
        u64::try_from(self.limit).map_or(true, |l| self.count < l)
    }

    fn push_output(cx: &Ctx) -> bool {
        cx.output_kind(0) == Some(PortKind::Push)
    }

    fn schedule(&self, cx: &Ctx, after: Timestamp) {
        if self.active && self.below_limit() && Self::push_output(cx) && !cx.timer_scheduled(TIMER)
        {
            cx.set_timer(TIMER, cx.now() + after);
        }
    }

    fn make_packet(&mut self, cx: &Ctx) -> Option<Packet> {
        let len = ip::MIN_HEADER_LEN + icmp::HEADER_LEN + self.data.len();
        let mut p = cx.alloc(len)?;
        let seq = (self.count % 0xffff) as u16 + 1;
        let now = cx.now();
        {
            let b = p.data_mut();
            b.fill(0);
            b[0] = 0x45;
            ip::put16(b, 2, len as u16);
            ip::put16(b, 4, seq);
            b[8] = 200;
            b[9] = ip::PROTO_ICMP;
            b[12..16].copy_from_slice(&self.src);
            b[16..20].copy_from_slice(&self.dst);
            ip::set_checksum(b, ip::MIN_HEADER_LEN);
            let t = &mut b[ip::MIN_HEADER_LEN..];
            t[0] = icmp::ECHO;
            ip::put16(t, 4, self.id);
            ip::put16(t, 6, seq);
            t[icmp::HEADER_LEN..].copy_from_slice(&self.data);
            let csum = checksum::checksum(t);
            ip::put16(t, 2, csum);
        }
        p.set_ip_header(0, ip::MIN_HEADER_LEN);
        p.set_dst_ip_anno(self.dst);
        p.set_timestamp(now);
        if self.has_input {
            self.stats.sent.insert(seq, (now, false));
            self.stats.sent.remove(&seq.wrapping_sub(WINDOW));
        }
        self.count += 1;
        Some(p)
    }

    /// Matches an echo reply; `None` when `p` is not one of ours.
    fn reply(&mut self, p: &Packet) -> Option<String> {
        let (h, t) = (p.network_header()?, p.transport_header()?);
        if h.len() < ip::MIN_HEADER_LEN
            || h[9] != ip::PROTO_ICMP
            || t.len() < icmp::HEADER_LEN
            || t[0] != icmp::ECHO_REPLY
            || u16::from_be_bytes([t[4], t[5]]) != self.id
        {
            return None;
        }
        let seq = u16::from_be_bytes([t[6], t[7]]);
        let (sent, seen) = self.stats.sent.get_mut(&seq)?;
        let was_seen = core::mem::replace(seen, true);
        let rtt = u64::try_from((p.timestamp() - *sent).0 / 1000).unwrap_or(0);
        let st = &mut self.stats;
        if was_seen {
            st.duplicates += 1;
        }
        if st.received == 0 || rtt < st.min {
            st.min = rtt;
        }
        if st.received == 0 || rtt > st.max {
            st.max = rtt;
        }
        st.sum += rtt;
        st.sum_sq += u128::from(rtt) * u128::from(rtt);
        st.received += 1;
        let ip_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let hl = usize::from(h[0] & 15) * 4;
        Some(format!(
            "{} bytes from {}: icmp_seq={seq} ttl={} time={} ms",
            ip_len.saturating_sub(hl + icmp::HEADER_LEN),
            Ipv4(h[12..16].try_into().ok()?),
            h[8],
            ms(rtt)
        ))
    }

    fn summary(&self) -> String {
        let st = &self.stats;
        let unique = st.received - st.duplicates;
        let mut s = format!("{} packets transmitted, {unique} received", self.count);
        if st.duplicates > 0 {
            let _ = write!(s, ", +{} duplicates", st.duplicates);
        }
        if self.count > 0 {
            let lost = self.count.saturating_sub(unique);
            let _ = writeln!(s, ", {}% packet loss", lost * 100 / self.count);
        }
        if st.received > 0 {
            let n = u128::from(st.received);
            let avg = st.sum / st.received;
            let var = (st.sum_sq / n).saturating_sub(u128::from(avg) * u128::from(avg));
            let mdev = isqrt(var);
            let _ = writeln!(
                s,
                "rtt min/avg/max/mdev = {}/{}/{}/{}",
                ms(st.min),
                ms(avg),
                ms(st.max),
                ms(mdev)
            );
        }
        s
    }
}

/// Integer square root (Newton's method; no floating point in the guest).
fn isqrt(v: u128) -> u64 {
    if v < 2 {
        return v as u64;
    }
    let mut x = v;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + v / x) / 2;
    }
    x as u64
}

const HANDLERS: &[HandlerDecl] = &[
    HandlerDecl::read("count"),
    HandlerDecl::rw("active"),
    HandlerDecl::rw("src"),
    HandlerDecl::rw("dst"),
    HandlerDecl::write("limit"),
    HandlerDecl::write("interval"),
    HandlerDecl::write("reset_counts"),
];

const HANDLERS_WITH_INPUT: &[HandlerDecl] = &[
    HandlerDecl::read("count"),
    HandlerDecl::rw("active"),
    HandlerDecl::rw("src"),
    HandlerDecl::rw("dst"),
    HandlerDecl::write("limit"),
    HandlerDecl::write("interval"),
    HandlerDecl::write("reset_counts"),
    HandlerDecl::read("summary"),
    HandlerDecl::read("rtt_min"),
    HandlerDecl::read("rtt_avg"),
    HandlerDecl::read("rtt_max"),
];

impl Element for IcmpPingSource {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.schedule(cx, self.interval);
        Ok(())
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        if !self.active || !self.below_limit() {
            return;
        }
        // Out of memory this tick is skipped; the next one tries again.
        if let Some(p) = self.make_packet(cx) {
            cx.push(0, p);
        }
        if self.below_limit() {
            self.schedule(cx, self.interval);
        } else if self.stop {
            cx.request_stop();
        }
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        if !self.below_limit() {
            if self.stop {
                cx.request_stop();
            }
            return None;
        }
        if !self.active {
            return None;
        }
        self.make_packet(cx)
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        if let Some(line) = self.reply(&p) {
            if self.verbose {
                cx.log(&line);
            }
        }
        cx.kill(p);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        if self.has_input {
            HANDLERS_WITH_INPUT
        } else {
            HANDLERS
        }
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        let st = &self.stats;
        match name {
            "count" => self.count.to_string(),
            "active" => self.active.to_string(),
            "src" => Ipv4(self.src).to_string(),
            "dst" => Ipv4(self.dst).to_string(),
            "summary" => self.summary(),
            "rtt_min" => secs(st.min),
            "rtt_avg" => secs(st.sum / st.received.max(1)),
            "rtt_max" => secs(st.max),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "active" => {
                self.active = parse_written(value)?;
                if !self.active {
                    cx.cancel_timer(TIMER);
                }
                self.schedule(cx, Timestamp::ZERO);
            }
            "src" => self.src = parse_written::<Ipv4>(value)?.0,
            "dst" => self.dst = parse_written::<Ipv4>(value)?.0,
            "limit" => {
                self.limit = parse_written(value)?;
                self.schedule(cx, self.interval);
            }
            "interval" => self.interval = interval_checked(parse_written::<Duration>(value)?.0)?,
            _ => {
                self.count = 0;
                self.stats = Stats::default();
                self.schedule(cx, self.interval);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::net::checksum;
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};
    use crate::time::Timestamp;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    #[test]
    fn sends_pings_and_matches_replies() {
        let (r, host) = router_from_source(
            "ps :: ICMPPingSource(10.0.0.1, 10.0.0.2, LIMIT 3, IDENTIFIER 7, DATA ab, INTERVAL 100ms);
             ps -> t :: Tee -> ICMPPingResponder -> CheckIPHeader -> ps;
             t[1] -> s :: TestSink;",
        );
        r.run_until_idle();
        let sent = sink_contents(&r, "s");
        assert_eq!(sent.len(), 3);
        let (_, p) = &sent[1];
        assert_eq!(p.len(), 30);
        assert_eq!(&p[..4], &[0x45, 0, 0, 30]);
        assert_eq!(&p[4..6], &[0, 2], "IP ID");
        assert_eq!((p[8], p[9]), (200, 1));
        assert_eq!(&p[12..20], &[10, 0, 0, 1, 10, 0, 0, 2]);
        assert_eq!(checksum::checksum(&p[..20]), 0);
        assert_eq!(&p[20..22], &[8, 0]);
        assert_eq!(&p[24..30], &[0, 7, 0, 2, b'a', b'b']);
        assert_eq!(checksum::checksum(&p[20..]), 0);
        assert_eq!(r.read("ps.count").unwrap(), "3");
        let logs: Vec<String> = host.logs.borrow().clone();
        assert_eq!(logs.len(), 3, "{logs:?}");
        assert!(
            logs[0].ends_with(
                "ps :: ICMPPingSource: 2 bytes from 10.0.0.2: icmp_seq=1 ttl=255 time=0.000 ms"
            ),
            "{logs:?}"
        );
        assert_eq!(
            r.read("ps.summary").unwrap(),
            "3 packets transmitted, 3 received, 0% packet loss\n\
             rtt min/avg/max/mdev = 0.000/0.000/0.000/0.000\n"
        );
        assert_eq!(r.read("ps.rtt_max").unwrap(), "0");
        r.write("ps.reset_counts", "").unwrap();
        assert_eq!(
            r.read("ps.summary").unwrap(),
            "0 packets transmitted, 0 received"
        );
    }

    #[test]
    fn losses_delays_duplicates_and_pull() {
        // Every second reply is lost; the others come back 1.5 ms late.
        let (r, _) = router_from_source(
            "ps :: ICMPPingSource(1.1.1.1, 2.2.2.2, LIMIT 4, VERBOSE false)
               -> ICMPPingResponder -> CheckIPHeader -> rr :: RoundRobinSwitch;
             rr[0] -> s :: TestSink; rr[1] -> Discard;
             Idle -> ps;",
        );
        r.run_until_idle();
        assert_eq!(r.read("ps.count").unwrap(), "4");
        let ps = r.find("ps").unwrap();
        let replies = sink_contents(&r, "s");
        assert_eq!(replies.len(), 2);
        // Requests left 1, 2, 3 and 4 s after the start; the last is now.
        let start = r.now() - Timestamp::from_msec(4000);
        for (i, (_, data)) in replies.iter().enumerate() {
            let mut p = Packet::from_slice(data);
            p.mark_ipv4_header(0);
            let sent = start + Timestamp::from_msec(1000 + 2000 * i as i64);
            p.set_timestamp(sent + Timestamp::from_usec(0, 1500 + 1000 * i as u32));
            r.inject(ps, 0, p.clone());
            if i == 1 {
                r.inject(ps, 0, p);
            }
        }
        assert_eq!(
            r.read("ps.summary").unwrap(),
            "4 packets transmitted, 2 received, +1 duplicates, 50% packet loss\n\
             rtt min/avg/max/mdev = 1.500/2.166/2.500/0.474\n"
        );
        assert_eq!(r.read("ps.rtt_min").unwrap(), "0.0015");
        // A reply with another identifier is ignored.
        let (_, mut other) = replies[0].clone();
        other[24] = 9;
        let mut p = Packet::from_slice(&other);
        p.mark_ipv4_header(0);
        r.inject(ps, 0, p);
        assert!(r.read("ps.summary").unwrap().contains("2 received"));
        // Garbage on the input is dropped quietly.
        r.inject(ps, 0, Packet::from_slice(&[0x45, 1]));

        let (r, _) = router_from_source(
            "ICMPPingSource(1.1.1.1, 2.2.2.2, LIMIT 2, STOP true) -> Unqueue -> s :: TestSink;",
        );
        r.run_until_idle();
        assert_eq!(sink_contents(&r, "s").len(), 2);
    }

    #[test]
    fn argument_errors() {
        for (cfg, want) in [
            ("10.0.0.1", "DST"),
            ("10.0.0.1, nowhere", "DST"),
            ("1.1.1.1, 2.2.2.2, INTERVAL 0", "INTERVAL"),
            ("1.1.1.1, 2.2.2.2, IDENTIFIER 70000", "IDENTIFIER"),
        ] {
            match build_from_source(&format!("ICMPPingSource({cfg}) -> Discard;")) {
                Ok(_) => panic!("{cfg:?} accepted"),
                Err(e) => {
                    let e = format!("{e}");
                    assert!(e.contains(want), "{cfg:?}: {e}");
                }
            }
        }
    }
}

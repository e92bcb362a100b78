//! `IPPrint([LABEL, KEYWORDS])`: logs a one-line, tcpdump-like summary of
//! each IP packet.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! For a packet with an IP header annotation (set by CheckIPHeader or
//! MarkIPHeader) logs one line in Click's format, then passes the packet
//! on unchanged; other packets pass without a line. The line is
//! `LABEL: TIMESTAMP: ` (each part if present), `#AGGREGATE` and/or
//! `paint N` then `: ` if asked, `id N `, `ttl N `, `tos N `, `length N `
//! if asked, then by protocol:
//! * TCP: `SRC.SPORT > DST.DPORT: FLAGS SEQ:END(SEQLEN,PKTLEN,IPLEN) ack
//!   ACK win WIN` (flags `S`, `F`, `R`, `P`, or `.` for none of them;
//!   `ack` only with the ACK flag);
//! * UDP: `SRC.SPORT > DST.DPORT: udp ULEN`;
//! * ICMP: `SRC > DST: icmp echo (ID, SEQ)`, `icmp echo-reply (ID, SEQ)`,
//!   `icmp QDST unreachable CODE [PROTO[/PORT] | (mtu N)]` or `icmp TYPE
//!   [CODE]` with Click's names;
//! * others: `SRC > DST: ip-proto-N`;
//!
//! with `truncated-tcp`/`-udp`/`-icmp`/`-ip` where the headers are cut
//! short, and ` (frag ID:LEN@OFFSET[+])` for fragments. With CONTENTS or
//! PAYLOAD, up to MAXLENGTH bytes of the packet (or of its transport
//! payload) follow, 24 bytes a line in hex grouped by 4 (48 a line,
//! grouped by 8, as ASCII). The lines go to the diagnostic log (standard
//! error; the console in the guest).
//!
//! # Keywords
//! * `LABEL` (string): printed first.
//! * `CONTENTS` (`NONE`, `HEX`, `ASCII`, or a bool; default false): dump
//!   the packet from its start.
//! * `PAYLOAD` (`false`, `true`/`hex`, `ascii`): dump the transport
//!   payload instead; at most one of CONTENTS and PAYLOAD.
//! * `MAXLENGTH` (integer, default 1500; negative: all): bytes dumped
//!   (`NBYTES` is an old name).
//! * `TIMESTAMP` (bool, default true), `ID`, `TTL`, `TOS`, `LENGTH`,
//!   `PAINT`, `AGGREGATE` (bool, default false): print those fields.
//! * `SWAP` (bool, default true): show ICMP echo identifier and sequence
//!   in network byte order (false: byte-swapped, as Click on a
//!   little-endian host).
//! * `ACTIVE` (bool, default true): if false, prints nothing.
//!
//! # Handlers
//! * `active` (read/write): the `ACTIVE` setting.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> IPPrint(in, TTL true) -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use core::fmt::Write;

use crate::confparse::{parse_written, Word};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::elements::classify::compile::names::PROTOCOLS;
use crate::elements::standard::print::Contents;
use crate::error::{ConfigError, ErrorKind};
use crate::net::icmp;
use crate::packet::{anno, Packet};
use crate::router::Ctx;

/// The `IPPrint` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPPrint",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let label = args.optional::<String>("LABEL")?.unwrap_or_default();
        let mut contents = match args.keyword::<Word>("CONTENTS")? {
            None => Contents::None,
            Some(Word(w)) => Contents::parse(&w)?,
        };
        let payload = match args.keyword::<Word>("PAYLOAD")? {
            None => Contents::None,
            Some(Word(w)) => match w.to_ascii_uppercase().as_str() {
                "NO" | "FALSE" => Contents::None,
                "YES" | "TRUE" | "HEX" => Contents::Hex,
                "ASCII" => Contents::Ascii,
                _ => {
                    return Err(ConfigError::new(
                        ErrorKind::BadValue,
                        alloc::format!(
                            "bad payload value '{w}'; should be 'false', 'hex', or 'ascii'"
                        ),
                    ))
                }
            },
        };
        if payload != Contents::None {
            if contents != Contents::None {
                return Err(ConfigError::conflict(
                    "specify at most one of PAYLOAD and CONTENTS",
                ));
            }
            contents = payload;
        }
        let mut maxlength = args.keyword_or::<i32>("MAXLENGTH", 1500)?;
        if let Some(n) = args.keyword::<i32>("NBYTES")? {
            maxlength = n;
        }
        Ok(Box::new(IpPrint {
            label,
            contents,
            payload: payload != Contents::None,
            maxlength,
            timestamp: args.keyword_or("TIMESTAMP", true)?,
            id: args.keyword_or("ID", false)?,
            ttl: args.keyword_or("TTL", false)?,
            tos: args.keyword_or("TOS", false)?,
            length: args.keyword_or("LENGTH", false)?,
            paint: args.keyword_or("PAINT", false)?,
            aggregate: args.keyword_or("AGGREGATE", false)?,
            swap: args.keyword_or("SWAP", true)?,
            active: args.keyword_or("ACTIVE", true)?,
            line: String::new(),
        }))
    },
};

/// Logs IP packet summaries.
pub struct IpPrint {
    label: String,
    contents: Contents,
    payload: bool,
    maxlength: i32,
    timestamp: bool,
    id: bool,
    ttl: bool,
    tos: bool,
    length: bool,
    paint: bool,
    aggregate: bool,
    swap: bool,
    active: bool,
    /// Reused line buffer, so printing does not allocate per packet.
    line: String,
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

struct Addr<'a>(&'a [u8]);

impl core::fmt::Display for Addr<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let a = self.0;
        write!(f, "{}.{}.{}.{}", a[0], a[1], a[2], a[3])
    }
}

fn proto_name(p: u8) -> Option<&'static str> {
    PROTOCOLS
        .iter()
        .find(|(_, v)| *v == u32::from(p))
        .map(|(n, _)| *n)
}

/// The facts of a checked IP header the protocol lines need.
struct Ip<'a> {
    src: Addr<'a>,
    dst: Addr<'a>,
    ip_len: usize,
    hlen: usize,
    first_frag: bool,
}

/// Writes `SRC.SPORT > DST.DPORT: ` for a TCP or UDP header `t`; on a
/// later fragment or a header too short for ports, writes Click's
/// `SRC > DST: proto` (or `truncated-proto`) instead and returns false.
fn ports(s: &mut String, ip: &Ip, t: &[u8], proto: &str) -> bool {
    if t.len() < 4 || !ip.first_frag {
        let cut = if ip.first_frag { "truncated-" } else { "" };
        let _ = write!(s, "{} > {}: {cut}{proto}", ip.src, ip.dst);
        return false;
    }
    let _ = write!(
        s,
        "{}.{} > {}.{}: ",
        ip.src,
        be16(t, 0).unwrap_or(0),
        ip.dst,
        be16(t, 2).unwrap_or(0)
    );
    true
}

impl IpPrint {
    fn tcp(&self, s: &mut String, ip: &Ip, t: &[u8], pkt_len: usize) {
        if !ports(s, ip, t, "tcp") {
            return;
        }
        if t.len() < 14 {
            s.push_str("truncated-tcp");
            return;
        }
        let flags = t[13];
        let mut seqlen = ip.ip_len as i64 - ip.hlen as i64 - i64::from(t[12] >> 4) * 4;
        for (bit, c, counts) in [
            (0x02, 'S', true),
            (0x01, 'F', true),
            (0x04, 'R', false),
            (0x08, 'P', false),
        ] {
            if flags & bit != 0 {
                s.push(c);
                seqlen += i64::from(counts);
            }
        }
        if flags & 0x0f == 0 {
            s.push('.');
        }
        let seq = be32(t, 4).unwrap_or(0);
        let end = seq.wrapping_add(seqlen as u32);
        let _ = write!(s, " {seq}:{end}({seqlen},{pkt_len},{})", ip.ip_len);
        if flags & 0x10 != 0 {
            let _ = write!(s, " ack {}", be32(t, 8).unwrap_or(0));
        }
        match be16(t, 14).filter(|_| t.len() >= 16) {
            Some(win) => {
                let _ = write!(s, " win {win}");
            }
            None => s.push_str("truncated-tcp"),
        }
    }

    fn udp(&self, s: &mut String, ip: &Ip, t: &[u8]) {
        if !ports(s, ip, t, "udp") {
            return;
        }
        match be16(t, 4).filter(|_| t.len() >= 8) {
            Some(ulen) => {
                let _ = write!(s, "udp {ulen}");
            }
            None => s.push_str("truncated-udp"),
        }
    }

    fn icmp(&self, s: &mut String, ip: &Ip, t: &[u8]) {
        let _ = write!(s, "{} > {}: ", ip.src, ip.dst);
        if !ip.first_frag {
            s.push_str("icmp");
            return;
        }
        if !self.icmp_body(s, t) {
            s.push_str("truncated-icmp");
        }
    }

    /// Writes the ICMP description; false when it was cut short.
    fn icmp_body(&self, s: &mut String, t: &[u8]) -> bool {
        let (Some(&ty), Some(&code)) = (t.first(), t.get(1)) else {
            return false;
        };
        match ty {
            icmp::ECHO | icmp::ECHO_REPLY => {
                s.push_str(if ty == icmp::ECHO {
                    "icmp echo "
                } else {
                    "icmp echo-reply "
                });
                let (Some(id), Some(seq)) = (be16(t, 4), be16(t, 6)) else {
                    return false;
                };
                let fix = |v: u16| if self.swap { v } else { v.swap_bytes() };
                let _ = write!(s, "({}, {})", fix(id), fix(seq));
            }
            icmp::UNREACH => {
                let mut code_text = String::new();
                match icmp::code_name(ty, code) {
                    Some(n) => code_text.push_str(n),
                    None => {
                        let _ = write!(code_text, "code {code}");
                    }
                }
                let quoted = t.get(icmp::HEADER_LEN..).unwrap_or(&[]);
                if quoted.len() < 20 {
                    let _ = write!(s, "icmp unreachable {code_text} ");
                    return false;
                }
                let _ = write!(s, "icmp {} unreachable {code_text}", Addr(&quoted[16..20]));
                let proto = quoted[9];
                match code {
                    2 => {
                        let _ = match proto_name(proto) {
                            Some(n) => write!(s, " {n}"),
                            None => write!(s, " {proto}"),
                        };
                    }
                    3 => {
                        let _ = match proto_name(proto) {
                            Some(n) => write!(s, " {n}"),
                            None => write!(s, " protocol {proto}"),
                        };
                        let qhl = usize::from(quoted[0] & 15) * 4;
                        match be16(quoted, qhl + 2) {
                            Some(port) => {
                                let _ = write!(s, "/{port}");
                            }
                            None => return false,
                        }
                    }
                    icmp::UNREACH_NEEDFRAG => {
                        if let Some(mtu) = be16(t, 6).filter(|m| *m != 0) {
                            let _ = write!(s, " (mtu {mtu})");
                        }
                    }
                    _ => {}
                }
            }
            _ => {
                s.push_str("icmp ");
                match icmp::type_name(ty) {
                    Some(n) => s.push_str(n),
                    None => {
                        let _ = write!(s, "type {ty}");
                    }
                }
                match icmp::code_name(ty, code) {
                    Some(n) => {
                        let _ = write!(s, " {n}");
                    }
                    None if code != 0 => {
                        let _ = write!(s, " code {code}");
                    }
                    None => {}
                }
            }
        }
        true
    }

    fn dump(&self, s: &mut String, data: &[u8]) {
        let n = if self.maxlength < 0 {
            data.len()
        } else {
            data.len().min(self.maxlength as usize)
        };
        let (line, group) = match self.contents {
            Contents::None => return,
            Contents::Hex => (24, 4),
            Contents::Ascii => (48, 8),
        };
        for (i, &b) in data[..n].iter().enumerate() {
            if i % line == 0 {
                s.push_str("\n  ");
            } else if i % group == 0 {
                s.push(' ');
            }
            if self.contents == Contents::Hex {
                let _ = write!(s, "{b:02x}");
            } else {
                s.push(if (32..=126).contains(&b) {
                    b as char
                } else {
                    '.'
                });
            }
        }
    }

    /// Formats the line for `p` into `self.line`; false for a packet
    /// without an IP header annotation.
    fn format(&mut self, p: &Packet) -> bool {
        let Some(nh) = p.network_header() else {
            return false;
        };
        let mut s = core::mem::take(&mut self.line);
        s.clear();
        if !self.label.is_empty() {
            let _ = write!(s, "{}: ", self.label);
        }
        if self.timestamp {
            let _ = write!(s, "{}: ", p.timestamp());
        }
        if self.aggregate {
            let _ = write!(s, "#{}", p.anno_u32(anno::AGGREGATE).unwrap_or(0));
        }
        if self.paint {
            let _ = write!(
                s,
                "{}{}",
                if self.aggregate { "." } else { "paint " },
                p.paint()
            );
        }
        if self.aggregate || self.paint {
            s.push_str(": ");
        }
        if nh.len() < 20 {
            s.push_str("truncated-ip");
        } else {
            self.describe(&mut s, p, nh);
        }
        self.line = s;
        true
    }

    fn describe(&self, s: &mut String, p: &Packet, nh: &[u8]) {
        let ip_len = usize::from(be16(nh, 2).unwrap_or(0));
        let hlen = usize::from(nh[0] & 15) * 4;
        let frag = be16(nh, 6).unwrap_or(0);
        let ip = Ip {
            src: Addr(&nh[12..16]),
            dst: Addr(&nh[16..20]),
            ip_len,
            hlen,
            first_frag: frag & 0x1fff == 0,
        };
        let payload_len = ip_len as i64 - hlen as i64;
        let transport: &[u8] = p.transport_header().unwrap_or(&[]);
        let t = &transport[..transport.len().min(payload_len.max(0) as usize)];
        if self.id {
            let _ = write!(s, "id {} ", be16(nh, 4).unwrap_or(0));
        }
        if self.ttl {
            let _ = write!(s, "ttl {} ", nh[8]);
        }
        if self.tos {
            let _ = write!(s, "tos {} ", nh[1]);
        }
        if self.length {
            let _ = write!(s, "length {ip_len} ");
        }
        match nh[9] {
            6 => self.tcp(s, &ip, t, p.len()),
            17 => self.udp(s, &ip, t),
            1 => self.icmp(s, &ip, t),
            proto => {
                let _ = write!(s, "{} > {}: ip-proto-{proto}", ip.src, ip.dst);
            }
        }
        if frag & 0x3fff != 0 {
            let more = if frag & 0x2000 != 0 { "+" } else { "" };
            let _ = write!(
                s,
                " (frag {}:{payload_len}@{}{more})",
                be16(nh, 4).unwrap_or(0),
                usize::from(frag & 0x1fff) * 8
            );
        }
        if self.contents != Contents::None {
            let data = if !self.payload {
                p.data()
            } else {
                let skip = match nh[9] {
                    _ if !ip.first_frag => 0,
                    6 => transport.get(12).map_or(0, |o| usize::from(o >> 4) * 4),
                    17 => 8,
                    _ => 0,
                };
                transport.get(skip..).unwrap_or(&[])
            };
            self.dump(s, data);
        }
    }

    fn action(&mut self, cx: &Ctx, p: Packet) -> Option<Packet> {
        if self.active && self.format(&p) {
            cx.host().log(&self.line);
        }
        Some(p)
    }
}

impl Element for IpPrint {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("active")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.active.to_string()
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), ConfigError> {
        self.active = parse_written(value)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use alloc::string::String;
    use alloc::vec::Vec;

    /// An IPv4 packet from 10.0.0.1 to 10.0.0.2 with protocol `proto`
    /// and transport bytes `l4`, its header annotation set.
    fn ip(proto: u8, l4: &[u8]) -> Vec<u8> {
        let mut v =
            alloc::vec![0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        v.extend_from_slice(l4);
        let len = v.len() as u16;
        v[2..4].copy_from_slice(&len.to_be_bytes());
        v
    }

    fn printed(cfg: &str, data: &[u8]) -> String {
        let (r, host) = router(fed(
            &[("p", "IPPrint", cfg), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)],
        ));
        let mut p = Packet::from_slice(data);
        p.mark_ipv4_header(0);
        p.set_timestamp(crate::time::Timestamp::from_usec(1, 5));
        r.inject(0, 0, p);
        assert_eq!(sink_contents(&r, "s").len(), 1);
        let logs: Vec<String> = host.logs.borrow().clone();
        logs.join("\n")
    }

    fn tcp(flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut t = alloc::vec![
            0x04, 0xd2, 0, 80, 0, 0, 0, 100, 0, 0, 0, 7, 0x50, flags, 0x10, 0, 0, 0, 0, 0
        ];
        t.extend_from_slice(payload);
        ip(6, &t)
    }

    #[test]
    fn tcp_udp_and_other_lines() {
        assert_eq!(
            printed("x", &tcp(0x02, &[])),
            "x: 1.000005: 10.0.0.1.1234 > 10.0.0.2.80: S 100:101(1,40,40) win 4096"
        );
        assert_eq!(
            printed("TIMESTAMP false", &tcp(0x18, b"abc")),
            "10.0.0.1.1234 > 10.0.0.2.80: P 100:103(3,43,43) ack 7 win 4096"
        );
        assert_eq!(
            printed("TIMESTAMP false, ID true, TTL true, TOS true, LENGTH true", &tcp(0x10, &[])),
            "id 4660 ttl 64 tos 0 length 40 10.0.0.1.1234 > 10.0.0.2.80: . 100:100(0,40,40) ack 7 win 4096"
        );
        assert_eq!(
            printed(
                "TIMESTAMP false",
                &ip(17, &[0, 53, 0x30, 0x39, 0, 12, 0, 0, 1, 2, 3, 4])
            ),
            "10.0.0.1.53 > 10.0.0.2.12345: udp 12"
        );
        assert_eq!(
            printed("TIMESTAMP false", &ip(47, &[1, 2])),
            "10.0.0.1 > 10.0.0.2: ip-proto-47"
        );
        assert_eq!(
            printed("TIMESTAMP false", &ip(6, &[0, 1, 0, 2, 9])),
            "10.0.0.1.1 > 10.0.0.2.2: truncated-tcp"
        );
        assert_eq!(
            printed("TIMESTAMP false", &ip(17, &[0])),
            "10.0.0.1 > 10.0.0.2: truncated-udp"
        );
        let mut frag = ip(17, &[0, 1, 0, 2, 0, 8, 0, 0]);
        frag[6] = 0x20;
        frag[7] = 3;
        assert_eq!(
            printed("TIMESTAMP false", &frag),
            "10.0.0.1 > 10.0.0.2: udp (frag 4660:8@24+)"
        );
    }

    #[test]
    fn icmp_lines() {
        let echo = ip(1, &[8, 0, 0, 0, 0x01, 0x02, 0, 9]);
        assert_eq!(
            printed("TIMESTAMP false", &echo),
            "10.0.0.1 > 10.0.0.2: icmp echo (258, 9)"
        );
        assert_eq!(
            printed("TIMESTAMP false, SWAP false", &echo),
            "10.0.0.1 > 10.0.0.2: icmp echo (513, 2304)"
        );
        let mut quoted = ip(17, &[0, 1, 0, 53]);
        quoted[16..20].copy_from_slice(&[8, 8, 8, 8]);
        let mut unreach = alloc::vec![3, 3, 0, 0, 0, 0, 0, 0];
        unreach.extend_from_slice(&quoted);
        assert_eq!(
            printed("TIMESTAMP false", &ip(1, &unreach)),
            "10.0.0.1 > 10.0.0.2: icmp 8.8.8.8 unreachable port udp/53"
        );
        assert_eq!(
            printed("TIMESTAMP false", &ip(1, &[3, 4, 0, 0, 0, 0, 5, 0xdc])),
            "10.0.0.1 > 10.0.0.2: icmp unreachable needfrag truncated-icmp"
        );
        assert_eq!(
            printed("TIMESTAMP false", &ip(1, &[11, 0, 0, 0, 0, 0, 0, 0])),
            "10.0.0.1 > 10.0.0.2: icmp timeexceeded transit"
        );
        assert_eq!(
            printed("TIMESTAMP false", &ip(1, &[42, 7])),
            "10.0.0.1 > 10.0.0.2: icmp type 42 code 7"
        );
        assert_eq!(
            printed("TIMESTAMP false", &ip(1, &[8])),
            "10.0.0.1 > 10.0.0.2: truncated-icmp"
        );
    }

    #[test]
    fn contents_payload_and_no_header() {
        let data = tcp(0x18, b"Hello, world! 0123456789abcdefghijklmnopqrstuvwxyz");
        let s = printed("TIMESTAMP false, CONTENTS true, MAXLENGTH 28", &data);
        assert_eq!(
            s,
            "10.0.0.1.1234 > 10.0.0.2.80: P 100:150(50,90,90) ack 7 win 4096\n  \
             4500005a 12340000 40060000 0a000001 0a000002 04d20050\n  \
             00000064"
        );
        let s = printed("TIMESTAMP false, PAYLOAD ascii, MAXLENGTH -1", &data);
        assert!(
            s.ends_with("win 4096\n  Hello, w orld! 01 23456789 abcdefgh ijklmnop qrstuvwx\n  yz"),
            "{s}"
        );
        // Without an IP header annotation nothing is printed.
        let (r, host) = router(fed(
            &[("p", "IPPrint", ""), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)],
        ));
        r.inject(0, 0, Packet::from_slice(&data));
        assert!(host.logs.borrow().is_empty());
        assert_eq!(sink_contents(&r, "s").len(), 1);
        // A header cut to 12 bytes.
        let mut p = Packet::from_slice(&data[..12]);
        p.set_ip_header(0, 12);
        r.inject(0, 0, p);
        assert!(
            host.logs.borrow()[0].ends_with("truncated-ip"),
            "{:?}",
            host.logs.borrow()
        );
    }

    #[test]
    fn argument_errors() {
        for cfg in [
            "CONTENTS true, PAYLOAD true",
            "PAYLOAD bits",
            "CONTENTS binary",
            "TTL maybe",
            "OUTFILE x",
        ] {
            assert!(
                build(fed(
                    &[("p", "IPPrint", cfg), ("s", "TestSink", "")],
                    &[(0, 0, 1, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
    }
}

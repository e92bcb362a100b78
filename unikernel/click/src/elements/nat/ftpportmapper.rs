//! `FTPPortMapper(CONTROL_REWRITER, DATA_REWRITER, DATA_REWRITER_INPUT)`: maps
//! the data connections FTP `PORT` commands announce through an
//! IPRewriter-like element.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Takes FTP control packets (IPv4 TCP, the IP header at the network
//! header annotation, else at the start of the data) on their way into
//! CONTROL_REWRITER (a `TCPRewriter`). A packet whose payload starts with
//! a complete `PORT h1,h2,h3,h4,p1,p2` command makes DATA_REWRITER (any
//! IPRewriter-like element) map the data connection as if its first
//! packet, from the announced address and port to the control
//! connection's destination and its port minus one (FTP's data port), had
//! arrived on DATA_REWRITER's input DATA_REWRITER_INPUT (usually a
//! pattern). The command is rewritten to announce the mapped address and
//! port, and the TCP checksum is updated; the packet's addresses and ports
//! are not changed.
//!
//! Click changes the packet's length and has CONTROL_REWRITER shift the
//! connection's sequence numbers to match; this engine's TCPRewriter has
//! no sequence-number translation, so the new command is written in the
//! old one's length instead: a shorter one gets leading zeros on its
//! first number (`PORT 001,0,0,1,35,40`), and when the new one is longer
//! the command is left as it was (counted in `unmapped`). Packets that carry no
//! `PORT` command, or when DATA_REWRITER makes no mapping, pass unchanged.
//!
//! # Keywords
//! * `CONTROL_REWRITER` (element name): a TCPRewriter.
//! * `DATA_REWRITER` (element name): an IPRewriter, TCPRewriter,
//!   UDPRewriter, IPAddrRewriter or ICMPPingRewriter.
//! * `DATA_REWRITER_INPUT` (integer): one of DATA_REWRITER's inputs.
//!
//! # Handlers
//! * `mapped` (read): PORT commands rewritten.
//! * `unmapped` (read): PORT commands left as they were.
//!
//! # Example
//! ```text
//! rw :: IPRewriter(pattern 1.0.0.1 9000-14000# - - 0 1, drop);
//! tcp_rw :: TCPRewriter(pattern 1.0.0.1 1024-65535# - - 0 1, drop);
//! inside -> FTPPortMapper(tcp_rw, rw, 0) -> [0]tcp_rw;
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::icmprewriter::{rewriter_of, rewriter_ref};
use super::tcprewriter::TcpRewriter;
use super::xlat;
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::error::{ConfigError, ErrorKind};
use crate::net::ip;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `FTPPortMapper` class.
pub static CLASS: ElementClass = ElementClass {
    name: "FTPPortMapper",
    ports: "1/1",
    processing: "a/a",
    // After the rewriters, so their classes and inputs can be checked.
    phase: 1,
    make: |args, cx| {
        let control = args.required::<String>("CONTROL_REWRITER")?;
        let data = args.required::<String>("DATA_REWRITER")?;
        let input = args.required::<usize>("DATA_REWRITER_INPUT")?;
        let bad = |m: String| ConfigError::new(ErrorKind::BadValue, m);
        match cx.element(&control) {
            None => {
                return Err(bad(format!(
                    "CONTROL_REWRITER: {}",
                    cx.no_element(&control)
                )))
            }
            Some(e) if e.downcast_ref::<TcpRewriter>().is_none() => {
                return Err(bad(format!(
                    "CONTROL_REWRITER: '{control}' is not a TCPRewriter"
                )))
            }
            Some(_) => {}
        }
        let (Some(di), Some(de)) = (cx.element_index(&data), cx.element(&data)) else {
            return Err(bad(format!("DATA_REWRITER: {}", cx.no_element(&data))));
        };
        let Some(rw) = rewriter_ref(de) else {
            return Err(bad(format!(
                "DATA_REWRITER: '{data}' is not an IP rewriter (IPRewriter, TCPRewriter, UDPRewriter, IPAddrRewriter, ICMPPingRewriter)"
            )));
        };
        if input >= rw.ninputs() {
            return Err(ConfigError::out_of_range(format!(
                "DATA_REWRITER_INPUT: '{data}' has {} inputs, not {}",
                rw.ninputs(),
                input + 1
            )));
        }
        Ok(Box::new(FtpPortMapper {
            data: di,
            input,
            mapped: 0,
            unmapped: 0,
        }))
    },
};

/// Rewrites FTP PORT commands through a rewriter's mappings.
pub struct FtpPortMapper {
    data: usize,
    input: usize,
    mapped: u64,
    unmapped: u64,
}

/// A PORT command at the start of `payload`: its address, port and length
/// up to (not including) its line end.
fn parse_port(payload: &[u8]) -> Option<([u8; 4], u16, usize)> {
    if payload.len() < 5 || !payload[..5].eq_ignore_ascii_case(b"PORT ") {
        return None;
    }
    let end = payload.iter().position(|&c| c == b'\r' || c == b'\n')?;
    let text = core::str::from_utf8(&payload[5..end]).ok()?;
    let mut n = [0u8; 6];
    let mut parts = text.trim().split(',');
    for x in n.iter_mut() {
        *x = parts.next()?.trim().parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let port = u16::from_be_bytes([n[4], n[5]]);
    Some(([n[0], n[1], n[2], n[3]], port, end))
}

/// `PORT a,b,c,d,p1,p2` padded with leading zeros to `len` bytes, if it
/// fits.
fn port_command(a: [u8; 4], port: u16, len: usize) -> Option<Vec<u8>> {
    let [p1, p2] = port.to_be_bytes();
    let rest = format!(",{},{},{},{},{}", a[1], a[2], a[3], p1, p2);
    let first = a[0].to_string();
    let pad = len.checked_sub(5 + first.len() + rest.len())?;
    let mut v = b"PORT ".to_vec();
    v.resize(5 + pad, b'0');
    v.extend_from_slice(first.as_bytes());
    v.extend_from_slice(rest.as_bytes());
    Some(v)
}

impl FtpPortMapper {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let off = p
            .network_header_offset()
            .and_then(|o| usize::try_from(o).ok())
            .unwrap_or(0);
        let Some(((src, dst), (l4, data, end), (addr, port))) = (|| {
            let b = p.data().get(off..)?;
            let (hlen, len) = ip::check(b, false).ok()?;
            let h = ip::Ipv4Header::new(b)?;
            if h.protocol() != ip::PROTO_TCP || h.is_fragment() || len < hlen + 20 {
                return None;
            }
            let thlen = usize::from(b[hlen + 12] >> 4) * 4;
            if thlen < 20 || len < hlen + thlen {
                return None;
            }
            let (addr, port, end) = parse_port(&b[hlen + thlen..len])?;
            let dport = ip::get16(b, hlen + 2);
            Some((
                (h.src(), (h.dst(), dport)),
                (off + hlen, off + hlen + thlen, end),
                (addr, port),
            ))
        })() else {
            return Some(p);
        };
        // The data connection's first packet, as the client would send it.
        let (server, cport) = dst;
        let Some(mut probe) = cx.alloc(40) else {
            self.unmapped += 1;
            return Some(p);
        };
        let d = probe.data_mut();
        xlat::write_ipv4(d, 0, 40, false, 64, ip::PROTO_TCP, &addr, &server);
        d[20..].fill(0);
        ip::put16(d, 20, port);
        ip::put16(d, 22, cport.wrapping_sub(1));
        d[32] = 0x50;
        d[33] = 0x02;
        let now = cx.now().msec();
        let input = self.input;
        let out = cx
            .with_element(self.data, |e, ecx| {
                rewriter_of(e).and_then(|rw| rw.process(ecx, input, &mut probe, now))
            })
            .flatten();
        let new = out.and_then(|_| {
            let d = probe.data();
            let a = [d[12], d[13], d[14], d[15]];
            port_command(a, ip::get16(d, 20), end)
        });
        cx.kill(probe);
        let Some(new) = new else {
            self.unmapped += 1;
            return Some(p);
        };
        let d = p.data_mut();
        d[data..data + end].copy_from_slice(&new);
        let tcp_len = ip::get16(d, off + 2) as usize - (l4 - off);
        let pseudo = xlat::pseudo4(&src, &server, ip::PROTO_TCP, tcp_len);
        xlat::set_sum(&mut d[l4..l4 + tcp_len], 16, pseudo, false);
        self.mapped += 1;
        Some(p)
    }
}

impl Element for FtpPortMapper {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("mapped"), HandlerDecl::read("unmapped")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "mapped" => self.mapped.to_string(),
            _ => self.unmapped.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_port, port_command};
    use crate::net::{checksum, ip};
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    #[test]
    fn parses_and_writes_port_commands() {
        assert_eq!(
            parse_port(b"PORT 1,0,0,2,3,9\r\nrest"),
            Some(([1, 0, 0, 2], 777, 16))
        );
        assert_eq!(
            parse_port(b"port 1,0,0,2,3,9\n"),
            Some(([1, 0, 0, 2], 777, 16))
        );
        assert_eq!(parse_port(b"PORT 1,0,0,2,3\r\n"), None);
        assert_eq!(parse_port(b"PORT 1,0,0,2,3,900\r\n"), None);
        assert_eq!(parse_port(b"PORT 1,0,0,2,3,9"), None);
        assert_eq!(parse_port(b"LIST\r\n"), None);
        assert_eq!(
            port_command([1, 0, 0, 1], 9000, 20).as_deref(),
            Some(&b"PORT 001,0,0,1,35,40"[..])
        );
        assert_eq!(port_command([10, 0, 0, 1], 9000, 16), None);
    }

    fn ftp(payload: &[u8]) -> alloc::vec::Vec<u8> {
        let (src, dst) = ([10, 0, 0, 2], [2, 0, 0, 2]);
        let mut t = alloc::vec![0u8; 20];
        ip::put16(&mut t, 0, 6587);
        ip::put16(&mut t, 2, 21);
        t[12] = 0x50;
        t[13] = 0x18;
        t.extend_from_slice(payload);
        let n = t.len();
        super::xlat::set_sum(&mut t, 16, super::xlat::pseudo4(&src, &dst, 6, n), false);
        ip::build(src, dst, 6, 64, &t)
    }

    #[test]
    fn port_command_installs_a_data_mapping_and_is_rewritten() {
        let (r, _) = router_from_source(
            "rw :: IPRewriter(pattern 1.0.0.1 9000-14000# - - 0 1, drop);
             tcp_rw :: TCPRewriter(pattern 1.0.0.1 1024-65535 - - 0 1, drop);
             Idle -> [0]rw; Idle -> [1]rw; rw[0] -> Discard; rw[1] -> Discard;
             Idle -> fpm :: FTPPortMapper(tcp_rw, rw, 0) -> s :: TestSink;
             Idle -> [0]tcp_rw; Idle -> [1]tcp_rw; tcp_rw[0] -> Discard; tcp_rw[1] -> Discard;",
        );
        let fpm = r.find("fpm").unwrap();
        r.inject(fpm, 0, Packet::from_slice(&ftp(b"PORT 10,0,0,2,3,99\r\n")));
        r.inject(fpm, 0, Packet::from_slice(&ftp(b"LIST\r\n")));
        r.inject(fpm, 0, Packet::from_slice(&ftp(b"PORT 10,0,0,2,13,99\r\n")));
        // Too short to hold the new command: left as it was.
        r.inject(fpm, 0, Packet::from_slice(&ftp(b"PORT 9,0,0,2,3,9\r\n")));
        let out = sink_contents(&r, "s");
        assert_eq!(out.len(), 4);
        let p = &out[0].1;
        assert_eq!(&p[40..], b"PORT 1,0,0,1,35,40\r\n");
        for (_, p) in &out {
            assert_eq!(ip::check(p, true), Ok((20, p.len())));
            let sum = checksum::finish(checksum::add(
                super::xlat::pseudo4(&[10, 0, 0, 2], &[2, 0, 0, 2], 6, p.len() - 20),
                &p[20..],
            ));
            assert_eq!(sum, 0);
        }
        assert_eq!(&out[1].1[40..], b"LIST\r\n");
        assert_eq!(&out[2].1[40..], b"PORT 01,0,0,1,35,41\r\n");
        assert_eq!(&out[3].1[40..], b"PORT 9,0,0,2,3,9\r\n");
        // The data mapping: 10.0.0.2:867 -> 2.0.0.2:20 leaves as 1.0.0.1:9000.
        let table = r.read("rw.tcp_table").unwrap();
        assert!(
            table.contains("(10.0.0.2, 867, 2.0.0.2, 20) => (1.0.0.1, 9000, 2.0.0.2, 20)"),
            "{table}"
        );
        assert_eq!(r.read("fpm.unmapped").unwrap(), "1");
        assert_eq!(r.read("fpm.mapped").unwrap(), "2");
    }

    #[test]
    fn bad_arguments_are_refused() {
        let base = "rw :: IPRewriter(pattern 1.0.0.1 9000-14000 - - 0 1, drop);
             c :: Counter; Idle -> [1]rw; rw[0] -> Discard; rw[1] -> Discard;
             Idle -> c -> Discard;";
        for (args, want) in [
            ("rw, rw, 0", "not a TCPRewriter"),
            ("nope, rw, 0", "no element named 'nope'"),
            ("rw, rw, 0", "CONTROL_REWRITER"),
        ] {
            let e = build_from_source(&alloc::format!(
                "{base} Idle -> FTPPortMapper({args}) -> Discard;"
            ))
            .err()
            .unwrap();
            assert!(alloc::format!("{e:?}").contains(want), "{args}: {e:?}");
        }
        let base = "rw :: TCPRewriter(pattern 1.0.0.1 9000-14000 - - 0 1, drop);
             c :: Counter; Idle -> [1]rw; rw[0] -> Discard; rw[1] -> Discard;
             Idle -> c -> Discard;";
        for (args, want) in [
            ("rw, c, 0", "not an IP rewriter"),
            ("rw, rw, 2", "has 2 inputs, not 3"),
        ] {
            let e = build_from_source(&alloc::format!(
                "{base} Idle -> FTPPortMapper({args}) -> Discard;"
            ))
            .err()
            .unwrap();
            assert!(alloc::format!("{e:?}").contains(want), "{args}: {e:?}");
        }
    }
}

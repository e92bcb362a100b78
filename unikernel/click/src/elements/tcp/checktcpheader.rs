//! `CheckTCPHeader([VERBOSE, DETAILS])`: checks the TCP header length and checksum of TCP/IP packets.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! Expects packets with their IP header annotation set (`CheckIPHeader`,
//! `MarkIPHeader`). A packet is bad, checked in this order, if it has no
//! IP header annotation or is not TCP ("not TCP"), if its TCP data offset
//! is below 20 bytes or beyond the IP length, or the IP length runs past
//! the packet ("bad packet length"), or if its TCP checksum is wrong ("bad
//! TCP checksum"). Bad packets leave on output 1, or are dropped if there
//! is no output 1; the first one (every one with `VERBOSE`) is reported.
//! Good packets leave on output 0 unchanged.
//!
//! # Keywords
//! * `VERBOSE` (bool, default false): report every bad packet.
//! * `DETAILS` (bool, default false): count drops per reason.
//!
//! # Handlers
//! * `drops` (read): bad packets seen.
//! * `drop_details` (read, only with `DETAILS true`): one line per reason,
//!   `COUNT<TAB>REASON`, in the order above.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader
//!   -> IPClassifier(tcp) -> c :: CheckTCPHeader -> Discard;
//! c[1] -> Print(bad) -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};

use super::HEADER_LEN;
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::elements::ip::set_tcp_checksum::pseudo_header_sum;
use crate::net::{checksum, ip};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `CheckTCPHeader` class.
pub static CLASS: ElementClass = ElementClass {
    name: "CheckTCPHeader",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| {
        let verbose = args.keyword_or("VERBOSE", false)?;
        let details = args.keyword_or("DETAILS", false)?;
        Ok(Box::new(CheckTcpHeader {
            verbose,
            details: details.then_some([0; 3]),
            drops: 0,
        }))
    },
};

const REASONS: [&str; 3] = ["not TCP", "bad packet length", "bad TCP checksum"];

/// Checks TCP headers.
pub struct CheckTcpHeader {
    verbose: bool,
    details: Option<[u64; 3]>,
    drops: u64,
}

/// Why `p` is bad (an index into [`REASONS`]), if it is.
fn check(p: &Packet) -> Result<(), usize> {
    let Some(iph) = p.network_header() else {
        return Err(0);
    };
    if iph.len() < ip::MIN_HEADER_LEN || iph[9] != ip::PROTO_TCP {
        return Err(0);
    }
    let hl = usize::from(iph[0] & 0x0f) * 4;
    let len = usize::from(ip::get16(iph, 2))
        .checked_sub(hl)
        .ok_or(1usize)?;
    if iph.len() < hl + len {
        return Err(1);
    }
    let t = &iph[hl..hl + len];
    let tl = t.get(12).map_or(0, |b| usize::from(b >> 4) * 4);
    if tl < HEADER_LEN || len < tl {
        return Err(1);
    }
    let acc = pseudo_header_sum(iph, ip::PROTO_TCP, len as u16);
    if checksum::finish(checksum::add(acc, t)) != 0 {
        return Err(2);
    }
    Ok(())
}

impl CheckTcpHeader {
    fn action(&mut self, cx: &Ctx, p: Packet) -> Option<Packet> {
        match check(&p) {
            Ok(()) => Some(p),
            Err(r) => {
                if self.drops == 0 || self.verbose {
                    cx.log(&format!("TCP header check failed: {}", REASONS[r]));
                }
                self.drops += 1;
                if let Some(d) = &mut self.details {
                    d[r] += 1;
                }
                cx.push(1, p);
                None
            }
        }
    }
}

impl Element for CheckTcpHeader {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const PLAIN: &[HandlerDecl] = &[HandlerDecl::read("drops")];
        const DETAILED: &[HandlerDecl] = &[
            HandlerDecl::read("drops"),
            HandlerDecl::read("drop_details"),
        ];
        if self.details.is_some() {
            DETAILED
        } else {
            PLAIN
        }
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match (name, &self.details) {
            ("drop_details", Some(d)) => REASONS
                .iter()
                .zip(d)
                .map(|(r, n)| format!("{n}\t{r}\n"))
                .collect(),
            _ => self.drops.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ip_tcp_packet, Header, ACK};
    use crate::packet::Packet;
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn good_segments_pass_and_bad_ones_are_counted() {
        let (r, host) = router_from_source(
            "Idle -> c :: CheckTCPHeader(DETAILS true) -> s :: TestSink; c[1] -> e :: TestSink;",
        );
        let c = r.find("c").unwrap();
        let h = Header {
            sport: 1,
            dport: 2,
            seq: 3,
            ack: 4,
            flags: ACK,
            win: 5,
        };
        let good = ip_tcp_packet([10, 0, 0, 1], [10, 0, 0, 2], 0, &h, b"data").unwrap();
        let bytes = good.data().to_vec();
        r.inject(c, 0, good);
        // A flipped payload bit breaks the checksum.
        let mut b = bytes.clone();
        b[43] ^= 1;
        let mut p = Packet::from_slice(&b);
        p.set_ip_header(0, 20);
        r.inject(c, 0, p);
        // A data offset of 4 words.
        let mut b = bytes.clone();
        b[32] = 0x40;
        let mut p = Packet::from_slice(&b);
        p.set_ip_header(0, 20);
        r.inject(c, 0, p);
        // No IP header annotation; UDP.
        r.inject(c, 0, Packet::from_slice(&bytes));
        let mut b = bytes.clone();
        b[9] = 17;
        let mut p = Packet::from_slice(&b);
        p.set_ip_header(0, 20);
        r.inject(c, 0, p);
        // An IP length beyond the packet.
        let mut p = Packet::from_slice(&bytes[..30]);
        p.set_ip_header(0, 20);
        r.inject(c, 0, p);
        assert_eq!(sink_contents(&r, "s").len(), 1);
        assert_eq!(sink_contents(&r, "e").len(), 5);
        assert_eq!(r.read("c.drops").unwrap(), "5");
        assert_eq!(
            r.read("c.drop_details").unwrap(),
            "2\tnot TCP\n2\tbad packet length\n1\tbad TCP checksum\n"
        );
        assert_eq!(host.logs.borrow().len(), 1, "only the first is reported");
    }
}

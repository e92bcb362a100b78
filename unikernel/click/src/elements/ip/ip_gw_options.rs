//! `IPGWOptions(MYADDR [, OTHERADDRS])`: processes Record Route and Timestamp options.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! Reads the IP header at the IP header annotation (or the start of the
//! packet when it is unset) and walks its options. Record Route: when
//! there is room, `MYADDR` is written at the pointer and the pointer
//! advances by 4. Timestamp: with flag 0 the time (milliseconds since
//! midnight UT) is written; with flag 1, `MYADDR` then the time; with flag
//! 3, the time is written only if the address at the pointer is `MYADDR`
//! or one of `OTHERADDRS`. A full Timestamp option instead increments its
//! overflow count. The header checksum is recomputed when anything
//! changed, and the packet leaves on output 0. A packet with a bad option
//! (length, pointer, unknown timestamp flag, overflow count wrapping) gets
//! the offset of the bad byte in the `ICMP_PARAMPROB` annotation and
//! leaves unchanged on output 1 (dropped if it is not connected); a packet
//! whose header is malformed or runs past the packet is dropped. Both
//! count in `drops`.
//!
//! # Keywords
//! * `MYADDR` (IP address): the address recorded.
//! * `OTHERADDRS` (space-separated IP addresses): further addresses of
//!   this router, for prespecified timestamps.
//!
//! # Handlers
//! * `drops` (read): packets with bad options or headers.
//!
//! # Example
//! ```text
//! o :: IPGWOptions(10.0.0.254);
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> o -> Discard;
//! o[1] -> ICMPError(10.0.0.254, parameterproblem) -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::confparse::{Context, FromArg, Ipv4};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::ip;
use crate::packet::{anno, Packet};
use crate::router::Ctx;

/// Option types handled.
const OPT_EOL: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_RR: u8 = 7;
const OPT_TS: u8 = 68;

/// The `IPGWOptions` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPGWOptions",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| {
        let me = args.required::<Ipv4>("MYADDR")?;
        let others = match args.optional::<String>("OTHERADDRS")? {
            Some(text) => {
                let text = args.resolve_names(&text, Context::Rules);
                text.split_whitespace()
                    .map(|w| {
                        Ipv4::from_arg(w)
                            .ok_or_else(|| ConfigError::bad_value("OTHERADDRS", Ipv4::EXPECTED, w))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            None => Vec::new(),
        };
        Ok(Box::new(IpGwOptions {
            me,
            others,
            drops: 0,
        }))
    },
};

/// Gateway processing of IP options.
pub struct IpGwOptions {
    me: Ipv4,
    others: Vec<Ipv4>,
    drops: u64,
}

/// What became of a header.
enum Outcome {
    /// Fine (changed or not).
    Ok,
    /// A bad option: the offset of the offending byte in the header.
    Problem(usize),
    /// Not a usable IP header.
    Malformed,
}

impl IpGwOptions {
    fn is_mine(&self, a: &[u8]) -> bool {
        a == self.me.0 || self.others.iter().any(|o| a == o.0)
    }

    /// Processes the options in `h` (the IP header and what follows).
    fn process(&self, h: &mut [u8], now_ms: u32) -> Outcome {
        if h.len() < ip::MIN_HEADER_LEN {
            return Outcome::Malformed;
        }
        let hlen = ((h[0] & 0x0F) as usize) << 2;
        if hlen < ip::MIN_HEADER_LEN || hlen > h.len() {
            return Outcome::Malformed;
        }
        let mut changed = false;
        let mut i = ip::MIN_HEADER_LEN;
        while i < hlen {
            let t = h[i];
            if t == OPT_EOL {
                break;
            }
            if t == OPT_NOP {
                i += 1;
                continue;
            }
            if i + 1 >= hlen {
                return Outcome::Problem(i);
            }
            let len = h[i + 1] as usize;
            if len < 2 || i + len > hlen {
                return Outcome::Problem(i + 1);
            }
            let opt = &mut h[i..i + len];
            let r = match t {
                OPT_RR => self.record_route(opt),
                OPT_TS => self.timestamp(opt, now_ms),
                _ => Ok(false),
            };
            match r {
                Ok(c) => changed |= c,
                Err(at) => return Outcome::Problem(i + at),
            }
            i += len;
        }
        if changed {
            ip::set_checksum(h, hlen);
        }
        Outcome::Ok
    }

    /// Record Route; `Err(offset in the option)` for a bad one.
    fn record_route(&self, o: &mut [u8]) -> Result<bool, usize> {
        if o.len() < 3 {
            return Err(1);
        }
        let ptr = o[2] as usize;
        if ptr < 4 {
            return Err(2);
        }
        if ptr + 3 > o.len() {
            return Ok(false); // full
        }
        o[ptr - 1..ptr + 3].copy_from_slice(&self.me.0);
        o[2] += 4;
        Ok(true)
    }

    /// Timestamp; `Err(offset in the option)` for a bad one.
    fn timestamp(&self, o: &mut [u8], now_ms: u32) -> Result<bool, usize> {
        if o.len() < 4 {
            return Err(1);
        }
        let ptr = o[2] as usize;
        let flag = o[3] & 0x0F;
        if ptr < 5 {
            return Err(2);
        }
        let entry = match flag {
            0 => 4,
            1 | 3 => 8,
            _ => return Err(3),
        };
        if ptr + entry - 1 > o.len() {
            // Full: count the overflow; a wrapping count is an error.
            let overflow = o[3] >> 4;
            if overflow == 15 {
                return Err(3);
            }
            o[3] = ((overflow + 1) << 4) | flag;
            return Ok(true);
        }
        let at = ptr - 1;
        match flag {
            0 => o[at..at + 4].copy_from_slice(&now_ms.to_be_bytes()),
            1 => {
                o[at..at + 4].copy_from_slice(&self.me.0);
                o[at + 4..at + 8].copy_from_slice(&now_ms.to_be_bytes());
            }
            _ => {
                if !self.is_mine(&o[at..at + 4]) {
                    return Ok(false);
                }
                o[at + 4..at + 8].copy_from_slice(&now_ms.to_be_bytes());
            }
        }
        o[2] += entry as u8;
        Ok(true)
    }

    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let off = super::ip_fragmenter::ip_offset(&p).unwrap_or(usize::MAX);
        // Milliseconds since midnight UT, as the Timestamp option wants.
        let now_ms = (cx.now().0.div_euclid(1_000_000) % 86_400_000) as u32;
        let outcome = match p.data_mut().get_mut(off..) {
            Some(h) => self.process(h, now_ms),
            None => Outcome::Malformed,
        };
        match outcome {
            Outcome::Ok => Some(p),
            Outcome::Problem(at) => {
                self.drops += 1;
                p.set_anno_u8(anno::ICMP_PARAMPROB, at.min(255) as u8);
                cx.push(1, p);
                None
            }
            Outcome::Malformed => {
                self.drops += 1;
                cx.kill(p);
                None
            }
        }
    }
}

impl Element for IpGwOptions {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("drops")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.drops.to_string()
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::{checksum, ip};
    use crate::packet::Packet;
    use crate::router::Router;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    fn setup(args: &str) -> Router {
        let src = alloc::format!(
            "AddressInfo(gw 10.0.0.9); Idle -> o :: IPGWOptions({args}) -> s :: TestSink; o[1] -> e :: TestSink;"
        );
        router_from_source(&src).0
    }

    /// An IP packet with `opts` (padded to 4 bytes) as its options.
    fn with_opts(opts: &[u8]) -> Vec<u8> {
        let mut o = opts.to_vec();
        while !o.len().is_multiple_of(4) {
            o.push(0);
        }
        let mut b = ip::build([1, 1, 1, 1], [2, 2, 2, 2], 17, 64, &[0xAA; 8]);
        let hl = 20 + o.len();
        b.splice(20..20, o);
        b[0] = 0x40 | (hl / 4) as u8;
        let n = b.len() as u16;
        ip::put16(&mut b, 2, n);
        ip::set_checksum(&mut b, hl);
        b
    }

    #[test]
    fn record_route_and_timestamps() {
        let r = setup("10.0.0.1, OTHERADDRS 10.0.0.2 gw");
        let o = r.find("o").unwrap();
        let rr = with_opts(&[1, 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
        r.inject(o, 0, Packet::from_slice(&rr));
        let ts0 = with_opts(&[68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        r.inject(o, 0, Packet::from_slice(&ts0));
        let ts1 = with_opts(&[68, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        r.inject(o, 0, Packet::from_slice(&ts1));
        let ts3 = with_opts(&[
            68, 20, 5, 3, 10, 0, 0, 9, 0, 0, 0, 0, 3, 3, 3, 3, 1, 1, 1, 1,
        ]);
        r.inject(o, 0, Packet::from_slice(&ts3));
        let full = with_opts(&[7, 7, 8, 5, 5, 5, 5, 68, 8, 9, 0x21, 1, 1, 1, 1]);
        r.inject(o, 0, Packet::from_slice(&full));
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 5);
        for (_, b) in &got {
            let hl = ((b[0] & 0xF) as usize) * 4;
            assert_eq!(checksum::checksum(&b[..hl]), 0);
        }
        assert_eq!(&got[0].1[21..28], &[7, 11, 8, 10, 0, 0, 1]);
        assert_eq!(&got[1].1[20..24], &[68, 12, 9, 0]);
        // The simulated clock starts 6400 s after a midnight.
        assert_eq!(&got[1].1[24..28], &6_400_000u32.to_be_bytes());
        assert_eq!(&got[2].1[20..28], &[68, 12, 13, 1, 10, 0, 0, 1]);
        // Prespecified: 10.0.0.9 (the AddressInfo name) is ours.
        assert_eq!(&got[3].1[22..24], &[13, 3]);
        // Full: the record route is untouched, the overflow count grows.
        assert_eq!(&got[4].1[20..30], &full[20..30]);
        assert_eq!(got[4].1[30], 0x31);
        assert_eq!(r.read("o.drops").unwrap(), "0");
        // Timestamp option still at its prespecified next entry (3.3.3.3).
        let again = got[3].1.clone();
        r.inject(o, 0, Packet::from_slice(&again));
        assert_eq!(sink_contents(&r, "s")[5].1, again);
    }

    #[test]
    fn bad_options_go_to_output_1() {
        let r = setup("10.0.0.1");
        let o = r.find("o").unwrap();
        let cases: [(&[u8], u8); 6] = [
            (&[7, 7, 3, 0, 0, 0, 0], 22),        // RR pointer < 4
            (&[68, 8, 5, 2, 0, 0, 0, 0], 23),    // unknown TS flag
            (&[68, 8, 9, 0xF0, 0, 0, 0, 0], 23), // overflow wraps
            (&[1, 7, 40, 0], 22),                // length past header
            (&[1, 1, 1, 130], 23),               // length byte missing
            (&[68, 1, 5, 0], 21),                // length below 2
        ];
        for (opts, _) in &cases {
            r.inject(o, 0, Packet::from_slice(&with_opts(opts)));
        }
        let got = sink_contents(&r, "e");
        assert_eq!(got.len(), cases.len());
        assert!(sink_contents(&r, "s").is_empty());
        assert_eq!(r.read("o.drops").unwrap(), "6");
        // The offending byte's offset is in the ICMP_PARAMPROB annotation.
        for (opts, at) in &cases {
            let (r3, _) = router_from_source(&alloc::format!(
                "Idle -> o :: IPGWOptions(10.0.0.1) -> Discard; o[1] -> CheckPaint({at}, ANNO ICMP_PARAMPROB) -> s :: TestSink;"
            ));
            r3.inject(
                r3.find("o").unwrap(),
                0,
                Packet::from_slice(&with_opts(opts)),
            );
            assert_eq!(sink_contents(&r3, "s").len(), 1, "{opts:?}");
        }
        // Malformed headers are dropped, not sent to output 1.
        r.inject(o, 0, Packet::from_slice(&[0x46; 22]));
        r.inject(o, 0, Packet::from_slice(&[0x45; 10]));
        assert_eq!(sink_contents(&r, "e").len(), cases.len());
        assert_eq!(r.read("o.drops").unwrap(), "8");
        for bad in ["", "10.0.0.1, OTHERADDRS 1.2.3", "x"] {
            let src = alloc::format!("Idle -> IPGWOptions({bad}) -> Idle;");
            assert!(build_from_source(&src).is_err(), "{bad}");
        }
    }
}

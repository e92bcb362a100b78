//! `CheckIP6Header([BADADDRS, OFFSET])`: checks IPv6 headers and their
//! extension-header chain, sets the IPv6 and transport header
//! annotations, trims link-level padding.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! The IPv6 header starts `OFFSET` bytes into the packet. A packet is bad,
//! checked in this order, if it has fewer than 40 bytes there ("tiny
//! packet"), its version is not 6 ("bad IP6 version"), its payload length
//! runs past the bytes present ("bad IP6 length"), its source is one of
//! the bad addresses or multicast ("bad source address"), or its
//! extension-header chain runs past the packet ("truncated extension
//! header") or is longer than 8 headers or has a hop-by-hop header after
//! the first ("bad extension header chain"). Bad packets leave on output
//! 1, or are dropped if output 1 is not connected; the first is logged
//! (`IP6 header check failed`, as Click does).
//!
//! A good packet gets its IPv6 header annotation and a transport header
//! annotation at the transport header after the extension headers (for a
//! non-first fragment, after its fragment header), and is shortened to
//! the length its payload-length field gives (dropping Ethernet padding).
//!
//! Click checks neither the extension headers nor multicast sources, and
//! puts the transport annotation right after the fixed header; packets
//! without extension headers are treated the same.
//!
//! # Keywords
//! * `BADADDRS` (space-separated IPv6 addresses): bad source addresses,
//!   besides `ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff`.
//! * `OFFSET` (integer, default 0): where the IPv6 header starts.
//!
//! # Handlers
//! * `drops` (read): bad packets seen.
//! * `drop_details` (read): one line per reason, `COUNT<TAB>REASON`, in
//!   the order above.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14)
//!   -> c :: CheckIP6Header(3ffe:1ce1:2::ffff) -> Discard;
//! c[1] -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::confparse::{split_words, FromArg, Ipv6};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::ip6::{self, HeaderError};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `CheckIP6Header` class.
pub static CLASS: ElementClass = ElementClass {
    name: "CheckIP6Header",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| {
        let mut bad = alloc::vec![[0xFF; 16]];
        if let Some(list) = args.optional::<String>("BADADDRS")? {
            for w in split_words(&list) {
                let a = Ipv6::from_arg(&w)
                    .ok_or_else(|| ConfigError::bad_value("BADADDRS", Ipv6::EXPECTED, &w))?;
                if !bad.contains(&a.0) {
                    bad.push(a.0);
                }
            }
        }
        let offset = args.optional::<usize>("OFFSET")?.unwrap_or(0);
        Ok(Box::new(CheckIp6Header {
            bad,
            offset,
            drops: [0; REASONS.len()],
        }))
    },
};

/// Why a packet was refused, indexed like [`REASONS`].
const REASONS: [&str; 6] = [
    "tiny packet",
    "bad IP6 version",
    "bad IP6 length",
    "bad source address",
    "truncated extension header",
    "bad extension header chain",
];

/// Checks IPv6 headers.
pub struct CheckIp6Header {
    bad: Vec<[u8; 16]>,
    offset: usize,
    drops: [u64; REASONS.len()],
}

impl CheckIp6Header {
    /// The reason index a packet is bad for, or its header annotations.
    fn check(&self, p: &mut Packet) -> Result<(), usize> {
        let off = self.offset;
        let b = p.data().get(off..).unwrap_or(&[]);
        let len = ip6::check(b).map_err(|e| -> usize {
            match e {
                HeaderError::Tiny => 0,
                HeaderError::Version => 1,
                _ => 2,
            }
        })?;
        let mut src = [0u8; 16];
        src.copy_from_slice(&b[ip6::SRC_OFF..ip6::SRC_OFF + 16]);
        if ip6::is_multicast(&src) || self.bad.contains(&src) {
            return Err(3);
        }
        let t = ip6::transport(&b[..len]).map_err(|e| -> usize {
            match e {
                HeaderError::Chain => 5,
                _ => 4,
            }
        })?;
        let extra = p.len() - off - len;
        p.take(extra);
        p.set_ip_header(off, t.offset);
        Ok(())
    }

    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        match self.check(&mut p) {
            Ok(()) => Some(p),
            Err(r) => {
                // Click says so once, unprefixed.
                if self.drops.iter().all(|&d| d == 0) {
                    cx.host().log("IP6 header check failed");
                }
                self.drops[r] += 1;
                cx.push(1, p);
                None
            }
        }
    }
}

impl Element for CheckIp6Header {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("drops"),
            HandlerDecl::read("drop_details"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "drops" => self.drops.iter().sum::<u64>().to_string(),
            _ => REASONS
                .iter()
                .zip(self.drops)
                .map(|(r, n)| format!("{n}\t{r}\n"))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::ip6;
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents, TestSink};

    fn addr(last: u8) -> [u8; 16] {
        let mut a = [0u8; 16];
        a[..2].copy_from_slice(&[0xfd, 0]);
        a[15] = last;
        a
    }

    #[test]
    fn good_packets_are_marked_and_trimmed_bad_ones_counted() {
        let (r, _) = router_from_source(
            "Idle -> c :: CheckIP6Header(fd00::66, 14) -> ok :: TestSink; c[1] -> bad :: TestSink;",
        );
        let c = r.find("c").unwrap();
        let mut frame = alloc::vec![0u8; 14];
        frame.extend(ip6::build(&addr(1), &addr(2), ip6::NXT_UDP, 64, &[0; 8]));
        let good = frame.clone();
        frame.extend_from_slice(&[0xee; 6]); // Ethernet padding
        r.inject(c, 0, Packet::from_slice(&frame));
        let mut bads: Vec<Vec<u8>> = Vec::new();
        bads.push(good[..53].to_vec());
        let mut v = good.clone();
        v[14] = 0x40;
        bads.push(v);
        let mut v = good.clone();
        v[19] = 100;
        bads.push(v);
        for src in [addr(0x66), [0xff; 16], {
            let mut m = [0u8; 16];
            m[0] = 0xff;
            m
        }] {
            let mut v = good.clone();
            v[22..38].copy_from_slice(&src);
            bads.push(v);
        }
        let mut trunc = alloc::vec![0u8; 14];
        trunc.extend(ip6::build(
            &addr(1),
            &addr(2),
            ip6::NXT_ROUTING,
            64,
            &[6, 9, 0, 0, 0, 0, 0, 0],
        ));
        bads.push(trunc);
        let mut endless = alloc::vec![0u8; 14];
        let opts: Vec<u8> = [ip6::NXT_DSTOPTS, 0, 0, 0, 0, 0, 0, 0]
            .iter()
            .copied()
            .cycle()
            .take(160)
            .collect();
        endless.extend(ip6::build(&addr(1), &addr(2), ip6::NXT_DSTOPTS, 64, &opts));
        bads.push(endless);
        for b in &bads {
            r.inject(c, 0, Packet::from_slice(b));
        }
        r.with_element(r.find("ok").unwrap(), |e, _| {
            let s = e.downcast_ref::<TestSink>().unwrap();
            assert_eq!(s.got.len(), 1);
            assert_eq!(s.got[0].1.data(), &good[..]);
            assert_eq!(s.got[0].1.network_header_offset(), Some(14));
            assert_eq!(s.got[0].1.transport_header_offset(), Some(54));
        });
        assert_eq!(sink_contents(&r, "bad").len(), bads.len());
        assert_eq!(r.read("c.drops").unwrap(), "8");
        assert_eq!(
            r.read("c.drop_details").unwrap(),
            "1\ttiny packet\n1\tbad IP6 version\n1\tbad IP6 length\n3\tbad source address\n\
             1\ttruncated extension header\n1\tbad extension header chain\n"
        );
    }

    #[test]
    fn transport_annotation_skips_extension_headers() {
        let (r, _) = router_from_source("Idle -> c :: CheckIP6Header -> ok :: TestSink;");
        let mut pl = alloc::vec![ip6::NXT_TCP, 0, 0, 0, 0, 0, 0, 0];
        pl.extend_from_slice(&[0; 20]);
        r.inject(
            r.find("c").unwrap(),
            0,
            Packet::from_slice(&ip6::build(&addr(1), &addr(2), ip6::NXT_HOPOPTS, 64, &pl)),
        );
        r.with_element(r.find("ok").unwrap(), |e, _| {
            let s = e.downcast_ref::<TestSink>().unwrap();
            assert_eq!(s.got[0].1.transport_header_offset(), Some(48));
        });
    }

    #[test]
    fn bad_arguments() {
        let Err(e) = build_from_source("Idle -> CheckIP6Header(fd00::1 banana) -> Discard;") else {
            panic!("accepted a bad address");
        };
        use alloc::string::ToString;
        assert!(
            e.to_string()
                .contains("BADADDRS: expected an IPv6 address, got 'banana'"),
            "{e}"
        );
    }
}

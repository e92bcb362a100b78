//! `IP6Reassembler([KEYWORDS])`: reassembles IPv6 fragments in bounded
//! memory, discarding any datagram with overlapping fragments (RFC 5722).
//!
//! # Ports
//! One input, one output. Push.
//!
//! # Processing
//! Reads the IPv6 header at the IP header annotation (or the start of the
//! packet when it is unset). A packet without a fragment header, or an
//! atomic fragment (offset 0, no more fragments: RFC 6946), passes
//! unchanged. Fragments are buffered per (source, destination,
//! identification); when every byte from offset 0 to the end of the last
//! fragment is present, one packet leaves: the first fragment's
//! unfragmentable part (the fixed header and the extension headers before
//! the fragment header) with its last next-header field set to the
//! fragment header's, the joined fragmentable part, the payload length
//! set, the IPv6 and transport header annotations set, and the last
//! fragment's other annotations.
//!
//! A fragment that is malformed (bad header, more than 8 extension
//! headers before the fragment header, a non-final fragment whose data is
//! not a multiple of 8 bytes, an empty one, a datagram past 65535 bytes of
//! payload, an end that disagrees with the last fragment's) is dropped and
//! counted in `drops`. A fragment that overlaps data already held
//! discards the whole datagram, as RFC 5722 requires: its buffered
//! fragments are freed, and every later fragment of it is dropped and
//! counted until `TIMEOUT` after its first fragment. Buffered bytes (each
//! datagram's header and data space; 64 for a discarded one) never
//! exceed `MAX_MEMORY`: the oldest datagrams are dropped to make room. A
//! datagram not completed within `TIMEOUT` of its first fragment is
//! dropped; both count in `expired`.
//!
//! Click has no IPv6 reassembler; this is IPReassembler's IPv6
//! counterpart (the same keywords and handlers).
//!
//! # Keywords
//! * `MAX_MEMORY` (integer, kilobytes, default 256): the buffer bound.
//! * `TIMEOUT` (time, default 30s): how long a datagram may wait.
//!
//! # Handlers
//! * `drops` (read): malformed fragments, overlapping fragments and the
//!   later fragments of datagrams an overlap discarded.
//! * `expired` (read): incomplete datagrams dropped (memory or time).
//! * `memory` (read): bytes buffered now.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIP6Header -> IP6Reassembler
//!   -> IPFilter(allow ip6 tcp dst port 80, deny all) -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::String;

use crate::element::{Element, ElementClass, HandlerDecl};
use crate::elements::ip::ip_fragmenter::packet_like;
use crate::elements::ip::ip_reassembler::{Datagram, Frag, Reassembly};
use crate::net::ip6;
use crate::packet::Packet;
use crate::router::Ctx;

/// The largest IPv6 payload without a jumbo option.
const MAX_PAYLOAD: usize = 65535;

/// The `IP6Reassembler` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IP6Reassembler",
    ports: "1/1",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        Ok(Box::new(Ip6Reassembler {
            r: Reassembly::from_args(args, true)?,
        }))
    },
};

/// Reassembles IPv6 fragments.
pub struct Ip6Reassembler {
    r: Reassembly,
}

/// Parses the IPv6 packet `b`: `Ok(None)` when it is no fragment (or an
/// atomic one), `Err(())` when it is malformed.
fn parse(b: &[u8]) -> Result<Option<Frag<'_>>, ()> {
    let len = ip6::check(b).map_err(|_| ())?;
    let b = &b[..len];
    // Walk the unfragmentable part to the fragment header.
    let mut nxt = b[ip6::NXT_OFF];
    let mut nxt_at = ip6::NXT_OFF;
    let mut off = ip6::HEADER_LEN;
    let mut count = 0;
    while nxt != ip6::NXT_FRAGMENT {
        if !ip6::is_extension(nxt) {
            return Ok(None);
        }
        if count == ip6::MAX_EXT_HEADERS {
            return Err(());
        }
        count += 1;
        let h = b.get(off..off + 2).ok_or(())?;
        let hlen = if nxt == ip6::NXT_AH {
            (h[1] as usize + 2) * 4
        } else {
            (h[1] as usize + 1) * 8
        };
        nxt_at = off;
        nxt = h[0];
        off += hlen;
    }
    let fh = b.get(off..off + 8).ok_or(())?;
    let fo = u16::from_be_bytes([fh[2], fh[3]]);
    let start = (fo & !7) as usize;
    let more = fo & 1 != 0;
    if start == 0 && !more {
        return Ok(None);
    }
    let data = &b[off + 8..];
    let payload = off - ip6::HEADER_LEN + start + data.len();
    if data.is_empty() || (more && !data.len().is_multiple_of(8)) || payload > MAX_PAYLOAD {
        return Err(());
    }
    let mut key = [0u8; 36];
    key[..32].copy_from_slice(&b[ip6::SRC_OFF..ip6::SRC_OFF + 32]);
    key[32..].copy_from_slice(&fh[4..8]);
    Ok(Some(Frag {
        key,
        header: &b[..off],
        fixup: Some((nxt_at, fh[0])),
        data,
        start,
        more,
    }))
}

/// The whole datagram `d`, with `last`'s annotations.
fn build(d: &Datagram, last: &Packet) -> Packet {
    let hdr = d.header.as_deref().unwrap_or(&[]);
    let len = hdr.len() + d.data.len();
    let mut q = packet_like(last, len);
    let b = q.data_mut();
    b[..hdr.len()].copy_from_slice(hdr);
    b[hdr.len()..].copy_from_slice(&d.data);
    b[ip6::PLEN_OFF..ip6::PLEN_OFF + 2]
        .copy_from_slice(&((len - ip6::HEADER_LEN) as u16).to_be_bytes());
    let transport = ip6::transport(q.data()).map_or(ip6::HEADER_LEN, |t| t.offset);
    q.set_ip_header(0, transport);
    q
}

impl Element for Ip6Reassembler {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let off = super::ip6_offset(&p);
        self.r.push(cx, p, off, parse, build);
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        self.r.run_timer(cx);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        Reassembly::HANDLERS
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        self.r.read(name)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::ip6;
    use crate::packet::Packet;
    use crate::router::Router;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    const SRC: ip6::Addr = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const DST: ip6::Addr = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    fn setup(args: &str) -> Router {
        let src = alloc::format!("Idle -> r :: IP6Reassembler({args}) -> s :: TestSink;");
        router_from_source(&src).0
    }

    /// A UDP datagram with `n` bytes of payload after a destination
    /// options header (unfragmentable here, as it comes first).
    fn whole(n: usize) -> Vec<u8> {
        let mut payload = alloc::vec![ip6::NXT_UDP, 0, 1, 4, 0, 0, 0, 0];
        let udp: Vec<u8> = (0..n + 8).map(|i| (i * 7 + 3) as u8).collect();
        payload.extend(udp);
        ip6::build(&SRC, &DST, ip6::NXT_DSTOPTS, 64, &payload)
    }

    /// Fragment of `w` (built by `whole`) covering fragmentable bytes
    /// `start..end` (after the 48-byte unfragmentable part), datagram `id`.
    fn frag(w: &[u8], start: usize, end: usize, more: bool, id: u32) -> Packet {
        let mut b = w[..48].to_vec();
        b[40] = ip6::NXT_FRAGMENT;
        b.extend([ip6::NXT_UDP, 0]);
        b.extend((start as u16 | more as u16).to_be_bytes());
        b.extend(id.to_be_bytes());
        b.extend(&w[48 + start..48 + end]);
        let plen = (b.len() - 40) as u16;
        b[4..6].copy_from_slice(&plen.to_be_bytes());
        Packet::from_slice(&b)
    }

    #[test]
    fn reassembles_in_any_order_and_passes_the_rest() {
        let r = setup("");
        let e = r.find("r").unwrap();
        let w = whole(100);
        let plain = whole(20);
        r.inject(e, 0, Packet::from_slice(&plain));
        // An atomic fragment passes as it is.
        let atomic = frag(&plain, 0, plain.len() - 48, false, 5);
        r.inject(e, 0, atomic.clone());
        r.inject(e, 0, frag(&w, 96, 108, false, 1));
        r.inject(e, 0, frag(&w, 0, 48, true, 1));
        assert_ne!(r.read("r.memory").unwrap(), "0");
        r.inject(e, 0, frag(&w, 48, 96, true, 1));
        let got = sink_contents(&r, "s");
        assert_eq!(got, [(0, plain), (0, atomic.data().to_vec()), (0, w)]);
        assert_eq!(r.read("r.memory").unwrap(), "0");
        assert_eq!(r.read("r.drops").unwrap(), "0");
    }

    #[test]
    fn an_overlap_discards_the_whole_datagram() {
        let r = setup("");
        let e = r.find("r").unwrap();
        let w = whole(100);
        r.inject(e, 0, frag(&w, 0, 48, true, 7));
        r.inject(e, 0, frag(&w, 40, 96, true, 7)); // overlaps 40..48
        assert_eq!(r.read("r.drops").unwrap(), "1");
        // The rest of it, even a fragment that would complete it
        // without overlap, is dropped too (RFC 5722).
        r.inject(e, 0, frag(&w, 48, 96, true, 7));
        r.inject(e, 0, frag(&w, 96, 108, false, 7));
        assert_eq!(r.read("r.drops").unwrap(), "3");
        assert!(sink_contents(&r, "s").is_empty());
        // Another datagram is untouched, a duplicate counts as an overlap.
        r.inject(e, 0, frag(&w, 0, 48, true, 8));
        r.inject(e, 0, frag(&w, 48, 108, false, 8));
        assert_eq!(sink_contents(&r, "s"), [(0, w.clone())]);
        r.inject(e, 0, frag(&w, 0, 48, true, 9));
        r.inject(e, 0, frag(&w, 0, 48, true, 9));
        r.inject(e, 0, frag(&w, 48, 108, false, 9));
        assert_eq!(sink_contents(&r, "s").len(), 1);
        assert_eq!(r.read("r.drops").unwrap(), "5");
        // Once it expires its key is forgotten.
        r.run_until_idle();
        assert_eq!(r.read("r.memory").unwrap(), "0");
        r.inject(e, 0, frag(&w, 0, 48, true, 7));
        r.inject(e, 0, frag(&w, 48, 108, false, 7));
        assert_eq!(sink_contents(&r, "s").len(), 2);
    }

    #[test]
    fn malformed_fragments_are_dropped_and_memory_is_bounded() {
        let r = setup("MAX_MEMORY 1, TIMEOUT 5s");
        let e = r.find("r").unwrap();
        let w = whole(100);
        let bad = [
            frag(&w, 0, 45, true, 1).data().to_vec(), // not a multiple of 8
            frag(&w, 48, 48, true, 1).data().to_vec(), // empty
            frag(&w, 0, 48, true, 1).data()[..44].to_vec(), // truncated
            {
                let mut b = frag(&w, 0, 48, true, 1).data().to_vec();
                b[50..52].copy_from_slice(&0xfff9u16.to_be_bytes()); // past 65535
                b
            },
            {
                // Nine destination options headers before the fragment.
                let mut b = w[..40].to_vec();
                b[6] = ip6::NXT_DSTOPTS;
                for _ in 0..9 {
                    b.extend([ip6::NXT_DSTOPTS, 0, 1, 4, 0, 0, 0, 0]);
                }
                let plen = (b.len() - 40) as u16;
                b[4..6].copy_from_slice(&plen.to_be_bytes());
                b
            },
            alloc::vec![0x60, 0, 0],
        ];
        for (i, b) in bad.iter().enumerate() {
            r.inject(e, 0, Packet::from_slice(b));
            assert_eq!(
                r.read("r.drops").unwrap(),
                alloc::format!("{}", i + 1),
                "bad[{i}]"
            );
        }
        assert_eq!(r.read("r.drops").unwrap(), alloc::format!("{}", bad.len()));
        for id in 0..40 {
            r.inject(e, 0, frag(&w, 0, 96, true, id));
            let mem: usize = r.read("r.memory").unwrap().parse().unwrap();
            assert!(mem <= 1024, "{mem}");
        }
        assert!(r.read("r.expired").unwrap().parse::<u64>().unwrap() >= 30);
        r.run_until_idle();
        assert_eq!(r.read("r.memory").unwrap(), "0");
        assert!(sink_contents(&r, "s").is_empty());
        for bad in ["MAX_MEMORY 0", "TIMEOUT 0", "TIMEOUT x"] {
            let src = alloc::format!("Idle -> IP6Reassembler({bad}) -> Idle;");
            assert!(build_from_source(&src).is_err(), "{bad}");
        }
    }
}

//! `IPFragmenter(MTU [, KEYWORDS])`: fragments IP packets larger than an MTU.
//!
//! # Ports
//! One input; one or two outputs. Push.
//!
//! # Processing
//! Reads the IP header at the IP header annotation (or the start of the
//! packet when it is unset). A packet whose IP part (header annotation to
//! end) fits in `MTU` bytes leaves on output 0 unchanged. A larger one
//! with the don't-fragment bit set, when `HONOR_DF` is true, is counted in
//! `drops` and leaves unchanged on output 1 if there is one (for an
//! `ICMPError(..., unreachable, needfrag)`), else is dropped. Any other
//! larger packet is split into fragments of at most `MTU` bytes, sent on
//! output 0 in offset order: each carries a multiple of 8 data bytes
//! (except the last), the first keeps every IP option and any bytes before
//! the IP header, later ones keep only the options marked "copied", and
//! offsets, MF bits, lengths and header checksums are set; later fragments
//! copy the original's annotations. Packets with a malformed IP header
//! (bad header length, total length past the packet) or whose header
//! leaves no room for 8 data bytes are dropped and counted in `drops`.
//!
//! # Keywords
//! * `MTU` (integer, at least 28): the largest IP packet to send.
//! * `HONOR_DF` (bool, default true): whether the DF bit stops
//!   fragmentation.
//! * `VERBOSE` (bool, default false): log each packet refused for DF.
//!
//! # Handlers
//! * `drops` (read): packets not fragmented (DF or malformed).
//! * `fragments` (read): fragments made.
//!
//! # Example
//! ```text
//! f :: IPFragmenter(576);
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> f -> Discard;
//! f[1] -> ICMPError(10.0.0.254, unreachable, needfrag) -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::ip;
use crate::packet::{Packet, DEFAULT_HEADROOM};
use crate::router::Ctx;

/// The don't-fragment flag in the fragment field.
const DF: u16 = 0x4000;

/// The `IPFragmenter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPFragmenter",
    ports: "1/1-2",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        let mtu = args.required::<usize>("MTU")?;
        let honor_df = args.optional("HONOR_DF")?.unwrap_or(true);
        let verbose = args.optional("VERBOSE")?.unwrap_or(false);
        if !(ip::MIN_HEADER_LEN + 8..=usize::from(u16::MAX)).contains(&mtu) {
            return Err(ConfigError::out_of_range(format!(
                "MTU {mtu} must be between 28 and 65535"
            )));
        }
        Ok(Box::new(IpFragmenter {
            mtu,
            honor_df,
            verbose,
            drops: 0,
            fragments: 0,
        }))
    },
};

/// Splits large IP packets.
pub struct IpFragmenter {
    mtu: usize,
    honor_df: bool,
    verbose: bool,
    drops: u64,
    fragments: u64,
}

/// The options of `opts` that later fragments keep (copied flag set),
/// padded with zeros (end of options) to a multiple of 4 bytes; `None` for
/// a malformed option list.
fn copied_options(opts: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < opts.len() {
        let t = opts[i];
        match t {
            0 => break,
            1 => i += 1,
            _ => {
                let len = *opts.get(i + 1)? as usize;
                if len < 2 || i + len > opts.len() {
                    return None;
                }
                if t & 0x80 != 0 {
                    out.extend_from_slice(&opts[i..i + len]);
                }
                i += len;
            }
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    Some(out)
}

/// Where the IP header starts: the IP header annotation, or the start of
/// the data when it is unset; `None` when the annotation lies before the
/// data.
pub(super) fn ip_offset(p: &Packet) -> Option<usize> {
    match p.network_header_offset() {
        Some(o) => usize::try_from(o).ok(),
        None => Some(0),
    }
}

/// A new packet `len` bytes long, with `from`'s annotations but no header
/// marks (they pointed into `from`'s buffer).
pub(crate) fn packet_like(from: &Packet, len: usize) -> Packet {
    let mut q = Packet::with_room(DEFAULT_HEADROOM, len, 0);
    let (a, qa) = (from.anno(), q.anno_mut());
    qa.timestamp = a.timestamp;
    qa.packet_type = a.packet_type;
    qa.device = a.device;
    qa.user = a.user;
    q
}

impl IpFragmenter {
    fn drop(&mut self, cx: &Ctx, p: Packet) {
        self.drops += 1;
        cx.kill(p);
    }

    fn fragment(&mut self, cx: &Ctx, mut p: Packet) {
        let Some(off) = ip_offset(&p) else {
            return self.drop(cx, p);
        };
        let avail = p.len().saturating_sub(off);
        if avail <= self.mtu {
            return cx.push(0, p);
        }
        let h = &p.data()[off..];
        if avail < ip::MIN_HEADER_LEN {
            return self.drop(cx, p);
        }
        let hlen = ((h[0] & 0x0F) as usize) << 2;
        let total = ip::get16(h, 2) as usize;
        let frag = ip::get16(h, 6);
        if hlen < ip::MIN_HEADER_LEN || total < hlen || total > avail {
            return self.drop(cx, p);
        }
        if total <= self.mtu {
            // Only trailing padding made it look too big.
            return cx.push(0, p);
        }
        if self.honor_df && frag & DF != 0 {
            self.drops += 1;
            if self.verbose {
                cx.log(&format!(
                    "packet of {total} bytes with DF set exceeds MTU {}",
                    self.mtu
                ));
            }
            if cx.noutputs() > 1 {
                cx.push(1, p);
            } else {
                cx.kill(p);
            }
            return;
        }
        let Some(later_opts) = copied_options(&h[ip::MIN_HEADER_LEN..hlen]) else {
            return self.drop(cx, p);
        };
        let first_data = (self.mtu - hlen) & !7;
        let later_hlen = ip::MIN_HEADER_LEN + later_opts.len();
        let later_data = (self.mtu - later_hlen) & !7;
        if first_data == 0 || later_data == 0 {
            return self.drop(cx, p);
        }
        let base = frag & ip::OFFMASK;
        let last_mf = frag & ip::MF;
        let data = &h[hlen..total];
        let mut out = Vec::new();
        let mut pos = first_data;
        while pos < data.len() {
            let n = later_data.min(data.len() - pos);
            let fo = base as usize + pos / 8;
            if fo > ip::OFFMASK as usize {
                return self.drop(cx, p);
            }
            let more = if pos + n < data.len() {
                ip::MF
            } else {
                last_mf
            };
            let len = later_hlen + n;
            let mut q = packet_like(&p, len);
            let d = q.data_mut();
            d[..ip::MIN_HEADER_LEN].copy_from_slice(&h[..ip::MIN_HEADER_LEN]);
            d[0] = 0x40 | (later_hlen / 4) as u8;
            d[ip::MIN_HEADER_LEN..later_hlen].copy_from_slice(&later_opts);
            d[later_hlen..].copy_from_slice(&data[pos..pos + n]);
            ip::put16(d, 2, len as u16);
            ip::put16(d, 6, (frag & DF) | more | fo as u16);
            ip::set_checksum(d, later_hlen);
            q.set_ip_header(0, later_hlen);
            out.push(q);
            pos += n;
        }
        // The first fragment is the original, cut short.
        p.set_len(off + hlen + first_data);
        let d = &mut p.data_mut()[off..];
        ip::put16(d, 2, (hlen + first_data) as u16);
        ip::put16(d, 6, frag | ip::MF);
        ip::set_checksum(d, hlen);
        p.set_ip_header(off, hlen);
        self.fragments += 1 + out.len() as u64;
        cx.push(0, p);
        for q in out {
            cx.push(0, q);
        }
    }
}

impl Element for IpFragmenter {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.fragment(cx, p);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("drops"), HandlerDecl::read("fragments")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "drops" => self.drops.to_string(),
            _ => self.fragments.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::net::{checksum, ip};
    use crate::packet::Packet;
    use crate::router::Router;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    fn setup(args: &str, two: bool) -> Router {
        let err = if two { "f[1] -> e :: TestSink;" } else { "" };
        let src = alloc::format!("Idle -> f :: IPFragmenter({args}) -> s :: TestSink; {err}");
        router_from_source(&src).0
    }

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    /// Joins fragments back (checking each header) into the payload.
    fn join(frags: &[(usize, Vec<u8>)], mtu: usize) -> Vec<u8> {
        let mut data = Vec::new();
        for (i, (_, f)) in frags.iter().enumerate() {
            let hl = ((f[0] & 0xF) as usize) * 4;
            assert!(f.len() <= mtu);
            assert_eq!(ip::get16(f, 2) as usize, f.len());
            assert_eq!(checksum::checksum(&f[..hl]), 0);
            let fo = (ip::get16(f, 6) & ip::OFFMASK) as usize * 8;
            assert_eq!(fo, data.len());
            let mf = ip::get16(f, 6) & ip::MF != 0;
            assert_eq!(mf, i + 1 < frags.len());
            data.extend_from_slice(&f[hl..]);
        }
        data
    }

    #[test]
    fn fragments_and_passes_small() {
        let r = setup("100", false);
        let f = r.find("f").unwrap();
        let small = ip::build([1, 1, 1, 1], [2, 2, 2, 2], 17, 64, &payload(80));
        r.inject(f, 0, Packet::from_slice(&small));
        let big = ip::build([1, 1, 1, 1], [2, 2, 2, 2], 17, 64, &payload(300));
        let mut p = Packet::from_slice(&big);
        p.set_dst_ip_anno([9, 9, 9, 9]);
        r.inject(f, 0, p);
        let got = sink_contents(&r, "s");
        assert_eq!(got[0].1, small);
        // 80 data bytes per fragment: 80, 80, 80, 60.
        assert_eq!(got.len(), 5);
        assert_eq!(join(&got[1..], 100), payload(300));
        assert_eq!(r.read("f.fragments").unwrap(), "4");
    }

    #[test]
    fn options_and_offsets() {
        let r = setup("60", false);
        let f = r.find("f").unwrap();
        // Record route (not copied) then a copied option 0x83 (LSRR-like).
        let mut b = ip::build([1, 1, 1, 1], [2, 2, 2, 2], 6, 64, &payload(100));
        let opts = [7u8, 7, 4, 0, 0, 0, 0, 0x83, 3, 1, 1, 0];
        b.splice(20..20, opts);
        b[0] = 0x48;
        let n = b.len() as u16;
        ip::put16(&mut b, 2, n);
        ip::set_checksum(&mut b, 32);
        r.inject(f, 0, Packet::from_slice(&b));
        let got = sink_contents(&r, "s");
        assert_eq!(got[0].1.len(), 32 + 24);
        assert_eq!(&got[0].1[20..32], &opts);
        assert_eq!(&got[1].1[20..24], &[0x83, 3, 1, 0]);
        assert_eq!(got[1].1[0], 0x46);
        assert_eq!(join(&got, 60), payload(100));
    }

    #[test]
    fn df_errors_and_malformed() {
        let r = setup("MTU 100, VERBOSE true", true);
        let f = r.find("f").unwrap();
        let mut df = ip::build([1, 1, 1, 1], [2, 2, 2, 2], 17, 64, &payload(200));
        df[6] = 0x40;
        r.inject(f, 0, Packet::from_slice(&df));
        assert_eq!(sink_contents(&r, "e"), [(0, df.clone())]);
        let mut long = ip::build([1, 1, 1, 1], [2, 2, 2, 2], 17, 64, &payload(200));
        ip::put16(&mut long, 2, 500);
        let mut ihl = long.clone();
        ip::put16(&mut ihl, 2, 220);
        ihl[0] = 0x43;
        let mut badopt = ip::build([1, 1, 1, 1], [2, 2, 2, 2], 17, 64, &payload(200));
        badopt[0] = 0x46;
        badopt[20] = 0x83;
        badopt[21] = 9;
        let mut far = ip::build([1, 1, 1, 1], [2, 2, 2, 2], 17, 64, &payload(200));
        ip::put16(&mut far, 6, ip::OFFMASK);
        for b in [&long, &ihl, &badopt, &far, &alloc::vec![0x45u8; 150]] {
            r.inject(f, 0, Packet::from_slice(b));
        }
        assert!(sink_contents(&r, "s").is_empty());
        assert_eq!(r.read("f.drops").unwrap(), "6");
        let r = setup("100, false", false);
        let f = r.find("f").unwrap();
        r.inject(f, 0, Packet::from_slice(&df));
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|(_, b)| b[6] & 0x40 != 0));
        for bad in ["", "27", "70000", "100, maybe"] {
            let src = alloc::format!("Idle -> IPFragmenter({bad}) -> Idle;");
            assert!(build_from_source(&src).is_err(), "{bad}");
        }
    }
}

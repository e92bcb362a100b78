//! `IPEncap(PROTO, SRC, DST [, keywords TOS, TTL, DSCP, ECT, CE, DF])`: prepends a fixed IP header.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Pushes a 20-byte IP header onto the front of each packet: version 4,
//! protocol `PROTO` (a number or a name such as `tcp`, `udp`, `ipip`),
//! source `SRC`, destination `DST`, the configured TOS, TTL and DF bit,
//! the packet's total length, an IP ID that counts up from 0 per element,
//! and the header checksum. The IP header annotation is set; the
//! destination address annotation is set to `DST`. With `DST` written as
//! `DST_ANNO`, the destination is the packet's destination address
//! annotation instead. Packets that would exceed 65535 bytes are dropped.
//! `StripIPHeader` removes such a header at the far end.
//!
//! # Keywords
//! * `TTL` (byte, default 250): time to live.
//! * `TOS` (byte): the whole TOS byte; excludes `DSCP`, `ECT` and `CE`.
//! * `DSCP` (0-62, default 0): the TOS byte's upper six bits.
//! * `ECT` (bool or `2`, default false): ECN capable transport: `true`
//!   sets ECN codepoint 1, `2` sets codepoint 2.
//! * `CE` (bool, default false): ECN codepoint 3 (congestion
//!   experienced); excludes `ECT`.
//! * `DF` (bool, default false): the don't-fragment bit.
//!
//! # Handlers
//! * `src`, `dst` (read/write): the addresses (`dst` may be `DST_ANNO`).
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader
//!   -> IPEncap(ipip, 18.26.4.24, 140.247.60.147) -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::confparse::names::Context;
use crate::confparse::{parse_written, Ipv4};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::elements::classify::compile::names::PROTOCOLS;
use crate::error::ConfigError;
use crate::net::ip;
use crate::packet::{anno, Packet};
use crate::router::Ctx;

/// The `IPEncap` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPEncap",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let proto_text = args.required::<String>("PROTO")?;
        let proto = ip_protocol(&proto_text)
            .ok_or_else(|| ConfigError::bad_value("PROTO", "an IP protocol", &proto_text))?;
        let src = args.required::<Ipv4>("SRC")?;
        let dst_text = args.required::<String>("DST")?;
        let dst = parse_dst(&args.resolve_names(&dst_text, Context::Rules))?;
        let tos = args.keyword::<u8>("TOS")?;
        let ttl = args.keyword_or::<u8>("TTL", 250)?;
        let dscp = args.keyword::<u8>("DSCP")?;
        let ect = match args.keyword::<String>("ECT")? {
            None => 0,
            Some(s) if s == "2" => 2,
            Some(s) => match parse_written::<bool>(&s) {
                Ok(b) => u8::from(b),
                Err(_) => return Err(ConfigError::bad_value("ECT", "true, false or 2", &s)),
            },
        };
        let ce = args.keyword_or("CE", false)?;
        let df = args.keyword_or("DF", false)?;
        if tos.is_some() && dscp.is_some() {
            return Err(ConfigError::conflict("cannot set both TOS and DSCP"));
        }
        if tos.is_some() && (ect != 0 || ce) {
            return Err(ConfigError::conflict("cannot set both TOS and ECN bits"));
        }
        if dscp.is_some_and(|d| d >= 63) {
            return Err(ConfigError::out_of_range("DSCP too large; max 62"));
        }
        if ect != 0 && ce {
            return Err(ConfigError::conflict("can set at most one ECN option"));
        }
        let ecn = if ce { 3 } else { ect };
        Ok(Box::new(IpEncap {
            proto,
            src,
            dst,
            tos: tos.unwrap_or_else(|| (dscp.unwrap_or(0) << 2) | ecn),
            ttl,
            df,
            fix_src: false,
            id: 0,
        }))
    },
};

/// `text` as an IP protocol: a number below 256 or a protocol's name.
pub fn ip_protocol(text: &str) -> Option<u8> {
    let t = text.trim();
    t.parse::<u8>().ok().or_else(|| {
        PROTOCOLS
            .iter()
            .find(|(n, v)| *n == t && *v < 256)
            .map(|&(_, v)| v as u8)
    })
}

/// `DST`: an address, or `None` for `DST_ANNO`.
fn parse_dst(text: &str) -> Result<Option<Ipv4>, ConfigError> {
    if text.trim() == "DST_ANNO" {
        return Ok(None);
    }
    parse_written::<Ipv4>(text)
        .map(Some)
        .map_err(|_| ConfigError::bad_value("DST", "an IP address or DST_ANNO", text))
}

/// Wraps packets in an IP header.
pub struct IpEncap {
    proto: u8,
    src: Ipv4,
    /// `None`: the destination annotation.
    dst: Option<Ipv4>,
    tos: u8,
    ttl: u8,
    df: bool,
    /// Mark the packet for `FixIPSrc` (IPsecEncap's source is 0.0.0.0).
    fix_src: bool,
    id: u16,
}

impl IpEncap {
    /// IPsecEncap's header: protocol `proto`, source 0.0.0.0 to be fixed
    /// on the way out, destination the annotation, TTL 250.
    pub fn tunnel(proto: u8) -> IpEncap {
        IpEncap {
            proto,
            src: Ipv4([0; 4]),
            dst: None,
            tos: 0,
            ttl: 250,
            df: false,
            fix_src: true,
            id: 0,
        }
    }

    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let total = p.len() + ip::MIN_HEADER_LEN;
        if total > usize::from(u16::MAX) {
            cx.kill(p);
            return None;
        }
        let dst = self.dst.map_or_else(|| p.dst_ip_anno(), |d| d.0);
        p.push(ip::MIN_HEADER_LEN);
        let h = &mut p.data_mut()[..ip::MIN_HEADER_LEN];
        h[0] = 0x45;
        h[1] = self.tos;
        ip::put16(h, 2, total as u16);
        ip::put16(h, 4, self.id);
        self.id = self.id.wrapping_add(1);
        ip::put16(h, 6, if self.df { 0x4000 } else { 0 });
        h[ip::TTL_OFF] = self.ttl;
        h[9] = self.proto;
        h[ip::SRC_OFF..ip::SRC_OFF + 4].copy_from_slice(&self.src.0);
        h[ip::DST_OFF..ip::DST_OFF + 4].copy_from_slice(&dst);
        ip::set_checksum(h, ip::MIN_HEADER_LEN);
        p.set_ip_header(0, ip::MIN_HEADER_LEN);
        p.set_dst_ip_anno(dst);
        if self.fix_src {
            p.set_anno_u8(anno::FIX_IP_SRC, 1);
        }
        Some(p)
    }
}

impl Element for IpEncap {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("src"), HandlerDecl::rw("dst")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match (name, self.dst) {
            ("src", _) => self.src.to_string(),
            (_, Some(d)) => d.to_string(),
            (_, None) => "DST_ANNO".into(),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "src" => self.src = parse_written(value)?,
            _ => self.dst = parse_dst(value)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::net::{checksum, ip};
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    #[test]
    fn encapsulates() {
        let (r, _) = router_from_source(
            "Idle -> e :: IPEncap(ipip, 18.26.4.24, 140.247.60.147, TTL 9, DSCP 10, CE true, DF true) -> s :: TestSink;\
             Idle -> a :: IPEncap(17, 1.2.3.4, DST_ANNO, TOS 7) -> t :: TestSink;",
        );
        let e = r.find("e").unwrap();
        r.inject(e, 0, Packet::from_slice(b"hello"));
        r.inject(e, 0, Packet::from_slice(b"x"));
        let got = sink_contents(&r, "s");
        let b = &got[0].1;
        assert_eq!(b.len(), 25);
        assert_eq!(&b[..10], &[0x45, 43, 0, 25, 0, 0, 0x40, 0, 9, 4]);
        assert_eq!(&b[12..20], &[18, 26, 4, 24, 140, 247, 60, 147]);
        assert_eq!(&b[20..], b"hello");
        assert_eq!(checksum::checksum(&b[..20]), 0);
        assert_eq!(ip::get16(&got[1].1, 4), 1, "IDs count up");
        let a = r.find("a").unwrap();
        let mut p = Packet::from_slice(b"y");
        p.set_dst_ip_anno([9, 9, 9, 9]);
        r.inject(a, 0, p);
        let b = &sink_contents(&r, "t")[0].1;
        assert_eq!(&b[..2], &[0x45, 7]);
        assert_eq!(b[9], 17);
        assert_eq!(&b[16..20], &[9, 9, 9, 9]);
        assert_eq!(checksum::checksum(&b[..20]), 0);
        assert_eq!(r.read("a.dst").unwrap(), "DST_ANNO");
        r.write("a.dst", "5.6.7.8").unwrap();
        assert_eq!(r.read("a.dst").unwrap(), "5.6.7.8");
        assert!(r.write("a.src", "nowhere").is_err());
    }

    #[test]
    fn argument_errors() {
        for bad in [
            "frob, 1.2.3.4, 5.6.7.8",
            "300, 1.2.3.4, 5.6.7.8",
            "6, 1.2.3.4, here",
            "6, 1.2.3.4, 5.6.7.8, TOS 1, DSCP 2",
            "6, 1.2.3.4, 5.6.7.8, ECT true, CE true",
            "6, 1.2.3.4, 5.6.7.8, TOS 1, ECT 2",
            "6, 1.2.3.4, 5.6.7.8, DSCP 63",
            "6, 1.2.3.4, 5.6.7.8, ECT 3",
        ] {
            let src = alloc::format!("Idle -> IPEncap({bad}) -> Idle;");
            assert!(build_from_source(&src).is_err(), "{bad}");
        }
    }
}

//! `ICMPRewriter(MAPS [, DST_ANNO])`: translates ICMP errors about flows
//! that IPRewriter-like elements mapped.
//!
//! # Ports
//! One input, one or two outputs; push.
//!
//! # Processing
//! MAPS is a space-separated list of IPRewriter, TCPRewriter,
//! UDPRewriter, IPAddrRewriter or ICMPPingRewriter elements. An ICMP error (unreachable, source quench,
//! redirect, time exceeded, parameter problem; IP header annotation or IP
//! at the start of the data) whose quoted packet belongs to a flow one of
//! them mapped is translated back: the quoted addresses and ports become
//! what the other side of the rewriter saw, and the outer destination
//! too when it is the quoted source, all checksums patched, as the
//! rewriters themselves do for errors that reach their inputs. Translated
//! errors leave on output 0; anything else on output 1, or is dropped when
//! there is no output 1.
//!
//! # Keywords
//! * `MAPS` (element names): the rewriters whose flows are translated,
//!   tried in order.
//! * `DST_ANNO` (bool, default true): set the destination address
//!   annotation to the new destination.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! rw :: IPRewriter(pattern 1.0.0.1 1024-65535 - - 0 1, drop);
//! icmp_in -> ICMPRewriter(rw) -> ToDevice(eth0);
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;

use super::icmppingrewriter::IcmpPingRewriter;
use super::ipaddrrewriter::IpAddrRewriter;
use super::iprewriter::IpRewriter;
use super::rewriter::Rewriter;
use super::tcprewriter::TcpRewriter;
use super::udprewriter::UdpRewriter;
use crate::element::{Element, ElementClass};
use crate::error::{ConfigError, ErrorKind};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `ICMPRewriter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ICMPRewriter",
    ports: "1/1-2",
    processing: "h/h",
    // After the rewriters, so MAPS can be checked against their classes.
    phase: 1,
    make: |args, cx| {
        let names = args.required::<alloc::string::String>("MAPS")?;
        let mut maps = Vec::new();
        for n in names.split_whitespace() {
            let (Some(i), Some(e)) = (cx.element_index(n), cx.element(n)) else {
                return Err(ConfigError::new(
                    ErrorKind::BadValue,
                    format!("MAPS: {}", cx.no_element(n)),
                ));
            };
            if rewriter_ref(e).is_none() {
                return Err(ConfigError::new(
                    ErrorKind::BadValue,
                    format!(
                        "MAPS: '{n}' is not an IP rewriter (IPRewriter, TCPRewriter, UDPRewriter, IPAddrRewriter, ICMPPingRewriter)"
                    ),
                ));
            }
            maps.push(i);
        }
        if maps.is_empty() {
            return Err(ConfigError::new(
                ErrorKind::Missing,
                "MAPS: no rewriters named",
            ));
        }
        Ok(Box::new(IcmpRewriter {
            maps,
            dst_anno: args.keyword_or("DST_ANNO", true)?,
        }))
    },
};

/// The rewriter inside an IPRewriter-like element (read-only).
pub(crate) fn rewriter_ref(e: &dyn Element) -> Option<&Rewriter> {
    if let Some(r) = e.downcast_ref::<IpRewriter>() {
        return Some(&r.0);
    }
    if let Some(r) = e.downcast_ref::<TcpRewriter>() {
        return Some(&r.0);
    }
    if let Some(r) = e.downcast_ref::<IcmpPingRewriter>() {
        return Some(&r.0);
    }
    if let Some(r) = e.downcast_ref::<IpAddrRewriter>() {
        return Some(&r.0);
    }
    e.downcast_ref::<UdpRewriter>().map(|r| &r.0)
}

/// The rewriter inside an IPRewriter-like element.
pub(crate) fn rewriter_of(e: &mut dyn Element) -> Option<&mut Rewriter> {
    if e.downcast_ref::<IpRewriter>().is_some() {
        return e.downcast_mut::<IpRewriter>().map(IpRewriter::rewriter);
    }
    if e.downcast_ref::<TcpRewriter>().is_some() {
        return e.downcast_mut::<TcpRewriter>().map(TcpRewriter::rewriter);
    }
    if e.downcast_ref::<IcmpPingRewriter>().is_some() {
        return e
            .downcast_mut::<IcmpPingRewriter>()
            .map(IcmpPingRewriter::rewriter);
    }
    if e.downcast_ref::<IpAddrRewriter>().is_some() {
        return e
            .downcast_mut::<IpAddrRewriter>()
            .map(IpAddrRewriter::rewriter);
    }
    e.downcast_mut::<UdpRewriter>().map(UdpRewriter::rewriter)
}

/// Translates ICMP errors through other elements' flow tables.
pub struct IcmpRewriter {
    maps: Vec<usize>,
    dst_anno: bool,
}

impl Element for IcmpRewriter {
    fn push(&mut self, cx: &Ctx, _port: usize, mut p: Packet) {
        let anno = p.dst_ip_anno();
        let done = self.maps.iter().any(|&m| {
            cx.with_element(m, |e, _| {
                rewriter_of(e).and_then(|rw| rw.translate_icmp_error(&mut p))
            })
            .flatten()
            .is_some()
        });
        if !done {
            if cx.noutputs() > 1 {
                cx.push(1, p);
            } else {
                cx.kill(p);
            }
            return;
        }
        if !self.dst_anno {
            p.set_dst_ip_anno(anno);
        }
        cx.push(0, p);
    }
}

#[cfg(test)]
mod tests {
    use crate::net::checksum::checksum;
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};
    use alloc::format;
    use alloc::vec::Vec;

    /// A UDP packet `src`:`sport` -> `dst`:`dport` with a valid IP checksum.
    fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
        let mut v = alloc::vec![0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0];
        v.extend_from_slice(&src);
        v.extend_from_slice(&dst);
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&[0, 12, 0, 0, 1, 2, 3, 4]);
        let c = checksum(&v[..20]);
        v[10..12].copy_from_slice(&c.to_be_bytes());
        v
    }

    /// A port unreachable from `from` to `to` quoting `quoted`.
    fn unreachable(from: [u8; 4], to: [u8; 4], quoted: &[u8]) -> Vec<u8> {
        let mut v = alloc::vec![0x45, 0, 0, 0, 0, 2, 0, 0, 64, 1, 0, 0];
        v.extend_from_slice(&from);
        v.extend_from_slice(&to);
        v.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(&quoted[..28]);
        let len = v.len() as u16;
        v[2..4].copy_from_slice(&len.to_be_bytes());
        let c = checksum(&v[..20]);
        v[10..12].copy_from_slice(&c.to_be_bytes());
        let c = checksum(&v[20..]);
        v[22..24].copy_from_slice(&c.to_be_bytes());
        v
    }

    #[test]
    fn translates_errors_about_mapped_flows() {
        let (r, _) = router_from_source(
            "rw :: IPRewriter(pattern 1.0.0.1 2000-2999 - - 0 1);
             Idle -> rw -> out :: TestSink; rw[1] -> Discard;
             Idle -> icr :: ICMPRewriter(rw) -> s :: TestSink; icr[1] -> u :: TestSink;",
        );
        let inside = [10, 0, 0, 5];
        let server = [8, 8, 8, 8];
        let rw = r.find("rw").unwrap();
        r.inject(rw, 0, Packet::from_slice(&udp(inside, 5000, server, 53)));
        let (_, sent) = sink_contents(&r, "out").pop().unwrap();
        assert_eq!(&sent[12..16], &[1, 0, 0, 1]);
        let icr = r.find("icr").unwrap();
        r.inject(
            icr,
            0,
            Packet::from_slice(&unreachable(server, [1, 0, 0, 1], &sent)),
        );
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 1);
        let e = &got[0].1;
        assert_eq!(&e[16..20], &inside, "outer destination");
        assert_eq!(checksum(&e[..20]), 0);
        assert_eq!(checksum(&e[20..]), 0);
        assert_eq!(
            &e[28..],
            &udp(inside, 5000, server, 53)[..28],
            "quoted packet"
        );
        // An error about an unknown flow, and a non-ICMP packet, go to 1.
        r.inject(
            icr,
            0,
            Packet::from_slice(&unreachable(
                server,
                [1, 0, 0, 1],
                &udp(inside, 1, server, 2),
            )),
        );
        r.inject(icr, 0, Packet::from_slice(&udp(inside, 1, server, 2)));
        r.inject(icr, 0, Packet::from_slice(&[0x45, 0, 0]));
        assert_eq!(sink_contents(&r, "u").len(), 3);
    }

    #[test]
    fn argument_errors() {
        for (cfg, want) in [
            ("nosuch", "no element"),
            ("c", "not an IP rewriter"),
            ("", "MAPS"),
        ] {
            let src = format!(
                "c :: Counter; Idle -> c -> Discard; Idle -> ICMPRewriter({cfg}) -> Discard;"
            );
            match build_from_source(&src) {
                Ok(_) => panic!("{cfg:?} accepted"),
                Err(e) => {
                    let e = format!("{e}");
                    assert!(e.contains(want), "{cfg:?}: {e}");
                }
            }
        }
    }
}

//! `AddressInfo(NAME ADDR [ADDR...], ...)`: names IP addresses, IP
//! prefixes and Ethernet addresses for other elements' arguments.
//!
//! # Ports
//! None.
//!
//! # Processing
//! None: before any element is configured, the router collects every
//! `AddressInfo`'s names (Click's pre-pass), and an argument that expects
//! an IP address, an IP prefix or an Ethernet address accepts a name in
//! its place, as do the rules and patterns of `IPFilter`,
//! `IPClassifier`, `IPRewriter` (and the other rewriters),
//! `IPRewriterPatterns`, `ARPResponder` and the `*IPLookup` routes.
//! Each ADDR is an IPv4 address, an IPv4 prefix (`ADDR/LEN`, which
//! gives both an address and a prefix) or an Ethernet address; a name
//! has at most one of each. A bare `NAME` stands for the kind the
//! argument expects (in rules, the IP address, or the prefix after
//! `net`, or the Ethernet address after `ether host`/`src`/`dst`; in
//! `ARPResponder`, the prefix and the Ethernet address; in a route, the
//! prefix, then addresses); `NAME:ip`,
//! `NAME:ipnet` (host bits cleared), `NAME:bcast` (directed broadcast)
//! and `NAME:eth` pick one. Unlike Click, names are global to the
//! configuration rather than local to their compound element, and IPv6
//! addresses are not accepted.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! AddressInfo(me 10.0.0.1/24 00:01:02:03:04:05, peer 10.0.0.2);
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader
//!     -> IPFilter(allow src host peer && dst net me:ipnet, deny all)
//!     -> EtherEncap(0x0800, me, 00:0a:0b:0c:0d:0e) -> Discard;
//! ```

use alloc::boxed::Box;

use crate::confparse::AddressNames;
use crate::element::{Element, ElementClass};
use crate::error::ConfigError;

/// The `AddressInfo` class.
pub static CLASS: ElementClass = ElementClass {
    name: "AddressInfo",
    ports: "0/0",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        // The router has already collected the names; this reports the
        // declarations it could not read.
        let mut names = AddressNames::new();
        for (i, a) in args.rest_raw().iter().enumerate() {
            names
                .declare(a)
                .map_err(|e| ConfigError::bad_arg(i, alloc::format!("argument {i}: {e}")))?;
        }
        Ok(Box::new(AddressInfo))
    },
};

/// Holds nothing: its names live in the router's argument parser.
pub struct AddressInfo;

impl Element for AddressInfo {}

#[cfg(test)]
mod tests {
    use alloc::format;
    use alloc::vec::Vec;

    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    fn ip_packet(src: [u8; 4], dst: [u8; 4]) -> Packet {
        let mut h = [0u8; 20];
        h[0] = 0x45;
        h[3] = 20;
        h[8] = 64;
        h[9] = 17;
        h[12..16].copy_from_slice(&src);
        h[16..20].copy_from_slice(&dst);
        let mut p = Packet::from_slice(&h);
        p.set_ip_header(0, 20);
        p.set_dst_ip_anno(dst);
        p
    }

    #[test]
    fn names_in_ipfilter_etherencap_and_lookup() {
        let (r, _) = router_from_source(
            "AddressInfo(me 10.0.0.1/24 00:01:02:03:04:05, peer 10.0.0.2, far 0-a-b-c-d-e);\n\
             Idle -> f :: IPFilter(allow src host peer && dst net me, deny all)\n\
             -> rt :: StaticIPLookup(me:ipnet 0, 0.0.0.0/0 peer 1);\n\
             rt[0] -> EtherEncap(0x0800, me, far) -> s :: TestSink;\n\
             rt[1] -> EtherEncap(0x0800, me:eth, far:eth) -> t :: TestSink;",
        );
        let f = r.find("f").unwrap();
        r.inject(f, 0, ip_packet([10, 0, 0, 2], [10, 0, 0, 1]));
        r.inject(f, 0, ip_packet([10, 0, 0, 3], [10, 0, 0, 1]));
        r.inject(f, 0, ip_packet([10, 0, 0, 2], [10, 0, 1, 1]));
        let s = sink_contents(&r, "s");
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].1[..14],
            [0, 0xa, 0xb, 0xc, 0xd, 0xe, 0, 1, 2, 3, 4, 5, 8, 0]
        );
        assert_eq!(s[0].1[14 + 16..14 + 20], [10, 0, 0, 1]);
        // `dst net me` is 10.0.0.0/24: 10.0.1.1 is filtered out.
        assert!(sink_contents(&r, "t").is_empty());
        assert_eq!(
            r.read("rt.table").unwrap(),
            "10.0.0.0/24\t\t-\t\t0\n0.0.0.0/0\t\t10.0.0.2\t1\n"
        );
    }

    #[test]
    fn names_in_rewriter_patterns() {
        let (r, _) = router_from_source(
            "AddressInfo(pub 192.0.2.1, inside 10.0.0.0/8);\n\
             Idle -> rw :: IPRewriter(pattern pub 1024-65535 - - 0 1);\n\
             rw[0] -> s :: TestSink; rw[1] -> Discard;",
        );
        let rw = r.find("rw").unwrap();
        let mut p = ip_packet([10, 0, 0, 5], [198, 51, 100, 1]);
        let mut d: Vec<u8> = p.data().to_vec();
        d.extend_from_slice(&[0x30, 0x39, 0, 53, 0, 8, 0, 0]);
        d[3] = 28;
        p = Packet::from_slice(&d);
        p.set_ip_header(0, 20);
        r.inject(rw, 0, p);
        let s = sink_contents(&r, "s");
        assert_eq!(s.len(), 1, "{}", r.read("rw.table").unwrap_or_default());
        assert_eq!(s[0].1[12..16], [192, 0, 2, 1]);
    }

    #[test]
    fn unknown_names_and_bad_declarations_are_errors() {
        for (cfg, want) in [
            (
                "AddressInfo(me 10.0.0.1); Idle -> EtherEncap(0x0800, me, me) -> Discard;",
                "Ethernet",
            ),
            ("AddressInfo(me banana);", "banana"),
            ("AddressInfo(me);", "NAME followed by addresses"),
            (
                "Idle -> EtherEncap(0x0800, nobody, 0:0:0:0:0:0) -> Discard;",
                "nobody",
            ),
        ] {
            let e = format!("{}", build_from_source(cfg).err().expect(cfg));
            assert!(e.contains(want), "{cfg}: {e}");
        }
    }
}

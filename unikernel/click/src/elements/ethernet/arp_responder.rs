//! `ARPResponder(IP/MASK [IP/MASK...] ETH, ...)`: answers ARP requests for
//! its addresses.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! Input packets are whole Ethernet frames. An ARP request (EtherType ARP,
//! hardware Ethernet, protocol IPv4, operation 1) whose target address lies
//! in one of the prefixes gets a 42-byte ARP reply on output 0, from the
//! prefix's Ethernet address to the requester, stamped with the current
//! time and carrying the request's device annotation; the request is
//! dropped. Every other packet leaves on output 1, or is dropped when
//! output 1 is not connected. When prefixes overlap, the longest matching
//! one answers (for equal prefixes the later argument wins).
//!
//! Each argument lists one or more addresses or prefixes (a bare address
//! means /32) and exactly one Ethernet address, in any order.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `table` (read): one line per prefix, `ADDR/LEN ETH`.
//! * `add` (write): adds entries, `IP/MASK [IP/MASK...] ETH`.
//! * `remove` (write): removes the entry for `IP/MASK`.
//!
//! # Example
//! ```text
//! c :: Classifier(12/0806 20/0001, -);
//! c[0] -> ARPResponder(10.0.0.254 02:00:00:00:00:fe) -> Discard;
//! c[1] -> Discard;
//! ```

use crate::error::{ConfigError, ErrorKind};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::confparse::{parse_written, split_words, EtherAddr, Ipv4, Ipv4Prefix};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::net::arp::{self, Arp};
use crate::net::ether;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `ARPResponder` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ARPResponder",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| {
        let mut table = Vec::new();
        for (i, a) in args
            .rest_raw_resolved(crate::confparse::Context::IpAndEther)
            .iter()
            .enumerate()
        {
            add_entries(&mut table, a)
                .map_err(|e| ConfigError::bad_arg(i, format!("argument {i}: {e}")))?;
        }
        Ok(Box::new(ArpResponder { table }))
    },
};

/// One prefix and the Ethernet address that answers for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    /// The prefix, host bits cleared.
    net: Ipv4Prefix,
    eth: [u8; 6],
}

/// Parses one `IP/MASK [IP/MASK...] ETH` argument into `table`, replacing
/// entries for the same prefix.
fn add_entries(table: &mut Vec<Entry>, arg: &str) -> Result<(), ConfigError> {
    let mut nets = Vec::new();
    let mut eth = None;
    for w in split_words(arg) {
        if let Some(p) = Ipv4Prefix::parse(&w) {
            nets.push(Ipv4Prefix {
                addr: Ipv4::from_u32(p.addr.to_u32() & p.mask()),
                len: p.len,
            });
        } else if let Some(e) = EtherAddr::parse(&w) {
            if eth.replace(e.0).is_some() {
                return Err("more than one ETH".into());
            }
        } else {
            return Err(ConfigError::bad_value("", "IP/MASK ETH", &w));
        }
    }
    if nets.is_empty() {
        return Err(ConfigError::new(ErrorKind::Missing, "missing IP/MASK"));
    }
    let eth = eth.ok_or_else(|| ConfigError::new(ErrorKind::Missing, "missing ETH"))?;
    for net in nets {
        table.retain(|e| e.net != net);
        table.push(Entry { net, eth });
    }
    Ok(())
}

/// Answers ARP requests.
pub struct ArpResponder {
    table: Vec<Entry>,
}

impl ArpResponder {
    /// The Ethernet address that answers for `ip`: longest prefix wins.
    pub fn lookup(&self, ip: [u8; 4]) -> Option<[u8; 6]> {
        self.table
            .iter()
            .filter(|e| e.net.contains(Ipv4(ip)))
            .max_by_key(|e| e.net.len)
            .map(|e| e.eth)
    }

    /// The reply to `p`, or `None` if `p` is not a request we answer.
    fn respond(&self, cx: &Ctx, p: &Packet) -> Option<Packet> {
        let req = Arp::parse_frame(p.data())?;
        if req.op != arp::OP_REQUEST {
            return None;
        }
        let me = self.lookup(req.tpa)?;
        let mut q = cx.alloc(arp::FRAME_LEN)?;
        Arp {
            op: arp::OP_REPLY,
            sha: me,
            spa: req.tpa,
            tha: req.sha,
            tpa: req.spa,
        }
        .write_frame(q.data_mut(), &req.sha, &me);
        q.set_mac_header(0);
        q.set_timestamp(cx.now());
        q.anno_mut().device = p.anno().device;
        Some(q)
    }

    fn action(&self, cx: &Ctx, p: Packet) -> Option<Packet> {
        match self.respond(cx, &p) {
            Some(q) => {
                cx.kill(p);
                Some(q)
            }
            None => {
                // Click's checked_output_push: dropped when port 1 is absent.
                cx.push(1, p);
                None
            }
        }
    }
}

impl Element for ArpResponder {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("table"),
            HandlerDecl::write("add"),
            HandlerDecl::write("remove"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        let mut s = String::new();
        for e in &self.table {
            s.push_str(&format!("{} {}\n", e.net, ether::unparse(&e.eth)));
        }
        s
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        if name == "add" {
            let mut t = self.table.clone();
            add_entries(&mut t, value)?;
            self.table = t;
            return Ok(());
        }
        let p: Ipv4Prefix = parse_written(value)?;
        let net = Ipv4Prefix {
            addr: Ipv4::from_u32(p.addr.to_u32() & p.mask()),
            len: p.len,
        };
        let before = self.table.len();
        self.table.retain(|e| e.net != net);
        if self.table.len() == before {
            return Err(ConfigError::new(
                ErrorKind::Handler,
                format!("{net} not found"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{build, flat, router, sink_contents};

    fn request(tpa: [u8; 4]) -> Packet {
        let mut f = [0u8; 60];
        Arp {
            op: arp::OP_REQUEST,
            sha: [2, 0, 0, 0, 0, 1],
            spa: [10, 0, 0, 1],
            tha: [0; 6],
            tpa,
        }
        .write_frame(&mut f, &ether::BROADCAST, &[2, 0, 0, 0, 0, 1]);
        Packet::from_slice(&f)
    }

    #[test]
    fn replies_in_click_format() {
        let (r, _) = router(flat(
            &[
                (
                    "a",
                    "ARPResponder",
                    "10.0.0.254 02:00:00:00:00:fe, 10.1.0.0/16 10.1.2.0/24 02:00:00:00:00:aa",
                ),
                ("s", "TestSink", ""),
                ("o", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (0, 1, 2, 0), (3, 0, 0, 0)],
        ));
        r.inject(0, 0, request([10, 0, 0, 254]));
        r.inject(0, 0, request([10, 0, 0, 9]));
        r.inject(0, 0, request([10, 1, 2, 3]));
        r.inject(0, 0, Packet::from_slice(&[1, 2, 3]));
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 2);
        // The exact frame real Click produced in conformance case
        // f_responders.
        let want =
            "0200000000010200000000fe080600010800060400020200000000fe0a0000fe0200000000010a000001";
        let hex: String = got[0].1.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, want);
        assert_eq!(&got[1].1[6..12], &[2, 0, 0, 0, 0, 0xaa]);
        assert_eq!(sink_contents(&r, "o").len(), 2);
        r.with_element(1, |e, cx| {
            let s = e.downcast_ref::<crate::testing::TestSink>().unwrap();
            assert_eq!(s.got[0].1.timestamp(), cx.now());
        });
        assert_eq!(
            r.read("a.table").unwrap(),
            "10.0.0.254/32 02-00-00-00-00-FE\n10.1.0.0/16 02-00-00-00-00-AA\n10.1.2.0/24 02-00-00-00-00-AA\n"
        );
        r.write("a.remove", "10.1.0.0/16").unwrap();
        assert!(r.write("a.remove", "10.1.0.0/16").is_err());
        r.write("a.add", "10.9.0.0/16 2:0:0:0:0:9").unwrap();
        assert!(r
            .read("a.table")
            .unwrap()
            .ends_with("10.9.0.0/16 02-00-00-00-00-09\n"));
    }

    #[test]
    fn bad_arguments_are_errors() {
        for cfg in [
            "10.0.0.1",
            "02:00:00:00:00:01",
            "10.0.0.1 1:2:3:4:5:6 1:2:3:4:5:7",
            "x",
        ] {
            assert!(
                build(flat(&[("a", "ARPResponder", cfg)], &[])).is_err(),
                "{cfg}"
            );
        }
    }
}

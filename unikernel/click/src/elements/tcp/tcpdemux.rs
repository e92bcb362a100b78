//! `TCPDemux()`: sends TCP/IP packets of the flows TCPConn elements registered to their output; drops the rest.
//!
//! # Ports
//! One input, one output; push.
//!
//! # Processing
//! Holds a table of flows (our address and port, the peer's address and
//! port), each with an output, which `TCPConn` elements downstream fill
//! when they connect or listen. A packet (IP header annotation set)
//! leaves on the output of the first entry that matches it, tried in
//! Click's order: the whole flow, then our address and port, then our
//! port, then our address, then the catch-all entry of zeros. Packets of
//! no registered flow are dropped, each with a console message.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `flows` (read): one line per entry: `OURADDR OURPORT PEERADDR
//!   PEERPORT OUTPUT`.
//!
//! # Example
//! ```text
//! FromDevice(eth0) -> Strip(14) -> CheckIPHeader -> CheckTCPHeader
//!   -> dmx :: TCPDemux -> ack :: TCPAck -> con :: TCPConn -> ...
//! ```

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;

use super::Flow;
use crate::confparse::Ipv4;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `TCPDemux` class.
pub static CLASS: ElementClass = ElementClass {
    name: "TCPDemux",
    ports: "1/1",
    processing: "h/h",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(TcpDemux::default())),
};

/// The flow table, keyed by flows as seen from our side.
#[derive(Default)]
pub struct TcpDemux {
    flows: BTreeMap<Flow, usize>,
}

impl TcpDemux {
    /// Registers `flow` (from our side) for `port`; false if it is there.
    pub fn add_flow(&mut self, flow: Flow, port: usize) -> bool {
        if self.flows.contains_key(&flow) {
            return false;
        }
        self.flows.insert(flow, port);
        true
    }

    /// Removes `flow`; false if it was not there.
    pub fn remove_flow(&mut self, flow: &Flow) -> bool {
        self.flows.remove(flow).is_some()
    }

    /// The output for an arriving packet's flow, most specific entry first.
    fn lookup(&self, f: Flow) -> Option<usize> {
        let ours = f.reverse();
        let zero = [0; 4];
        let tries = [
            ours,
            Flow {
                daddr: zero,
                dport: 0,
                ..ours
            },
            Flow {
                saddr: zero,
                daddr: zero,
                dport: 0,
                ..ours
            },
            Flow {
                sport: 0,
                daddr: zero,
                dport: 0,
                ..ours
            },
            Flow::default(),
        ];
        tries.iter().find_map(|k| self.flows.get(k).copied())
    }
}

impl Element for TcpDemux {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        match Flow::of(&p).and_then(|f| self.lookup(f)) {
            Some(port) if port < cx.noutputs() => cx.push(port, p),
            _ => {
                cx.log("reject packet from unknown flow");
                cx.kill(p);
            }
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("flows")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.flows
            .iter()
            .map(|(f, port)| {
                format!(
                    "{} {} {} {} {port}\n",
                    Ipv4(f.saddr),
                    f.sport,
                    Ipv4(f.daddr),
                    f.dport
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ip_tcp_packet, Flow, Header};
    use super::TcpDemux;
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn most_specific_entry_first_and_unknown_flows_dropped() {
        let (r, host) = router_from_source("Idle -> d :: TCPDemux -> s :: TestSink;");
        let d = r.find("d").unwrap();
        let seg = |from: [u8; 4], sport, dport| {
            let h = Header {
                sport,
                dport,
                ..Header::default()
            };
            ip_tcp_packet(from, [10, 0, 0, 1], 0, &h, &[]).unwrap()
        };
        r.inject(d, 0, seg([10, 0, 0, 2], 80, 1000));
        assert!(sink_contents(&r, "s").is_empty());
        assert_eq!(host.logs.borrow().len(), 1);
        let ours = Flow {
            saddr: [10, 0, 0, 1],
            sport: 1000,
            daddr: [10, 0, 0, 2],
            dport: 80,
        };
        r.with_element(d, |e, _| {
            let t = e.downcast_mut::<TcpDemux>().unwrap();
            assert!(t.add_flow(ours, 0));
            assert!(!t.add_flow(ours, 0), "already there");
            // Our port alone (a listener).
            assert!(t.add_flow(
                Flow {
                    saddr: [0; 4],
                    sport: 2000,
                    daddr: [0; 4],
                    dport: 0
                },
                0
            ));
        });
        r.inject(d, 0, seg([10, 0, 0, 2], 80, 1000));
        r.inject(d, 0, seg([10, 0, 0, 9], 5, 2000));
        r.inject(d, 0, seg([10, 0, 0, 3], 80, 1000));
        assert_eq!(sink_contents(&r, "s").len(), 2);
        assert_eq!(
            r.read("d.flows").unwrap(),
            "0.0.0.0 2000 0.0.0.0 0 0\n10.0.0.1 1000 10.0.0.2 80 0\n"
        );
        r.with_element(d, |e, _| {
            assert!(e.downcast_mut::<TcpDemux>().unwrap().remove_flow(&ours));
        });
        r.inject(d, 0, seg([10, 0, 0, 2], 80, 1000));
        assert_eq!(sink_contents(&r, "s").len(), 2);
    }
}

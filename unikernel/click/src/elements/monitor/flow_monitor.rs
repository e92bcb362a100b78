//! `FlowMonitor([KEYWORDS])`: passive per-flow and aggregate traffic
//! accounting, in the spirit of PRADS' connection tracking.
//!
//! # Ports
//! One input, one output; agnostic. Every packet passes unchanged.
//!
//! # Processing
//! Each IPv4 packet (IP header at the IP header annotation, or `OFFSET`
//! bytes in when the annotation is unset) is counted against its flow: the
//! 5-tuple source, destination, protocol and ports (TCP, UDP, SCTP, DCCP;
//! ICMP echo uses its identifier as source port; other protocols and
//! non-first fragments have ports 0). Flows are one-directional. Each flow
//! keeps packets, bytes (whole packet lengths) and first and last seen
//! times (the packet's timestamp annotation, or the current time when it
//! is zero). Aggregates count everything: totals, per protocol (tcp, udp,
//! icmp, other) and non-IP packets.
//!
//! The table holds at most `CAPACITY` flows. When it is full a new flow is
//! not tracked (its packets still count in the aggregates) and
//! `table_drops` goes up. With `TIMEOUT`, flows idle that long (measured on
//! the packets' clock) are removed by a periodic sweep.
//!
//! # Keywords
//! * `CAPACITY` (integer, default 65536): most flows tracked at once.
//! * `TIMEOUT` (time, default 0 = never): idle time after which a flow is
//!   forgotten.
//! * `OFFSET` (integer, default 0): IP header offset when the packet has no
//!   IP header annotation.
//!
//! # Handlers
//! * `flows` (read): one line per flow, ordered by key:
//!   `PROTO SRC:SPORT DST:DPORT PACKETS BYTES FIRST LAST`.
//! * `count`, `byte_count` (read): packets and bytes seen.
//! * `flow_count` (read): flows in the table.
//! * `protocols` (read): lines `NAME PACKETS BYTES` for tcp, udp, icmp,
//!   other, nonip.
//! * `table_drops` (read): flows not tracked because the table was full.
//! * `nomem_drops` (read): flows not tracked because there was no memory
//!   for them (the packets still pass).
//! * `reset` (write): forgets every flow and zeroes the aggregates.
//!
//! # State
//! Per-flow state is the flow table, selected by flow filter; imported
//! flows merge with existing ones (counts add, first/last widen) and fill
//! the table up to `CAPACITY` (the rest are counted in `table_drops` and
//! the import reports no room). Shared state is the aggregates, added on
//! import.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader -> m :: FlowMonitor(CAPACITY 10000)
//!   -> Discard;
//! // mbctl run x.click -h m.flows
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::batch::Batch;
use crate::confparse::{Duration, Ipv4};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::net::ip::{self, Ipv4Header};
use crate::packet::Packet;
use crate::router::Ctx;
use crate::state::{
    self, Fields, FlowFilter, FlowKey, Role, StateError, StateInfo, StatefulElement,
};
use crate::time::Timestamp;

/// The `FlowMonitor` class.
pub static CLASS: ElementClass = ElementClass {
    name: "FlowMonitor",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let capacity = args.keyword_or("CAPACITY", 65536usize)?;
        let timeout = args.keyword_or("TIMEOUT", Duration(Timestamp::ZERO))?.0;
        let offset = args.keyword_or("OFFSET", 0usize)?;
        Ok(Box::new(FlowMonitor {
            capacity,
            timeout,
            offset,
            flows: BTreeMap::new(),
            agg: Aggregates::default(),
            nomem_drops: 0,
            clock: Timestamp::ZERO,
        }))
    },
};

/// Sweep timer for `TIMEOUT`.
const SWEEP_TIMER: u32 = 0;

/// One flow's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowStats {
    /// Packets seen.
    pub packets: u64,
    /// Bytes seen.
    pub bytes: u64,
    /// First packet's time.
    pub first: Timestamp,
    /// Last packet's time.
    pub last: Timestamp,
}

/// A flow as exported (times in nanoseconds).
#[derive(Serialize, Deserialize)]
pub(crate) struct FlowRecord {
    key: FlowKey,
    packets: u64,
    bytes: u64,
    first: i64,
    last: i64,
}

impl FlowRecord {
    fn new(key: FlowKey, f: &FlowStats) -> Self {
        FlowRecord {
            key,
            packets: f.packets,
            bytes: f.bytes,
            first: f.first.nanos(),
            last: f.last.nanos(),
        }
    }
    fn stats(&self) -> FlowStats {
        FlowStats {
            packets: self.packets,
            bytes: self.bytes,
            first: Timestamp(self.first),
            last: Timestamp(self.last),
        }
    }
}

/// Totals over all traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Aggregates {
    packets: u64,
    bytes: u64,
    /// (packets, bytes) for tcp, udp, icmp, other IP, non-IP.
    by_proto: [(u64, u64); 5],
    table_drops: u64,
}

const PROTO_NAMES: [&str; 5] = ["tcp", "udp", "icmp", "other", "nonip"];

const KIND: &str = "FlowMonitor";
const VERSION: u16 = 1;

/// Per-flow and aggregate counters.
pub struct FlowMonitor {
    capacity: usize,
    timeout: Timestamp,
    offset: usize,
    flows: BTreeMap<FlowKey, FlowStats>,
    agg: Aggregates,
    /// Flows not tracked for want of memory.
    nomem_drops: u64,
    /// The latest packet time seen: expiry runs on the packets' clock so a
    /// replayed trace ages the same as live traffic.
    clock: Timestamp,
}

/// The flow key of the IPv4 packet starting at `b`, if it is one.
fn flow_key(b: &[u8]) -> Option<FlowKey> {
    let h = Ipv4Header::new(b)?;
    if h.version() != 4 || h.header_len() < ip::MIN_HEADER_LEN {
        return None;
    }
    let mut k = FlowKey {
        src: h.src(),
        dst: h.dst(),
        proto: h.protocol(),
        sport: 0,
        dport: 0,
    };
    let t = h.payload();
    if h.is_first_fragment() {
        match k.proto {
            6 | 17 | 33 | 132 if t.len() >= 4 => {
                k.sport = ip::get16(t, 0);
                k.dport = ip::get16(t, 2);
            }
            ip::PROTO_ICMP if t.len() >= 6 && (t[0] == 0 || t[0] == 8) => {
                k.sport = ip::get16(t, 4);
            }
            _ => {}
        }
    }
    Some(k)
}

fn proto_index(p: u8) -> usize {
    match p {
        ip::PROTO_TCP => 0,
        ip::PROTO_UDP => 1,
        ip::PROTO_ICMP => 2,
        _ => 3,
    }
}

impl FlowMonitor {
    #[inline]
    fn note(&mut self, cx: &Ctx, p: &Packet) {
        let len = p.len() as u64;
        self.agg.packets += 1;
        self.agg.bytes += len;
        let hdr = match p.network_header_offset() {
            Some(_) => p.network_header(),
            None => p.data().get(self.offset..),
        };
        let Some(k) = hdr.and_then(flow_key) else {
            let e = &mut self.agg.by_proto[4];
            e.0 += 1;
            e.1 += len;
            return;
        };
        let e = &mut self.agg.by_proto[proto_index(k.proto)];
        e.0 += 1;
        e.1 += len;
        let t = match p.timestamp() {
            Timestamp::ZERO => cx.now(),
            t => t,
        };
        self.clock = self.clock.max(t);
        if let Some(f) = self.flows.get_mut(&k) {
            f.packets += 1;
            f.bytes += len;
            f.last = f.last.max(t);
        } else if self.flows.len() >= self.capacity {
            self.agg.table_drops += 1;
        } else if !crate::fallible::room_for_btree_insert::<FlowKey, FlowStats>() {
            self.nomem_drops += 1;
        } else {
            self.flows.insert(
                k,
                FlowStats {
                    packets: 1,
                    bytes: len,
                    first: t,
                    last: t,
                },
            );
        }
    }

    /// Counters of flow `k`, if tracked.
    pub fn flow(&self, k: &FlowKey) -> Option<&FlowStats> {
        self.flows.get(k)
    }
}

impl Element for FlowMonitor {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        if self.timeout > Timestamp::ZERO {
            cx.set_timer(SWEEP_TIMER, cx.now() + self.timeout);
        }
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.note(cx, &p);
        cx.push(0, p);
    }

    fn push_batch(&mut self, cx: &Ctx, _port: usize, b: Batch) {
        for p in b.iter() {
            self.note(cx, p);
        }
        cx.push_batch(0, b);
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let p = cx.pull(0)?;
        self.note(cx, &p);
        Some(p)
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        let horizon = self.clock - self.timeout;
        self.flows.retain(|_, f| f.last >= horizon);
        cx.set_timer(SWEEP_TIMER, cx.now() + self.timeout);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("flows"),
            HandlerDecl::read("count"),
            HandlerDecl::read("byte_count"),
            HandlerDecl::read("flow_count"),
            HandlerDecl::read("protocols"),
            HandlerDecl::read("table_drops"),
            HandlerDecl::read("nomem_drops"),
            HandlerDecl::write("reset"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "flows" => {
                let mut s = String::new();
                for (k, f) in &self.flows {
                    s.push_str(&format!(
                        "{} {}:{} {}:{} {} {} {} {}\n",
                        k.proto,
                        Ipv4(k.src),
                        k.sport,
                        Ipv4(k.dst),
                        k.dport,
                        f.packets,
                        f.bytes,
                        f.first,
                        f.last
                    ));
                }
                s
            }
            "count" => self.agg.packets.to_string(),
            "byte_count" => self.agg.bytes.to_string(),
            "flow_count" => self.flows.len().to_string(),
            "table_drops" => self.agg.table_drops.to_string(),
            "nomem_drops" => self.nomem_drops.to_string(),
            "protocols" => {
                let mut s = String::new();
                for (n, (p, b)) in PROTO_NAMES.iter().zip(self.agg.by_proto) {
                    s.push_str(&format!("{n} {p} {b}\n"));
                }
                s
            }
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, _value: &str) -> Result<(), ConfigError> {
        self.flows.clear();
        self.agg = Aggregates::default();
        Ok(())
    }

    fn take_state(&mut self, old: &mut dyn Element, _cx: &Ctx) {
        if let Some(o) = old.downcast_mut::<FlowMonitor>() {
            core::mem::swap(&mut self.flows, &mut o.flows);
            self.agg = o.agg;
            self.clock = o.clock;
            while self.flows.len() > self.capacity {
                self.flows.pop_last();
                self.agg.table_drops += 1;
            }
        }
    }

    fn state(&mut self) -> Option<&mut dyn StatefulElement> {
        Some(self)
    }
}

impl StatefulElement for FlowMonitor {
    fn info(&self) -> StateInfo {
        StateInfo {
            version: VERSION,
            per_flow: Some((Role::Reporting, Fields::FLOW)),
            shared_supporting: false,
            shared_reporting: true,
            events: false,
        }
    }

    fn export_flows(&self, filter: &FlowFilter) -> Vec<u8> {
        let recs: Vec<FlowRecord> = self
            .flows
            .iter()
            .filter(|(k, _)| filter.matches(k))
            .map(|(k, f)| FlowRecord::new(*k, f))
            .collect();
        state::encode(KIND, VERSION, &recs)
    }

    fn import_flows(&mut self, blob: &[u8], _now: Timestamp) -> Result<usize, StateError> {
        let recs: Vec<FlowRecord> = state::decode(KIND, VERSION, blob)?;
        let mut n = 0;
        let mut full = false;
        for rec in recs {
            let (k, r) = (rec.key, rec.stats());
            if let Some(f) = self.flows.get_mut(&k) {
                f.packets += r.packets;
                f.bytes += r.bytes;
                f.first = f.first.min(r.first);
                f.last = f.last.max(r.last);
            } else if self.flows.len() < self.capacity
                && crate::fallible::room_for_btree_insert::<FlowKey, FlowStats>()
            {
                self.flows.insert(k, r);
            } else {
                self.agg.table_drops += 1;
                full = true;
                continue;
            }
            self.clock = self.clock.max(r.last);
            n += 1;
        }
        if full {
            Err(StateError::NoRoom)
        } else {
            Ok(n)
        }
    }

    fn delete_flows(&mut self, filter: &FlowFilter) -> usize {
        let before = self.flows.len();
        self.flows.retain(|k, _| !filter.matches(k));
        before - self.flows.len()
    }

    fn export_shared(&self, role: Role) -> Vec<u8> {
        match role {
            Role::Reporting => state::encode(KIND, VERSION, &self.agg),
            Role::Supporting => Vec::new(),
        }
    }

    fn import_shared(
        &mut self,
        _role: Role,
        blob: &[u8],
        _now: Timestamp,
    ) -> Result<(), StateError> {
        let a: Aggregates = state::decode(KIND, VERSION, blob)?;
        self.agg.packets += a.packets;
        self.agg.bytes += a.bytes;
        for (m, o) in self.agg.by_proto.iter_mut().zip(a.by_proto) {
            m.0 += o.0;
            m.1 += o.1;
        }
        self.agg.table_drops += a.table_drops;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::Router;
    use crate::testing::{flat, router, sink_contents};

    fn setup(cfg: &str) -> Router {
        router(flat(
            &[
                ("m", "FlowMonitor", cfg),
                ("s", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (2, 0, 0, 0)],
        ))
        .0
    }

    fn udp(src: u8, sport: u16, t: i64) -> Packet {
        let mut body = [0u8; 8];
        ip::put16(&mut body, 0, sport);
        ip::put16(&mut body, 2, 53);
        let mut p = Packet::from_slice(&ip::build([10, 0, 0, src], [8, 8, 8, 8], 17, 64, &body));
        p.set_timestamp(Timestamp::new(t, 0));
        p
    }

    #[test]
    fn counts_flows_and_aggregates() {
        let r = setup("");
        r.inject(0, 0, udp(1, 1000, 5));
        r.inject(0, 0, udp(1, 1000, 7));
        r.inject(0, 0, udp(2, 2000, 6));
        let mut echo = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1];
        echo[2] = 0;
        r.inject(
            0,
            0,
            Packet::from_slice(&ip::build([10, 0, 0, 3], [10, 0, 0, 4], 1, 9, &echo)),
        );
        r.inject(0, 0, Packet::from_slice(&[1, 2, 3]));
        assert_eq!(sink_contents(&r, "s").len(), 5);
        assert_eq!(r.read("m.count").unwrap(), "5");
        assert_eq!(r.read("m.byte_count").unwrap(), (28 * 4 + 3).to_string());
        assert_eq!(r.read("m.flow_count").unwrap(), "3");
        let flows = r.read("m.flows").unwrap();
        assert!(
            flows.contains("17 10.0.0.1:1000 8.8.8.8:53 2 56 5.000000 7.000000\n"),
            "{flows}"
        );
        assert!(
            flows.contains("1 10.0.0.3:4660 10.0.0.4:0 1 28 "),
            "{flows}"
        );
        assert_eq!(
            r.read("m.protocols").unwrap(),
            "tcp 0 0\nudp 3 84\nicmp 1 28\nother 0 0\nnonip 1 3\n"
        );
        r.write("m.reset", "").unwrap();
        assert_eq!(r.read("m.flow_count").unwrap(), "0");
        assert_eq!(r.read("m.count").unwrap(), "0");
    }

    #[test]
    fn bounded_table_counts_drops() {
        let r = setup("CAPACITY 2");
        for i in 0..10 {
            r.inject(0, 0, udp(i, 1000, 1));
        }
        assert_eq!(r.read("m.flow_count").unwrap(), "2");
        assert_eq!(r.read("m.table_drops").unwrap(), "8");
        assert_eq!(r.read("m.count").unwrap(), "10");
        assert_eq!(sink_contents(&r, "s").len(), 10);
    }

    #[test]
    fn idle_flows_expire_on_the_packet_clock() {
        let r = setup("TIMEOUT 10s");
        r.inject(0, 0, udp(1, 1, 100));
        r.inject(0, 0, udp(2, 1, 120));
        let t = r.next_timer().unwrap();
        r.clock().advance_to(t);
        r.run_timers();
        assert_eq!(r.read("m.flow_count").unwrap(), "1");
        assert!(r.read("m.flows").unwrap().starts_with("17 10.0.0.2:"));
    }

    #[test]
    fn state_moves_by_filter_and_merges() {
        let a = setup("");
        let b = setup("CAPACITY 2");
        for (src, t) in [(1, 5), (2, 6), (3, 7)] {
            a.inject(0, 0, udp(src, 1000, t));
        }
        b.inject(0, 0, udp(1, 1000, 1));
        let only12 = FlowFilter::parse("src net 10.0.0.0/31").unwrap();
        let (flows, shared, all) = a
            .with_element(0, |e, _| {
                let s = e.state().unwrap();
                (
                    s.export_flows(&only12),
                    s.export_shared(Role::Reporting),
                    s.export_flows(&FlowFilter::all()),
                )
            })
            .unwrap();
        let now = b.now();
        b.with_element(0, |e, _| {
            let s = e.state().unwrap();
            assert_eq!(s.import_flows(&flows, now), Ok(1));
            s.import_shared(Role::Reporting, &shared, now).unwrap();
            assert_eq!(s.import_flows(&all, now), Err(StateError::NoRoom));
        });
        let f = b.read("m.flows").unwrap();
        assert!(
            f.starts_with("17 10.0.0.1:1000 8.8.8.8:53 3 84 1.000000 5.000000\n"),
            "{f}"
        );
        assert_eq!(b.read("m.count").unwrap(), "4");
        assert_eq!(b.read("m.table_drops").unwrap(), "1");
        let n = a.with_element(0, |e, _| e.state().unwrap().delete_flows(&only12));
        assert_eq!(n, Some(1));
        assert_eq!(a.read("m.flow_count").unwrap(), "2");
    }

    #[test]
    fn out_of_memory_leaves_a_flow_untracked_and_counted() {
        let r = setup("");
        r.inject(0, 0, udp(1, 1000, 1));
        crate::fallible::fail_in_tests(true);
        r.inject(0, 0, udp(2, 1000, 1));
        r.inject(0, 0, udp(1, 1000, 2));
        crate::fallible::fail_in_tests(false);
        assert_eq!(sink_contents(&r, "s").len(), 3, "a monitor drops nothing");
        assert_eq!(r.read("m.flow_count").unwrap(), "1");
        assert_eq!(r.read("m.nomem_drops").unwrap(), "1");
        assert_eq!(r.read("m.table_drops").unwrap(), "0");
        r.inject(0, 0, udp(2, 1000, 3));
        assert_eq!(r.read("m.flow_count").unwrap(), "2");
    }
}

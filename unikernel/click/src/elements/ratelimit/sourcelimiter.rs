//! `SourceLimiter(THRESHOLD, INTERVAL [, KEYWORDS])`: a per-source packet
//! limit: once a source has sent more than THRESHOLD packets in its current
//! INTERVAL, its further packets are diverted until the interval ends.
//!
//! # Ports
//! One push input; output 0 push (conforming packets); optional output 1
//! push (over-limit packets; dropped when not connected).
//!
//! # Processing
//! Packets need the IP header annotation (put `CheckIPHeader` or
//! `MarkIPHeader` in front); the source is the IP source address. Each
//! source has a counter and an interval that starts with its first packet
//! (and restarts with its first packet after the interval ended). The first
//! THRESHOLD packets of an interval leave on output 0, the rest on
//! output 1. Packets without an IP header annotation, and packets from new sources
//! when the table is full of sources whose intervals have not ended, also
//! go to output 1: the limiter fails closed. Lowering THRESHOLD at run time
//! applies at once to the running intervals.
//!
//! # Keywords
//! * `THRESHOLD` (unsigned): packets allowed per source per interval.
//! * `INTERVAL` (time > 0): the interval.
//! * `CAPACITY` (unsigned, default 65536): most sources tracked at once.
//!
//! # Handlers
//! * `threshold` (read/write): THRESHOLD; controllers change it at run
//!   time.
//! * `interval` (read/write): INTERVAL, in seconds.
//! * `table` (read): one line per tracked source, by address:
//!   `ADDRESS PACKETS DROPS` (packets in its current interval, packets
//!   diverted in total).
//! * `drops` (read): packets diverted in total.
//! * `nomem_drops` (read): packets of new sources diverted because there
//!   was no memory to track them (also counted in `drops`).
//! * `reset` (write): forgets every source and zeroes `drops`.
//!
//! # State
//! Per-source counters export and import by source prefix (the other
//! fields of a flow filter are ignored); imported counters add to existing
//! ones. The shared state is the total of diverted packets, added on import.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader
//!   -> lim :: SourceLimiter(100, 1s) -> Unstrip(14) -> ToDump(out.pcap);
//! lim[1] -> Unstrip(14) -> ToDump(dropped.pcap);
//! // mbctl handler write lim.threshold 10
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::confparse::{Duration, FromArg, Ipv4};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::Ctx;
use crate::state::{
    decode, encode, Fields, FlowFilter, FlowKey, Role, StateError, StateInfo, StatefulElement,
};
use crate::time::Timestamp;

/// The `SourceLimiter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "SourceLimiter",
    ports: "1/1-2",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        let threshold = args.required::<u32>("THRESHOLD")?;
        let Duration(interval) = args.required::<Duration>("INTERVAL")?;
        let capacity = args.keyword_or::<u32>("CAPACITY", 65_536)? as usize;
        if interval <= Timestamp::ZERO {
            return Err(ConfigError::out_of_range("INTERVAL must be positive"));
        }
        if capacity == 0 {
            return Err(ConfigError::out_of_range("CAPACITY must be positive"));
        }
        Ok(Box::new(SourceLimiter {
            threshold,
            interval,
            capacity,
            table: BTreeMap::new(),
            drops: 0,
            nomem_drops: 0,
        }))
    },
};

/// One source's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    /// When its current interval started.
    start: Timestamp,
    /// Packets in the current interval.
    count: u32,
    /// Packets diverted in total.
    drops: u64,
}

/// One source's counters as exported.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    src: [u8; 4],
    start_ns: i64,
    count: u32,
    drops: u64,
}

const KIND: &str = "SourceLimiter";
const VERSION: u16 = 1;

/// Per-source packet limiter.
pub struct SourceLimiter {
    threshold: u32,
    interval: Timestamp,
    capacity: usize,
    table: BTreeMap<u32, Entry>,
    drops: u64,
    nomem_drops: u64,
}

impl SourceLimiter {
    fn source(p: &Packet) -> Option<u32> {
        let h = p.network_header()?;
        let s = h.get(12..16)?;
        Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn expired(&self, e: &Entry, now: Timestamp) -> bool {
        now >= e.start + self.interval || now < e.start
    }

    /// True if the packet from `src` at `now` is within the limit.
    fn admit(&mut self, src: u32, now: Timestamp) -> bool {
        let known = self.table.contains_key(&src);
        if !known && self.table.len() >= self.capacity {
            // Rare: make room by forgetting sources whose interval ended.
            let interval = self.interval;
            self.table
                .retain(|_, e| !(now >= e.start + interval || now < e.start));
            if self.table.len() >= self.capacity {
                self.drops += 1;
                return false;
            }
        }
        if !known && !crate::fallible::room_for_btree_insert::<u32, Entry>() {
            // Out of memory the limiter fails closed, as when it is full.
            self.drops += 1;
            self.nomem_drops += 1;
            return false;
        }
        let fresh = Entry {
            start: now,
            count: 0,
            drops: 0,
        };
        let expired_check = |e: &Entry, s: &Self| s.expired(e, now);
        let mut e = self.table.get(&src).copied().unwrap_or(fresh);
        if expired_check(&e, self) {
            e.start = now;
            e.count = 0;
        }
        e.count = e.count.saturating_add(1);
        let ok = e.count <= self.threshold;
        if !ok {
            e.drops += 1;
            self.drops += 1;
        }
        self.table.insert(src, e);
        ok
    }

    fn selects(filter: &FlowFilter, src: u32) -> bool {
        let key = FlowKey {
            src: src.to_be_bytes(),
            ..FlowKey::default()
        };
        filter.matches(&key)
    }
}

impl Element for SourceLimiter {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        let ok = match Self::source(&p) {
            Some(src) => self.admit(src, cx.now()),
            None => {
                self.drops += 1;
                false
            }
        };
        if ok {
            cx.push(0, p);
        } else if cx.noutputs() > 1 {
            cx.push(1, p);
        } else {
            cx.kill(p);
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::rw("threshold"),
            HandlerDecl::rw("interval"),
            HandlerDecl::read("table"),
            HandlerDecl::read("drops"),
            HandlerDecl::read("nomem_drops"),
            HandlerDecl::write("reset"),
        ];
        H
    }

    fn read_handler(&self, cx: &Ctx, name: &str) -> String {
        match name {
            "threshold" => self.threshold.to_string(),
            "interval" => format!("{}", self.interval),
            "drops" => self.drops.to_string(),
            "nomem_drops" => self.nomem_drops.to_string(),
            _ => {
                let now = cx.now();
                let mut s = String::new();
                for (&src, e) in &self.table {
                    let count = if self.expired(e, now) { 0 } else { e.count };
                    let _ = writeln!(s, "{} {} {}", Ipv4::from_u32(src), count, e.drops);
                }
                s
            }
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        let v = value.trim();
        match name {
            "threshold" => {
                self.threshold = u32::from_arg(v)
                    .ok_or_else(|| format!("expected an unsigned integer, got '{v}'"))?
            }
            "interval" => {
                self.interval = Duration::from_arg(v)
                    .map(|d| d.0)
                    .filter(|t| *t > Timestamp::ZERO)
                    .ok_or_else(|| format!("expected a positive time, got '{v}'"))?
            }
            _ => {
                self.table.clear();
                self.drops = 0;
            }
        }
        Ok(())
    }

    fn take_state(&mut self, old: &mut dyn Element, _cx: &Ctx) {
        if let Some(o) = old.downcast_mut::<SourceLimiter>() {
            core::mem::swap(&mut self.table, &mut o.table);
            self.drops = o.drops;
        }
    }

    fn state(&mut self) -> Option<&mut dyn StatefulElement> {
        Some(self)
    }
}

impl StatefulElement for SourceLimiter {
    fn info(&self) -> StateInfo {
        StateInfo {
            version: VERSION,
            per_flow: Some((Role::Supporting, Fields::SRC)),
            shared_supporting: false,
            shared_reporting: true,
            events: false,
        }
    }

    fn export_flows(&self, filter: &FlowFilter) -> Vec<u8> {
        let recs: Vec<Record> = self
            .table
            .iter()
            .filter(|(&src, _)| Self::selects(filter, src))
            .map(|(&src, e)| Record {
                src: src.to_be_bytes(),
                start_ns: e.start.nanos(),
                count: e.count,
                drops: e.drops,
            })
            .collect();
        encode(KIND, VERSION, &recs)
    }

    fn import_flows(&mut self, blob: &[u8], now: Timestamp) -> Result<usize, StateError> {
        let recs: Vec<Record> = decode(KIND, VERSION, blob)?;
        let new = recs
            .iter()
            .filter(|r| !self.table.contains_key(&u32::from_be_bytes(r.src)))
            .count();
        if self.table.len() + new > self.capacity {
            return Err(StateError::NoRoom);
        }
        for r in &recs {
            // A clock ahead of ours would make the interval last too long.
            let start = Timestamp(r.start_ns).min(now);
            let e = self
                .table
                .entry(u32::from_be_bytes(r.src))
                .or_insert(Entry {
                    start,
                    count: 0,
                    drops: 0,
                });
            e.start = e.start.min(start);
            e.count = e.count.saturating_add(r.count);
            e.drops += r.drops;
        }
        Ok(recs.len())
    }

    fn delete_flows(&mut self, filter: &FlowFilter) -> usize {
        let before = self.table.len();
        self.table.retain(|&src, _| !Self::selects(filter, src));
        before - self.table.len()
    }

    fn export_shared(&self, role: Role) -> Vec<u8> {
        match role {
            Role::Reporting => encode(KIND, VERSION, &self.drops),
            Role::Supporting => Vec::new(),
        }
    }

    fn import_shared(
        &mut self,
        _role: Role,
        blob: &[u8],
        _now: Timestamp,
    ) -> Result<(), StateError> {
        let d: u64 = decode(KIND, VERSION, blob)?;
        self.drops += d;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::state::FlowFilter;
    use crate::testing::{build, router, sink_contents};
    use crate::time::{SimClock, Timestamp};
    use crate::Router;
    use alloc::vec::Vec;

    fn ip_from(src: [u8; 4]) -> Packet {
        let mut p = Packet::new(20);
        let d = p.data_mut();
        d[0] = 0x45;
        d[12..16].copy_from_slice(&src);
        p.set_ip_header(0, 20);
        p
    }

    fn setup(cfg: &str) -> Router {
        router(fed(
            &[("lim", "SourceLimiter", cfg), ("s", "TestSink", "")],
            &[(0, 0, 1, 0), (0, 1, 1, 1)],
        ))
        .0
    }

    fn send(r: &Router, ms: i64, last: u8, n: usize) {
        r.clock()
            .advance_to(SimClock::START + Timestamp::from_msec(ms));
        for _ in 0..n {
            r.inject(0, 0, ip_from([10, 0, 0, last]));
        }
    }

    fn ports(r: &Router) -> Vec<usize> {
        sink_contents(r, "s").iter().map(|(p, _)| *p).collect()
    }

    #[test]
    fn per_source_limit_per_interval() {
        let r = setup("3, 1s");
        send(&r, 0, 1, 5);
        send(&r, 0, 2, 2);
        assert_eq!(ports(&r), [0, 0, 0, 1, 1, 0, 0]);
        assert_eq!(r.read("lim.drops").unwrap(), "2");
        assert_eq!(r.read("lim.table").unwrap(), "10.0.0.1 5 2\n10.0.0.2 2 0\n");
        // The next interval starts fresh.
        send(&r, 1000, 1, 1);
        assert_eq!(ports(&r).last(), Some(&0));
        // No IP header annotation: fails closed.
        r.inject(0, 0, Packet::new(20));
        assert_eq!(ports(&r).last(), Some(&1));
        r.write("lim.reset", "").unwrap();
        assert_eq!(r.read("lim.table").unwrap(), "");
        assert_eq!(r.read("lim.drops").unwrap(), "0");
    }

    #[test]
    fn threshold_changes_at_run_time() {
        let r = setup("THRESHOLD 10, INTERVAL 1s");
        send(&r, 0, 1, 4);
        r.write("lim.threshold", "5").unwrap();
        assert_eq!(r.read("lim.threshold").unwrap(), "5");
        send(&r, 10, 1, 2);
        r.write("lim.threshold", "2").unwrap();
        send(&r, 20, 1, 1);
        assert_eq!(ports(&r), [0, 0, 0, 0, 0, 1, 1]);
        r.write("lim.interval", "100ms").unwrap();
        assert_eq!(r.read("lim.interval").unwrap(), "0.100000");
        send(&r, 120, 1, 1);
        assert_eq!(ports(&r).last(), Some(&0));
        assert!(r.write("lim.threshold", "-1").is_err());
        assert!(r.write("lim.interval", "0").is_err());
    }

    #[test]
    fn unconnected_output_1_drops_and_full_table_fails_closed() {
        let (r, _) = router(fed(
            &[
                ("lim", "SourceLimiter", "1, 1s, CAPACITY 2"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0)],
        ));
        send(&r, 0, 1, 2);
        send(&r, 0, 2, 1);
        send(&r, 0, 3, 1);
        assert_eq!(ports(&r), [0, 0]);
        // Once intervals end, old sources make room.
        send(&r, 1000, 3, 1);
        assert_eq!(ports(&r), [0, 0, 0]);
    }

    #[test]
    fn state_get_put_delete_round_trip() {
        use super::VERSION;
        use crate::state::{self, Chunks, Parts, StateError};
        use alloc::string::ToString;
        let a = setup("3, 10s");
        send(&a, 0, 1, 4);
        send(&a, 0, 2, 1);
        send(&a, 0, 9, 1);
        let eid = a.find("lim").unwrap();
        let only = FlowFilter::parse("src net 10.0.0.0/30").unwrap();
        let chunks = a
            .with_element(eid, |e, _| {
                state::get(e.state().unwrap(), "SourceLimiter", &only, Parts::ALL)
            })
            .unwrap()
            .unwrap();
        assert_eq!(chunks.flow_count(), 2);
        // Through postcard and back, as it travels.
        let chunks = Chunks::from_bytes(&chunks.to_bytes()).unwrap();

        let b = setup("3, 10s");
        send(&b, 5, 1, 1);
        let eid = b.find("lim").unwrap();
        let n = b
            .with_element(eid, |e, cx| {
                state::put(e.state().unwrap(), "SourceLimiter", &chunks, cx.now())
            })
            .unwrap()
            .unwrap();
        assert_eq!((n.flows, n.shared), (2, 1));
        // 10.0.0.1 had 4 here plus 1 there: over the limit already.
        assert_eq!(b.read("lim.table").unwrap(), "10.0.0.1 5 1\n10.0.0.2 1 0\n");
        assert_eq!(b.read("lim.drops").unwrap(), "1");
        send(&b, 6, 2, 3);
        assert_eq!(ports(&b), [0, 0, 0, 1]);
        // A filter on ports is finer than a source: refused, nothing gone.
        let fine = FlowFilter::parse("src host 10.0.0.1 && tcp port 80").unwrap();
        let err = b
            .with_element(eid, |e, _| {
                state::delete(e.state().unwrap(), "SourceLimiter", &fine)
            })
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("src address"), "{err}");
        // Another class's or version's state is refused, nothing changed.
        let mut other = chunks.clone();
        other.class = "Queue".into();
        let mut newer = chunks.clone();
        newer.version = VERSION + 1;
        for bad in [other, newer] {
            let r = b
                .with_element(eid, |e, cx| {
                    state::put(e.state().unwrap(), "SourceLimiter", &bad, cx.now())
                })
                .unwrap();
            assert!(matches!(r, Err(StateError::WrongKind { .. })), "{r:?}");
        }
        let removed = b
            .with_element(eid, |e, _| {
                let one = FlowFilter::parse("src host 10.0.0.1").unwrap();
                state::delete(e.state().unwrap(), "SourceLimiter", &one)
            })
            .unwrap()
            .unwrap();
        assert_eq!(removed, 1);
        assert_eq!(b.read("lim.table").unwrap(), "10.0.0.2 4 1\n");
    }

    #[test]
    fn argument_errors() {
        for cfg in [
            "",
            "3",
            "x, 1s",
            "3, soon",
            "3, 0s",
            "3, 1s, CAPACITY 0",
            "3, 1s, 4",
        ] {
            assert!(
                build(fed(
                    &[("lim", "SourceLimiter", cfg), ("s", "TestSink", "")],
                    &[(0, 0, 1, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
    }

    #[test]
    fn out_of_memory_for_a_new_source_is_a_counted_drop() {
        let r = setup("5, 1s");
        r.inject(0, 0, ip_from([10, 0, 0, 1]));
        crate::fallible::fail_in_tests(true);
        r.inject(0, 0, ip_from([10, 0, 0, 2]));
        // A tracked source needs no memory.
        r.inject(0, 0, ip_from([10, 0, 0, 1]));
        crate::fallible::fail_in_tests(false);
        let ports: Vec<usize> = sink_contents(&r, "s").iter().map(|(p, _)| *p).collect();
        assert_eq!(ports, [0, 1, 0]);
        assert_eq!(r.read("lim.nomem_drops").unwrap(), "1");
        assert_eq!(r.read("lim.drops").unwrap(), "1");
        r.inject(0, 0, ip_from([10, 0, 0, 2]));
        assert_eq!(sink_contents(&r, "s").last().unwrap().0, 0);
    }
}

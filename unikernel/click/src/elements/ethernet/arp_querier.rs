//! `ARPQuerier(IP, ETH [, KEYWORDS])`: encapsulates IP packets in Ethernet
//! headers, finding next-hop addresses with ARP.
//!
//! # Ports
//! Two push inputs: 0 takes IP packets whose destination IP annotation
//! names the next hop, 1 takes ARP replies (whole frames). One or two push
//! outputs: 0 emits Ethernet frames; ARP queries leave on the last output
//! (output 1 when connected, else output 0).
//!
//! # Processing
//! A packet for a known, unexpired next hop gets an Ethernet header (type
//! IPv4, source `ETH`) and leaves on output 0. Packets for
//! 255.255.255.255 or the `BROADCAST` address go to FF-FF-FF-FF-FF-FF;
//! multicast groups go to 01-00-5E plus the group's low 23 bits; packets
//! for 0.0.0.0 are dropped (counted in `drops`, one warning). Otherwise the
//! packet (already encapsulated) waits in the next hop's queue and an ARP
//! query is broadcast, at most ten a second per address, then one every
//! two seconds after ten unanswered queries. A reply on input 1 (hardware
//! Ethernet, protocol IPv4, operation 2, unicast sender) records the
//! sender's address and sends the waiting packets in arrival order. A known
//! entry older than `POLL_TIMEOUT` is refreshed with a unicast query while
//! it is still used. Entries expire after `TIMEOUT`; their waiting packets
//! are dropped. When more than `CAPACITY` packets wait, the oldest entries'
//! packets are dropped until the queue is back to
//! `CAPACITY - CAPACITY/CAPACITY_SLIM_FACTOR`. Queries carry the timestamp
//! of the packet that caused them, as in Click.
//!
//! `IP` may carry a prefix (`10.0.0.1/24`); the default `BROADCAST` is that
//! prefix's broadcast address.
//!
//! # Keywords
//! * `CAPACITY` (integer, default 2048): packets waiting in all queues; 0
//!   is unlimited.
//! * `ENTRY_CAPACITY` (integer, default 0 = unlimited): table entries.
//! * `ENTRY_PACKET_CAPACITY` (integer, default 0 = unlimited): packets
//!   waiting per entry.
//! * `CAPACITY_SLIM_FACTOR` (integer, default 2, not 0).
//! * `TIMEOUT` (time, default 5 min; 0 = never): entry lifetime.
//! * `POLL_TIMEOUT` (time, default 1 min; 0 = never): age after which a used
//!   entry is refreshed.
//! * `BROADCAST` (IP address): the local broadcast address.
//! * `BROADCAST_POLL` (bool, default false): send refresh queries to the
//!   broadcast address rather than the known one.
//!
//! # Handlers
//! * `table` (read): one line per entry, oldest first: `IP OK ETH AGE`
//!   (`OK` is 1 for a known, unexpired entry; `AGE` in seconds).
//! * `stats` (read): `N packets killed` and `M ARP queries sent` lines.
//! * `count` (read): table entries; `length` (read): waiting packets.
//! * `queries`, `responses`, `drops` (read): queries sent, ARP replies
//!   received, packets dropped for a 0.0.0.0 next hop.
//! * `ipaddr`, `broadcast` (read/write): this host's and the broadcast
//!   address.
//! * `nomem_drops` (read): table entries not made and packets not queued
//!   for want of memory (the packets are killed and counted in `stats`).
//! * `insert` (write): `IP ETH` adds or updates an entry.
//! * `delete` (write): `IP` marks the entry unknown.
//! * `clear` (write): empties the table and zeroes the counters.
//!
//! # State
//! Per-flow state is the table: an entry for address A is selected by a
//! flow filter whose source and destination prefixes (when set) contain A.
//! Entries travel with their age; waiting packets do not. Shared state is
//! the three counters, added on import.
//!
//! # Example
//! ```text
//! c :: Classifier(12/0806 20/0002, 12/0800);
//! a :: ARPQuerier(10.0.0.254, 02:00:00:00:00:fe);
//! c[0] -> [1]a;
//! c[1] -> Strip(14) -> CheckIPHeader -> [0]a;
//! a[0] -> Discard;
//! a[1] -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::confparse::{split_words, Duration, EtherAddr, FromArg, Ipv4, Ipv4Prefix};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::net::arp::{self, Arp};
use crate::net::{ether, ip};
use crate::packet::Packet;
use crate::router::Ctx;
use crate::state::{self, Role, StateError, StateInfo, StatefulElement};
use crate::time::Timestamp;

/// The `ARPQuerier` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ARPQuerier",
    ports: "2/1-2",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        let capacity = args.keyword_or("CAPACITY", 2048u32)?;
        let entry_capacity = args.keyword_or("ENTRY_CAPACITY", 0u32)?;
        let entry_packet_capacity = args.keyword_or("ENTRY_PACKET_CAPACITY", 0u32)?;
        let slim_factor = args.keyword_or("CAPACITY_SLIM_FACTOR", 2u32)?;
        if slim_factor == 0 {
            return Err(ConfigError::out_of_range(
                "CAPACITY_SLIM_FACTOR cannot be zero",
            ));
        }
        let timeout = args.keyword_or("TIMEOUT", Duration(Timestamp::new(300, 0)))?;
        let poll_timeout = args.keyword_or("POLL_TIMEOUT", Duration(Timestamp::new(60, 0)))?;
        let bcast: Option<Ipv4> = args.keyword("BROADCAST")?;
        let broadcast_poll = args.keyword_or("BROADCAST_POLL", false)?;
        let crate::confparse::Word(ip_text) = args.required("IP")?;
        let mut forms = alloc::vec![ip_text.clone()];
        forms.extend(args.names().candidates(&ip_text));
        // A name with an address beside its network (`10.0.0.1
        // 10.0.0.0/8`) stands for the address, with the network's length.
        let net = forms.iter().find_map(|c| Ipv4Prefix::from_arg(c));
        let addr = forms
            .iter()
            .filter(|c| !c.contains('/'))
            .find_map(|c| Ipv4::from_arg(c));
        let me = match (net, addr) {
            (Some(n), Some(a)) if n.len < 32 => Ipv4Prefix {
                addr: a,
                len: n.len,
            },
            (Some(n), _) => n,
            _ => return Err(ConfigError::bad_value("IP", Ipv4Prefix::EXPECTED, &ip_text)),
        };
        // Click's one-argument form: a name that has an Ethernet address too.
        let eth: EtherAddr = match args.optional("ETH")? {
            Some(e) => e,
            None => forms
                .iter()
                .find_map(|c| EtherAddr::from_arg(c))
                .ok_or_else(|| ConfigError::missing("ETH"))?,
        };
        let bcast = bcast.map(|b| b.0).unwrap_or_else(|| {
            let b = me.broadcast();
            if b == me.addr {
                [255; 4]
            } else {
                b.0
            }
        });
        Ok(Box::new(ArpQuerier {
            my_ip: me.addr.0,
            my_eth: eth.0,
            bcast,
            broadcast_poll,
            capacity,
            entry_capacity,
            entry_packet_capacity,
            slim_factor,
            timeout_ms: timeout.0.msec(),
            poll_timeout_ms: poll_timeout.0.msec(),
            table: BTreeMap::new(),
            seq: 0,
            packets: 0,
            table_drops: 0,
            nomem_drops: 0,
            queries: 0,
            responses: 0,
            drops: 0,
            zero_warned: false,
        }))
    },
};

/// Timer that expires old entries.
const EXPIRE_TIMER: u32 = 0;
/// Click's jiffies are milliseconds; one second of them.
const HZ: i64 = 1000;

/// One next hop.
struct Entry {
    eth: [u8; 6],
    known: bool,
    /// When the entry was last confirmed, in ms.
    live_at: i64,
    /// When the last query was sent, in ms.
    polled_at: i64,
    polls: u8,
    /// Age-list position: larger is younger.
    seq: u64,
    queue: VecDeque<Packet>,
}

impl Entry {
    fn expired(&self, now: i64, timeout: i64) -> bool {
        timeout != 0 && self.live_at + timeout < now
    }
    fn is_known(&self, now: i64, timeout: i64) -> bool {
        self.known && !self.expired(now, timeout)
    }
    fn allow_poll(&self, now: i64) -> bool {
        let gap = if self.polls >= 10 { 2 * HZ } else { HZ / 10 };
        now >= self.polled_at + gap
    }
    fn mark_poll(&mut self, now: i64) {
        self.polled_at = now;
        self.polls = self.polls.saturating_add(1);
    }
}

/// The ARP resolver and its table.
pub struct ArpQuerier {
    my_ip: [u8; 4],
    my_eth: [u8; 6],
    bcast: [u8; 4],
    broadcast_poll: bool,
    capacity: u32,
    entry_capacity: u32,
    entry_packet_capacity: u32,
    slim_factor: u32,
    timeout_ms: i64,
    poll_timeout_ms: i64,
    table: BTreeMap<[u8; 4], Entry>,
    seq: u64,
    /// Packets waiting in all queues.
    packets: u32,
    /// Packets the table dropped (expiry, capacity).
    table_drops: u64,
    /// Entries not made and packets not queued for want of memory.
    nomem_drops: u64,
    queries: u64,
    responses: u64,
    drops: u64,
    zero_warned: bool,
}

/// One exported table entry.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct EntryRecord {
    ip: [u8; 4],
    eth: [u8; 6],
    known: bool,
    /// Time since the entry was confirmed, in ms.
    age_ms: i64,
}

/// Exported counters.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct Counters {
    queries: u64,
    responses: u64,
    drops: u64,
}

const KIND: &str = "ARPQuerier";
const VERSION: u16 = 1;

impl ArpQuerier {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Entries oldest first.
    fn age_order(&self) -> Vec<[u8; 4]> {
        let mut v: Vec<(i64, u64, [u8; 4])> = self
            .table
            .iter()
            .map(|(ip, e)| (e.live_at, e.seq, *ip))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, _, ip)| ip).collect()
    }

    fn remove_entry(&mut self, cx: &Ctx, ip: &[u8; 4]) {
        if let Some(e) = self.table.remove(ip) {
            for p in e.queue {
                self.packets -= 1;
                self.table_drops += 1;
                cx.kill(p);
            }
        }
    }

    /// Click's `ARPTable::slim`: drops expired entries (and the oldest ones
    /// beyond `ENTRY_CAPACITY`), then waiting packets beyond `CAPACITY`.
    fn slim(&mut self, cx: &Ctx, now: i64) {
        let max = match self.entry_capacity {
            0 => usize::MAX,
            n => n as usize,
        };
        self.slim_to(cx, now, max);
    }

    /// [`Self::slim`] keeping at most `max_entries` entries.
    fn slim_to(&mut self, cx: &Ctx, now: i64, max_entries: usize) {
        let order = self.age_order();
        for ip in &order {
            let over = self.table.len() > max_entries;
            let expired = self.table[ip].expired(now, self.timeout_ms);
            if expired || over {
                self.remove_entry(cx, ip);
            }
        }
        if self.capacity != 0 && self.packets > self.capacity {
            let target = (self.capacity - self.capacity / self.slim_factor).max(1);
            for ip in self.age_order() {
                let Some(e) = self.table.get_mut(&ip) else {
                    continue;
                };
                while self.packets > target {
                    let Some(p) = e.queue.pop_front() else { break };
                    self.packets -= 1;
                    self.table_drops += 1;
                    cx.kill(p);
                }
                if self.packets <= target {
                    break;
                }
            }
        }
    }

    /// The entry for `ip`, created if missing; `None` when there is no
    /// memory for a new one (counted in `nomem_drops`).
    fn ensure(&mut self, cx: &Ctx, ip: [u8; 4], now: i64) -> Option<&mut Entry> {
        if !self.table.contains_key(&ip) {
            if !crate::fallible::room_for_btree_insert::<[u8; 4], Entry>() {
                self.nomem_drops += 1;
                return None;
            }
            if self.entry_capacity != 0 && self.table.len() >= self.entry_capacity as usize {
                // Make room before inserting (Click evicts the oldest once
                // the count exceeds the capacity).
                self.slim_to(cx, now, self.entry_capacity as usize - 1);
            }
            let seq = self.next_seq();
            self.table.insert(
                ip,
                Entry {
                    eth: ether::BROADCAST,
                    known: false,
                    live_at: now,
                    polled_at: now - HZ,
                    polls: 0,
                    seq,
                    queue: VecDeque::new(),
                },
            );
        }
        self.table.get_mut(&ip)
    }

    /// Records `ip` at `eth`; returns the packets that were waiting for it
    /// when `take` is set.
    fn insert(&mut self, cx: &Ctx, ip: [u8; 4], eth: [u8; 6], take: bool) -> VecDeque<Packet> {
        let now = cx.now().msec();
        let seq = self.next_seq();
        let Some(e) = self.ensure(cx, ip, now) else {
            return VecDeque::new();
        };
        e.eth = eth;
        e.known = eth != ether::BROADCAST;
        e.live_at = now;
        e.polls = 0;
        e.polled_at = now - HZ;
        e.seq = seq;
        if take {
            let q = core::mem::take(&mut e.queue);
            self.packets -= q.len() as u32;
            q
        } else {
            VecDeque::new()
        }
    }

    /// Sends an ARP query for `p`'s next hop: to `unicast` if given (and
    /// not `BROADCAST_POLL`), else to everyone.
    fn send_query(&mut self, cx: &Ctx, target: [u8; 4], ts: Timestamp, unicast: Option<[u8; 6]>) {
        let Some(mut q) = cx.alloc(arp::FRAME_LEN) else {
            return;
        };
        let dst = match unicast {
            Some(d) if !self.broadcast_poll => d,
            _ => ether::BROADCAST,
        };
        Arp {
            op: arp::OP_REQUEST,
            sha: self.my_eth,
            spa: self.my_ip,
            tha: [0; 6],
            tpa: target,
        }
        .write_frame(q.data_mut(), &dst, &self.my_eth);
        q.set_mac_header(0);
        q.set_timestamp(ts);
        self.queries += 1;
        cx.push(cx.noutputs().saturating_sub(1), q);
    }

    fn emit(&self, cx: &Ctx, mut p: Packet, dst: [u8; 6]) {
        if let Some(h) = p.data_mut().get_mut(..12) {
            h[ether::DST].copy_from_slice(&dst);
            h[ether::SRC].copy_from_slice(&self.my_eth);
        }
        cx.push(0, p);
    }

    /// Click's `handle_ip`; `p` already has its Ethernet header.
    fn handle_ip(&mut self, cx: &Ctx, p: Packet) {
        let dst = p.dst_ip_anno();
        let now = cx.now().msec();
        let (timeout, poll) = (self.timeout_ms, self.poll_timeout_ms);
        if let Some(e) = self.table.get_mut(&dst) {
            if e.is_known(now, timeout) {
                let eth = e.eth;
                if poll != 0 && now >= e.live_at + poll && e.allow_poll(now) {
                    e.mark_poll(now);
                    self.send_query(cx, dst, p.timestamp(), Some(eth));
                }
                return self.emit(cx, p, eth);
            }
        }
        if dst == [255; 4] || dst == self.bcast {
            return self.emit(cx, p, ether::BROADCAST);
        }
        if ip::is_multicast(dst) {
            return self.emit(cx, p, ether::ip_multicast(dst));
        }
        if dst == [0; 4] {
            if !self.zero_warned {
                self.zero_warned = true;
                cx.log("would query for 0.0.0.0; missing dest IP addr annotation?");
            }
            self.drops += 1;
            return cx.kill(p);
        }
        self.enqueue(cx, dst, p, now);
    }

    /// Click's `ARPTable::append_query`, then the query it may trigger.
    fn enqueue(&mut self, cx: &Ctx, dst: [u8; 4], p: Packet, now: i64) {
        let (timeout, epc) = (self.timeout_ms, self.entry_packet_capacity);
        let Some(e) = self.ensure(cx, dst, now) else {
            self.table_drops += 1;
            return cx.kill(p);
        };
        // Keep an entry we still want just short of expiring, so the slim
        // below cannot delete it.
        if timeout != 0 && e.live_at < now - timeout {
            e.live_at = now - timeout;
        }
        if epc != 0 && e.queue.len() >= epc as usize {
            self.table_drops += 1;
            return cx.kill(p);
        }
        self.packets += 1;
        if self.capacity != 0 && self.packets > self.capacity {
            self.slim(cx, now);
        }
        let ts = p.timestamp();
        let Some(e) = self.table.get_mut(&dst) else {
            // Slimmed away together with its queue (only possible with a
            // tiny ENTRY_CAPACITY): the packet goes too.
            self.packets -= 1;
            self.table_drops += 1;
            return cx.kill(p);
        };
        if !crate::fallible::reserve_deque(&mut e.queue, 1) {
            self.packets -= 1;
            self.table_drops += 1;
            self.nomem_drops += 1;
            return cx.kill(p);
        }
        e.queue.push_back(p);
        if e.allow_poll(now) {
            e.mark_poll(now);
            self.send_query(cx, dst, ts, None);
        }
    }

    fn handle_reply(&mut self, cx: &Ctx, p: &Packet) {
        if p.len() < arp::FRAME_LEN {
            return;
        }
        self.responses += 1;
        let Some(a) = Arp::parse_frame(p.data()) else {
            return;
        };
        if a.op != arp::OP_REPLY || ether::is_group(&a.sha) {
            return;
        }
        for q in self.insert(cx, a.spa, a.sha, true) {
            self.handle_ip(cx, q);
        }
    }
}

impl Element for ArpQuerier {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        if self.timeout_ms != 0 {
            cx.set_timer(
                EXPIRE_TIMER,
                cx.now() + Timestamp::from_msec(self.timeout_ms),
            );
        }
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, port: usize, mut p: Packet) {
        if port == 0 {
            p.push(ether::HEADER_LEN);
            p.set_mac_header(0);
            p.data_mut()[12..14].copy_from_slice(&ether::ETHERTYPE_IP.to_be_bytes());
            self.handle_ip(cx, p);
        } else {
            self.handle_reply(cx, &p);
            cx.kill(p);
        }
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        self.slim(cx, cx.now().msec());
        if self.timeout_ms != 0 {
            let next = (self.timeout_ms / HZ + 1) * HZ;
            cx.set_timer(EXPIRE_TIMER, cx.now() + Timestamp::from_msec(next));
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("table"),
            HandlerDecl::read("stats"),
            HandlerDecl::read("count"),
            HandlerDecl::read("length"),
            HandlerDecl::read("queries"),
            HandlerDecl::read("responses"),
            HandlerDecl::read("drops"),
            HandlerDecl::read("nomem_drops"),
            HandlerDecl::rw("broadcast"),
            HandlerDecl::rw("ipaddr"),
            HandlerDecl::write("insert"),
            HandlerDecl::write("delete"),
            HandlerDecl::write("clear"),
        ];
        H
    }

    fn read_handler(&self, cx: &Ctx, name: &str) -> String {
        let now = cx.now().msec();
        match name {
            "table" => {
                let mut s = String::new();
                for ip in self.age_order() {
                    let e = &self.table[&ip];
                    s.push_str(&format!(
                        "{} {} {} {}\n",
                        Ipv4(ip),
                        e.is_known(now, self.timeout_ms) as u8,
                        ether::unparse(&e.eth),
                        Timestamp::from_msec(now - e.live_at)
                    ));
                }
                s
            }
            "stats" => format!(
                "{} packets killed\n{} ARP queries sent\n",
                self.drops + self.table_drops,
                self.queries
            ),
            "count" => self.table.len().to_string(),
            "length" => self.packets.to_string(),
            "queries" => self.queries.to_string(),
            "responses" => self.responses.to_string(),
            "drops" => self.drops.to_string(),
            "nomem_drops" => self.nomem_drops.to_string(),
            "broadcast" => Ipv4(self.bcast).to_string(),
            "ipaddr" => Ipv4(self.my_ip).to_string(),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        let words = split_words(value);
        let ip_arg = |w: Option<&String>| {
            w.and_then(|w| Ipv4::from_arg(w))
                .map(|a| a.0)
                .ok_or_else(|| format!("{name}: expected an IP address"))
        };
        match name {
            "insert" => {
                let ip = ip_arg(words.first())?;
                let eth = words
                    .get(1)
                    .and_then(|w| EtherAddr::from_arg(w))
                    .ok_or("insert: expected IP ETH")?;
                if words.len() > 2 {
                    return Err("insert: too many arguments".into());
                }
                // Waiting packets stay queued, as in Click.
                self.insert(cx, ip, eth.0, false);
            }
            "delete" => {
                let ip = ip_arg(words.first())?;
                self.insert(cx, ip, ether::BROADCAST, false);
            }
            "clear" => {
                let ips: Vec<[u8; 4]> = self.table.keys().copied().collect();
                for ip in ips {
                    self.remove_entry(cx, &ip);
                }
                self.queries = 0;
                self.drops = 0;
                self.responses = 0;
            }
            "broadcast" => self.bcast = ip_arg(words.first())?,
            _ => self.my_ip = ip_arg(words.first())?,
        }
        Ok(())
    }

    fn take_state(&mut self, old: &mut dyn Element, _cx: &Ctx) {
        if let Some(o) = old.downcast_mut::<ArpQuerier>() {
            if (o.my_ip, o.my_eth, o.bcast) == (self.my_ip, self.my_eth, self.bcast) {
                core::mem::swap(&mut self.table, &mut o.table);
                self.seq = o.seq;
                self.packets = core::mem::take(&mut o.packets);
                self.table_drops = o.table_drops;
                self.queries = o.queries;
                self.responses = o.responses;
                self.drops = o.drops;
            }
        }
    }

    fn state(&mut self) -> Option<&mut dyn StatefulElement> {
        Some(self)
    }
}

impl StatefulElement for ArpQuerier {
    fn info(&self) -> StateInfo {
        // The table serves every flow: a sibling gets a copy (clone), a
        // merge takes the union.
        StateInfo {
            version: VERSION,
            per_flow: None,
            shared_supporting: true,
            shared_reporting: true,
            events: false,
        }
    }

    fn export_shared(&self, role: Role) -> Vec<u8> {
        if role == Role::Reporting {
            let c = Counters {
                queries: self.queries,
                responses: self.responses,
                drops: self.drops,
            };
            return state::encode(KIND, VERSION, &c);
        }
        // Ages are relative to the newest confirmation, as the exporter has
        // no clock here; importers treat the newest entry as just confirmed.
        let newest = self.table.values().map(|e| e.live_at).max().unwrap_or(0);
        let recs: Vec<EntryRecord> = self
            .table
            .iter()
            .map(|(ip, e)| EntryRecord {
                ip: *ip,
                eth: e.eth,
                known: e.known,
                age_ms: newest - e.live_at,
            })
            .collect();
        state::encode(KIND, VERSION, &recs)
    }

    fn import_shared(&mut self, role: Role, blob: &[u8], now: Timestamp) -> Result<(), StateError> {
        if role == Role::Reporting {
            let c: Counters = state::decode(KIND, VERSION, blob)?;
            self.queries += c.queries;
            self.responses += c.responses;
            self.drops += c.drops;
            return Ok(());
        }
        let recs: Vec<EntryRecord> = state::decode(KIND, VERSION, blob)?;
        let now = now.msec();
        for r in recs {
            let live_at = now - r.age_ms.max(0);
            // A union: an answer we already have and is fresher stays.
            if let Some(e) = self.table.get(&r.ip) {
                if e.known && (!r.known || e.live_at >= live_at) {
                    continue;
                }
            }
            if self.entry_capacity != 0
                && !self.table.contains_key(&r.ip)
                && self.table.len() >= self.entry_capacity as usize
            {
                return Err(StateError::NoRoom);
            }
            let seq = self.next_seq();
            let e = self.table.entry(r.ip).or_insert_with(|| Entry {
                eth: ether::BROADCAST,
                known: false,
                live_at: now,
                polled_at: now - HZ,
                polls: 0,
                seq,
                queue: VecDeque::new(),
            });
            e.eth = r.eth;
            e.known = r.known && r.eth != ether::BROADCAST;
            e.live_at = live_at;
            e.seq = seq;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::Router;
    use crate::testing::{build, flat, router, sink_contents};

    const ME: [u8; 6] = [2, 0, 0, 0, 0, 0xfe];
    const PEER: [u8; 6] = [2, 0, 0, 0, 0, 1];

    fn setup(cfg: &str) -> Router {
        let (r, _) = router(flat(
            &[
                ("a", "ARPQuerier", cfg),
                ("out", "TestSink", ""),
                ("q", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (0, 1, 2, 0), (3, 0, 0, 0), (3, 1, 0, 1)],
        ));
        r
    }

    fn ip_packet(dst: [u8; 4], tag: u8) -> Packet {
        let mut p = Packet::from_slice(&ip::build([10, 0, 0, 254], dst, 17, 64, &[tag]));
        p.set_dst_ip_anno(dst);
        p
    }

    fn reply(spa: [u8; 4], sha: [u8; 6]) -> Packet {
        let mut f = [0u8; 60];
        Arp {
            op: arp::OP_REPLY,
            sha,
            spa,
            tha: ME,
            tpa: [10, 0, 0, 254],
        }
        .write_frame(&mut f, &ME, &sha);
        Packet::from_slice(&f)
    }

    /// Moves simulated time forward by `ms`, running timers due.
    fn advance(r: &Router, ms: i64) {
        let t = r.now() + Timestamp::from_msec(ms);
        while let Some(n) = r.next_timer() {
            if n > t {
                break;
            }
            r.clock().advance_to(n);
            r.run_timers();
        }
        r.clock().advance_to(t);
    }

    #[test]
    fn one_name_gives_both_addresses() {
        let (r, _) = crate::testing::router_from_source(
            "AddressInfo(intern 10.0.0.1 10.0.0.0/8 02:00:00:00:00:fe);\n\
             Idle -> a :: ARPQuerier(intern) -> q :: TestSink; Idle -> [1] a;",
        );
        r.inject(r.find("a").unwrap(), 0, ip_packet([10, 0, 0, 9], 1));
        let a = Arp::parse_frame(&sink_contents(&r, "q")[0].1).unwrap();
        assert_eq!((a.sha, a.spa), ([2, 0, 0, 0, 0, 0xfe], [10, 0, 0, 1]));
        let bad =
            "AddressInfo(x 10.0.0.1); Idle -> ARPQuerier(x) -> Discard; Idle -> [1] ARPQuerier(x);";
        assert!(crate::testing::build_from_source(bad).is_err());
    }

    #[test]
    fn queues_queries_and_releases_in_order() {
        let r = setup("10.0.0.254/24, 02:00:00:00:00:fe");
        r.inject(0, 0, ip_packet([10, 0, 0, 1], 1));
        r.inject(0, 0, ip_packet([10, 0, 0, 1], 2));
        assert!(sink_contents(&r, "out").is_empty());
        // One query: the second packet came within 100 ms.
        let q = sink_contents(&r, "q");
        assert_eq!(q.len(), 1);
        let a = Arp::parse_frame(&q[0].1).unwrap();
        assert_eq!(
            (a.op, a.sha, a.spa, a.tpa),
            (1, ME, [10, 0, 0, 254], [10, 0, 0, 1])
        );
        assert_eq!(&q[0].1[..6], &ether::BROADCAST);
        assert_eq!(r.read("a.length").unwrap(), "2");
        assert_eq!(
            r.read("a.table").unwrap(),
            "10.0.0.1 0 FF-FF-FF-FF-FF-FF 0.000000\n"
        );

        r.inject(0, 1, reply([10, 0, 0, 1], PEER));
        let out = sink_contents(&r, "out");
        assert_eq!(out.len(), 2);
        assert_eq!(
            &out[0].1[..14],
            &[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0xfe, 8, 0]
        );
        assert_eq!((out[0].1[34], out[1].1[34]), (1, 2));
        assert_eq!(r.read("a.responses").unwrap(), "1");
        assert_eq!(r.read("a.length").unwrap(), "0");

        // Known now: straight through.
        r.inject(0, 0, ip_packet([10, 0, 0, 1], 3));
        assert_eq!(sink_contents(&r, "out").len(), 3);
        assert_eq!(r.read("a.queries").unwrap(), "1");
        assert_eq!(
            r.read("a.table").unwrap(),
            "10.0.0.1 1 02-00-00-00-00-01 0.000000\n"
        );
    }

    #[test]
    fn query_rate_limit_and_special_addresses() {
        let r = setup("10.0.0.254/24, 02:00:00:00:00:fe");
        r.inject(0, 0, ip_packet([10, 0, 0, 2], 0));
        advance(&r, 50);
        r.inject(0, 0, ip_packet([10, 0, 0, 2], 0));
        assert_eq!(r.read("a.queries").unwrap(), "1");
        advance(&r, 60);
        r.inject(0, 0, ip_packet([10, 0, 0, 2], 0));
        assert_eq!(r.read("a.queries").unwrap(), "2");

        r.inject(0, 0, ip_packet([10, 0, 0, 255], 0));
        r.inject(0, 0, ip_packet([255, 255, 255, 255], 0));
        r.inject(0, 0, ip_packet([239, 200, 1, 2], 0));
        r.inject(0, 0, ip_packet([0, 0, 0, 0], 0));
        let out = sink_contents(&r, "out");
        assert_eq!(out.len(), 3);
        assert_eq!(&out[0].1[..6], &ether::BROADCAST);
        assert_eq!(&out[1].1[..6], &ether::BROADCAST);
        assert_eq!(&out[2].1[..6], &[1, 0, 0x5e, 0x48, 1, 2]);
        assert_eq!(r.read("a.drops").unwrap(), "1");
    }

    #[test]
    fn entries_expire_and_drop_waiting_packets() {
        let r = setup("10.0.0.254/24, 02:00:00:00:00:fe, TIMEOUT 2s, POLL_TIMEOUT 0");
        r.write("a.insert", "10.0.0.7 02:00:00:00:00:07").unwrap();
        r.inject(0, 0, ip_packet([10, 0, 0, 7], 0));
        assert_eq!(sink_contents(&r, "out").len(), 1);
        r.inject(0, 0, ip_packet([10, 0, 0, 8], 0));
        assert_eq!(r.read("a.length").unwrap(), "1");
        // Expired after 2 s but still listed: the sweep runs at 2 s (too
        // early, nothing is older than 2 s yet), then every 3 s.
        advance(&r, 2500);
        assert!(r
            .read("a.table")
            .unwrap()
            .starts_with("10.0.0.7 0 02-00-00-00-00-07 2.500000\n"));
        advance(&r, 2600);
        assert_eq!(r.read("a.count").unwrap(), "0");
        assert_eq!(r.read("a.length").unwrap(), "0");
        assert_eq!(
            r.read("a.stats").unwrap(),
            "1 packets killed\n1 ARP queries sent\n"
        );
        // Expired: the next packet must wait for a new query.
        r.inject(0, 0, ip_packet([10, 0, 0, 7], 0));
        assert_eq!(sink_contents(&r, "out").len(), 1);
        assert_eq!(r.read("a.queries").unwrap(), "2");
    }

    #[test]
    fn polls_known_entries_unicast() {
        let r = setup("10.0.0.254/24, 02:00:00:00:00:fe, POLL_TIMEOUT 1s");
        r.inject(0, 1, reply([10, 0, 0, 1], PEER));
        advance(&r, 1500);
        r.inject(0, 0, ip_packet([10, 0, 0, 1], 0));
        assert_eq!(sink_contents(&r, "out").len(), 1);
        let q = sink_contents(&r, "q");
        assert_eq!(q.len(), 1);
        assert_eq!(&q[0].1[..6], &PEER);
    }

    #[test]
    fn capacities_bound_the_queues() {
        let r = setup("10.0.0.254/24, 02:00:00:00:00:fe, CAPACITY 4, ENTRY_PACKET_CAPACITY 3");
        for i in 0..4 {
            r.inject(0, 0, ip_packet([10, 0, 0, 1], i));
        }
        assert_eq!(r.read("a.length").unwrap(), "3");
        for i in 0..2 {
            r.inject(0, 0, ip_packet([10, 0, 0, 2], i));
        }
        // 5 > 4 waiting: slimmed to 4 - 4/2 = 2, oldest entry first.
        assert_eq!(r.read("a.length").unwrap(), "2");
        r.inject(0, 1, reply([10, 0, 0, 2], PEER));
        assert_eq!(sink_contents(&r, "out").len(), 2);

        let r = setup("10.0.0.254/24, 02:00:00:00:00:fe, ENTRY_CAPACITY 1");
        r.inject(0, 0, ip_packet([10, 0, 0, 1], 0));
        r.inject(0, 0, ip_packet([10, 0, 0, 2], 0));
        assert_eq!(r.read("a.count").unwrap(), "1");
        assert!(r.read("a.table").unwrap().starts_with("10.0.0.2 "));
    }

    #[test]
    fn ignores_bad_replies_and_bad_config() {
        let r = setup("10.0.0.254, 02:00:00:00:00:fe");
        assert_eq!(r.read("a.broadcast").unwrap(), "255.255.255.255");
        r.inject(0, 1, Packet::from_slice(&[0; 20]));
        r.inject(0, 1, reply([10, 0, 0, 9], [1, 0, 0x5e, 0, 0, 1]));
        assert_eq!(r.read("a.responses").unwrap(), "1");
        assert_eq!(r.read("a.count").unwrap(), "0");
        assert!(r.write("a.insert", "10.0.0.1").is_err());
        for cfg in [
            "10.0.0.1",
            "x, 1:2:3:4:5:6",
            "10.0.0.1, 1:2:3:4:5:6, CAPACITY_SLIM_FACTOR 0",
        ] {
            assert!(
                build(flat(&[("a", "ARPQuerier", cfg)], &[])).is_err(),
                "{cfg}"
            );
        }
    }

    #[test]
    fn table_is_shared_state_cloned_and_merged_as_a_union() {
        use crate::state::{self, Chunks, Parts};
        let r = setup("10.0.0.254/24, 02:00:00:00:00:fe");
        r.write("a.insert", "10.0.0.1 02:00:00:00:00:01").unwrap();
        r.write("a.insert", "10.0.1.1 02:00:00:00:00:02").unwrap();
        r.inject(0, 0, ip_packet([10, 0, 0, 3], 0));
        let all = state::FlowFilter::all();
        let get = |parts| {
            r.with_element(0, |e, _| {
                state::get(e.state().unwrap(), "ARPQuerier", &all, parts)
            })
            .unwrap()
            .unwrap()
        };
        let clone = Chunks::from_bytes(&get(Parts::CLONE).to_bytes()).unwrap();
        assert!(clone.reporting.is_empty() && clone.flows.is_empty());
        let r2 = setup("10.0.0.254/24, 02:00:00:00:00:fe");
        // r2 already knows 10.0.1.1 differently and more recently.
        r2.write("a.insert", "10.0.1.1 02:00:00:00:00:09").unwrap();
        let now = r2.now();
        let put = |c: &Chunks| {
            r2.with_element(0, |e, _| {
                state::put(e.state().unwrap(), "ARPQuerier", c, now)
            })
            .unwrap()
        };
        let mut junk = clone.clone();
        junk.supporting = b"junk".to_vec();
        assert!(put(&junk).is_err());
        assert_eq!(put(&clone).unwrap().shared, 1);
        assert_eq!(
            r2.read("a.table").unwrap(),
            "10.0.1.1 1 02-00-00-00-00-09 0.000000\n10.0.0.1 1 02-00-00-00-00-01 0.000000\n\
             10.0.0.3 0 FF-FF-FF-FF-FF-FF 0.000000\n"
        );
        // A clone carries no statistics; a merge adds them.
        assert_eq!(r2.read("a.queries").unwrap(), "0");
        put(&get(Parts::ALL)).unwrap();
        assert_eq!(r2.read("a.queries").unwrap(), "1");
        r2.inject(0, 0, ip_packet([10, 0, 0, 1], 0));
        assert_eq!(sink_contents(&r2, "out").len(), 1);
    }

    #[test]
    fn out_of_memory_for_an_entry_kills_the_packet_and_counts_it() {
        let r = setup("10.0.0.254/24, 02:00:00:00:00:fe");
        crate::fallible::fail_in_tests(true);
        r.inject(0, 0, ip_packet([10, 0, 0, 9], 0));
        crate::fallible::fail_in_tests(false);
        assert_eq!(r.read("a.nomem_drops").unwrap(), "1");
        assert_eq!(r.read("a.count").unwrap(), "0");
        assert_eq!(r.read("a.length").unwrap(), "0");
        assert!(
            sink_contents(&r, "q").is_empty(),
            "no query without an entry"
        );
        assert_eq!(
            r.read("a.stats").unwrap(),
            "1 packets killed\n0 ARP queries sent\n"
        );
        r.inject(0, 0, ip_packet([10, 0, 0, 9], 0));
        assert_eq!(r.read("a.length").unwrap(), "1");
    }
}

//! The mapping table: every flow's two entries (forward and reply) in a
//! flat open-addressing hash index, flows in a slab, and one
//! least-recently-used list per timeout class for expiry and eviction.
//!
//! Click keeps two binary heaps ordered by expiry and re-sifts a flow on
//! every packet. Within one timeout class the expiry order is the order of
//! last use, so a list per class with move-to-tail gives the same order in
//! O(1): the earliest-expiring flow is at the head of some class list.
//!
//! To spare the two neighbour cache misses of a move on every packet, a
//! flow is moved only when its list position is [`GRANULE_MS`] old (or its
//! class changes): each flow's last use lies in `[pos, pos + GRANULE_MS)`
//! of its list position time `pos`, lists stay sorted by `pos`, and expiry
//! and eviction scan that window at the head, so both stay exact.
//!
//! Guarantees (TCP_GUARANTEE ...) work as in Click: a flow whose last
//! packet is younger than its class's guarantee cannot be evicted; once the
//! guarantee has passed it expires at `last use + class timeout`.

use alloc::vec;
use alloc::vec::Vec;

use super::checksum::update;
use super::flowid::FlowId;
use super::tcpstate::{Class, NCLASS};

/// How stale a flow's list position may get before a packet moves it.
pub const GRANULE_MS: i64 = 1000;

/// Most flows examined per class list when choosing an eviction victim.
const VICTIM_SCAN: usize = 64;

/// "No flow" in links.
pub const NIL: u32 = u32::MAX;
const EMPTY: u64 = u64::MAX;

/// One mapping: the forward key and the reply key, with everything needed
/// to rewrite a packet of either direction. One cache line.
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
pub struct Flow {
    /// `key[0]`: the original flow; `key[1]`: the reply flow (the reverse
    /// of the rewritten flow).
    pub key: [FlowId; 2],
    /// Output port for each direction.
    pub out: [u16; 2],
    /// Checksum delta of the address change (Click's `_ip_csum_delta`).
    pub ip_delta: u16,
    /// Delta of addresses and ports (Click's `_udp_csum_delta`).
    pub l4_delta: u16,
    /// Last use, in milliseconds.
    pub last: i64,
    /// When it was last moved to its list's tail, in milliseconds.
    pos: i64,
    prev: u32,
    next: u32,
    /// Timeout class.
    pub class: u8,
    /// IP protocol (0 for address-only mappings).
    pub proto: u8,
    /// Connection state (see [`super::tcpstate`]).
    pub tflags: u8,
    /// Which index holds the entries (IPRewriter: 0 TCP, 1 UDP).
    pub map: u8,
    /// The input port whose spec made the flow.
    pub input: u8,
    /// REPLY_ANNO value recorded from the first packet.
    pub reply_anno: u8,
    live: bool,
}

impl Flow {
    const VACANT: Flow = Flow {
        key: [FlowId {
            saddr: [0; 4],
            daddr: [0; 4],
            sport: 0,
            dport: 0,
        }; 2],
        out: [0; 2],
        ip_delta: 0,
        l4_delta: 0,
        last: 0,
        pos: 0,
        prev: NIL,
        next: NIL,
        class: 0,
        proto: 0,
        tflags: 0,
        map: 0,
        input: 0,
        reply_anno: 0,
        live: false,
    };

    /// The flow a packet of direction `dir` becomes.
    #[inline]
    pub fn rewritten(&self, dir: usize) -> FlowId {
        self.key[dir ^ 1].reverse()
    }
}

/// Click's per-mapping checksum deltas from `from` to `to`: (addresses,
/// addresses and ports).
pub fn deltas(from: &FlowId, to: &FlowId) -> (u16, u16) {
    let a = from.words();
    let b = to.words();
    let mut ip = 0;
    for i in 0..4 {
        ip = update(ip, a[i], b[i]);
    }
    let mut l4 = ip;
    for i in 4..6 {
        l4 = update(l4, a[i], b[i]);
    }
    (ip, l4)
}

/// A cache prefetch hint (nothing on targets without one).
#[inline(always)]
fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, even for bad
    // addresses, and this one points at a live reference.
    unsafe {
        core::arch::x86_64::_mm_prefetch(
            p as *const T as *const i8,
            core::arch::x86_64::_MM_HINT_T0,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Timeout and guarantee of a class, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Time a flow lives after its last packet.
    pub timeout: i64,
    /// Time after its last packet during which a flow cannot be evicted.
    pub guarantee: i64,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

struct Index {
    /// `(tag << 32) | entry`, entry = flow << 1 | direction.
    slots: Vec<u64>,
    mask: usize,
    len: usize,
}

impl Index {
    fn new(cap: usize) -> Index {
        let n = (cap * 2).next_power_of_two().max(16);
        Index {
            slots: vec![EMPTY; n],
            mask: n - 1,
            len: 0,
        }
    }

    /// Like `new`, or `None` when memory is short.
    fn try_new(cap: usize) -> Option<Index> {
        let n = cap.checked_mul(2)?.checked_next_power_of_two()?.max(16);
        Some(Index {
            slots: crate::fallible::filled_vec(n, EMPTY)?,
            mask: n - 1,
            len: 0,
        })
    }
}

/// Flows and their index.
pub struct FlowTable {
    flows: Vec<Flow>,
    free: u32,
    index: [Index; 2],
    lists: [List; NCLASS],
    /// Timeouts of each class.
    pub timeouts: [Timeouts; NCLASS],
    live: usize,
    /// Most flows kept (MAPPING_CAPACITY).
    pub capacity: usize,
    seed: u64,
}

impl FlowTable {
    /// An empty table sized for `expected` flows at first (it grows).
    pub fn new(expected: usize, seed: u64) -> FlowTable {
        FlowTable {
            flows: Vec::with_capacity(expected),
            free: NIL,
            index: [Index::new(expected * 2), Index::new(16)],
            lists: [List {
                head: NIL,
                tail: NIL,
            }; NCLASS],
            timeouts: [Timeouts::default(); NCLASS],
            live: 0,
            capacity: 0x7FFF_FFFF,
            seed,
        }
    }

    /// Like [`FlowTable::new`], or `None` when memory is short.
    pub fn try_new(expected: usize, seed: u64) -> Option<FlowTable> {
        let mut flows = Vec::new();
        if !crate::fallible::reserve(&mut flows, expected) {
            return None;
        }
        Some(FlowTable {
            flows,
            free: NIL,
            index: [Index::try_new(expected * 2)?, Index::try_new(16)?],
            lists: [List {
                head: NIL,
                tail: NIL,
            }; NCLASS],
            timeouts: [Timeouts::default(); NCLASS],
            live: 0,
            capacity: 0x7FFF_FFFF,
            seed,
        })
    }

    /// Makes room for `n` flows in index `map` without further allocation.
    pub fn reserve(&mut self, map: usize, n: usize) {
        self.flows.reserve(n.saturating_sub(self.flows.len()));
        let want = (n * 4).next_power_of_two();
        if self.index[map].slots.len() < want {
            self.regrow(map, want);
        }
    }

    /// Number of live flows.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when there are no flows.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    #[inline]
    fn hash(&self, k: &FlowId) -> u64 {
        let (a, b) = k.hash_words();
        let mut x = (a ^ self.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (b ^ self.seed.rotate_left(29)).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        x ^= x >> 31;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^ (x >> 29)
    }

    /// The flow with entry `k` in index `map`: (flow, direction).
    #[inline]
    pub fn lookup(&self, map: usize, k: &FlowId) -> Option<(u32, usize)> {
        let h = self.hash(k);
        let ix = &self.index[map];
        let tag = (h >> 32) as u32;
        let mut pos = h as usize & ix.mask;
        loop {
            let s = ix.slots[pos];
            if s == EMPTY {
                return None;
            }
            if (s >> 32) as u32 == tag {
                let e = s as u32;
                let f = &self.flows[(e >> 1) as usize];
                if f.key[(e & 1) as usize] == *k {
                    return Some((e >> 1, (e & 1) as usize));
                }
            }
            pos = (pos + 1) & ix.mask;
        }
    }

    /// Starts loading the index slot where a lookup of `k` begins.
    #[inline]
    pub fn prefetch_slot(&self, map: usize, k: &FlowId) {
        let ix = &self.index[map];
        prefetch(&ix.slots[self.hash(k) as usize & ix.mask]);
    }

    /// Starts loading the flow a lookup of `k` will probably find (the
    /// one in its home slot), once that slot is in cache.
    #[inline]
    pub fn prefetch_flow(&self, map: usize, k: &FlowId) {
        let ix = &self.index[map];
        let h = self.hash(k);
        let s = ix.slots[h as usize & ix.mask];
        if s != EMPTY && (s >> 32) as u32 == (h >> 32) as u32 {
            if let Some(f) = self.flows.get((s as u32 >> 1) as usize) {
                prefetch(f);
            }
        }
    }

    /// True if index `map` has an entry `k`.
    #[inline]
    pub fn contains(&self, map: usize, k: &FlowId) -> bool {
        self.lookup(map, k).is_some()
    }

    /// Flow `i`.
    #[inline]
    pub fn flow(&self, i: u32) -> &Flow {
        &self.flows[i as usize]
    }

    /// Flow `i`, writable.
    #[inline]
    pub fn flow_mut(&mut self, i: u32) -> &mut Flow {
        &mut self.flows[i as usize]
    }

    /// Indices of every live flow.
    pub fn live_flows(&self) -> impl Iterator<Item = u32> + '_ {
        self.flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.live)
            .map(|(i, _)| i as u32)
    }

    fn regrow(&mut self, map: usize, n: usize) {
        let fresh = Index::new(n / 2);
        self.rehash(map, fresh);
    }

    /// Like `regrow`; false (the index unchanged) when memory is short.
    fn try_regrow(&mut self, map: usize, n: usize) -> bool {
        match Index::try_new(n / 2) {
            Some(fresh) => {
                self.rehash(map, fresh);
                true
            }
            None => false,
        }
    }

    fn rehash(&mut self, map: usize, fresh: Index) {
        let old = core::mem::replace(&mut self.index[map], fresh);
        for s in old.slots {
            if s != EMPTY {
                let e = s as u32;
                let k = self.flows[(e >> 1) as usize].key[(e & 1) as usize];
                self.place(map, &k, e);
            }
        }
    }

    fn place(&mut self, map: usize, k: &FlowId, e: u32) {
        let h = self.hash(k);
        let ix = &mut self.index[map];
        let mut pos = h as usize & ix.mask;
        while ix.slots[pos] != EMPTY {
            pos = (pos + 1) & ix.mask;
        }
        ix.slots[pos] = ((h >> 32) << 32) | u64::from(e);
        ix.len += 1;
    }

    /// Places an entry; [`FlowTable::make_room`] has grown the index.
    fn add_entry(&mut self, map: usize, k: &FlowId, e: u32) {
        self.place(map, k, e);
    }

    /// Grows, without failing, what inserting one flow into index `map`
    /// needs: a flow slot and two index entries kept under half full.
    /// False when memory is short (nothing is inserted then).
    fn make_room(&mut self, map: usize) -> bool {
        if self.free == NIL && !crate::fallible::reserve(&mut self.flows, 1) {
            return false;
        }
        let ix = &self.index[map];
        if (ix.len + 2) * 2 > ix.slots.len() {
            let n = ix.slots.len() * 2;
            return self.try_regrow(map, n);
        }
        true
    }

    fn remove_entry(&mut self, map: usize, k: &FlowId, e: u32) {
        let h = self.hash(k);
        let mask = self.index[map].mask;
        let mut pos = h as usize & mask;
        loop {
            let s = self.index[map].slots[pos];
            if s == EMPTY {
                return;
            }
            if s as u32 == e {
                break;
            }
            pos = (pos + 1) & mask;
        }
        // Backward-shift deletion keeps probe chains unbroken without
        // tombstones.
        let mut hole = pos;
        let mut j = pos;
        loop {
            j = (j + 1) & mask;
            let s = self.index[map].slots[j];
            if s == EMPTY {
                break;
            }
            let se = s as u32;
            let sk = self.flows[(se >> 1) as usize].key[(se & 1) as usize];
            let home = self.hash(&sk) as usize & mask;
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.index[map].slots[hole] = s;
                hole = j;
            }
        }
        self.index[map].slots[hole] = EMPTY;
        self.index[map].len -= 1;
    }

    fn unlink(&mut self, i: u32) {
        let (p, n, c) = {
            let f = &self.flows[i as usize];
            (f.prev, f.next, f.class as usize)
        };
        if p == NIL {
            self.lists[c].head = n;
        } else {
            self.flows[p as usize].next = n;
        }
        if n == NIL {
            self.lists[c].tail = p;
        } else {
            self.flows[n as usize].prev = p;
        }
    }

    fn link_tail(&mut self, i: u32, class: u8) {
        let c = class as usize;
        let t = self.lists[c].tail;
        {
            let f = &mut self.flows[i as usize];
            f.class = class;
            f.prev = t;
            f.next = NIL;
        }
        if t == NIL {
            self.lists[c].head = i;
        } else {
            self.flows[t as usize].next = i;
        }
        self.lists[c].tail = i;
    }

    /// Records a packet of flow `i` at `now_ms`, in timeout class `class`.
    #[inline]
    pub fn touch(&mut self, i: u32, class: Class, now_ms: i64) {
        let c = class as u8;
        let f = &mut self.flows[i as usize];
        f.last = now_ms;
        if f.class == c && (now_ms - f.pos < GRANULE_MS || f.next == NIL) {
            return;
        }
        f.pos = now_ms;
        self.unlink(i);
        self.link_tail(i, c);
    }

    /// Installs a mapping from `fwd` to `rewritten` in index `map` and
    /// returns the new flow's index, or `None` when memory is short. The caller first destroys any flow
    /// owning either key (Click destroys an older flow holding the new
    /// reply key).
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &mut self,
        map: usize,
        fwd: FlowId,
        rewritten: FlowId,
        out: [u16; 2],
        proto: u8,
        input: u8,
        class: Class,
        now_ms: i64,
    ) -> Option<u32> {
        if !self.make_room(map) {
            return None;
        }
        let rkey = rewritten.reverse();
        let (ip_delta, l4_delta) = deltas(&fwd, &rewritten);
        let flow = Flow {
            key: [fwd, rkey],
            out,
            ip_delta,
            l4_delta,
            last: now_ms,
            pos: now_ms,
            prev: NIL,
            next: NIL,
            class: class as u8,
            proto,
            tflags: 0,
            map: map as u8,
            input,
            reply_anno: 0,
            live: true,
        };
        let i = if self.free != NIL {
            let i = self.free;
            self.free = self.flows[i as usize].next;
            self.flows[i as usize] = flow;
            i
        } else {
            self.flows.push(flow);
            (self.flows.len() - 1) as u32
        };
        self.add_entry(map, &fwd, i << 1);
        self.add_entry(map, &rkey, (i << 1) | 1);
        self.link_tail(i, class as u8);
        self.live += 1;
        Some(i)
    }

    /// Destroys flow `i`.
    pub fn remove(&mut self, i: u32) {
        let f = self.flows[i as usize];
        if !f.live {
            return;
        }
        let map = f.map as usize;
        self.remove_entry(map, &f.key[0], i << 1);
        self.remove_entry(map, &f.key[1], (i << 1) | 1);
        self.unlink(i);
        let slot = &mut self.flows[i as usize];
        *slot = Flow::VACANT;
        slot.next = self.free;
        self.free = i;
        self.live -= 1;
    }

    /// When flow `i` expires: its class timeout after its last use, but
    /// never inside its guarantee.
    pub fn expiry(&self, i: u32) -> i64 {
        let f = &self.flows[i as usize];
        let t = self.timeouts[f.class as usize];
        f.last + t.timeout.max(t.guarantee)
    }

    /// Click's printed expiry: the best-effort expiry (last use + class
    /// timeout), in seconds from `now_ms`, rounded.
    pub fn expiry_secs(&self, i: u32, now_ms: i64) -> i64 {
        let f = &self.flows[i as usize];
        let t = self.timeouts[f.class as usize];
        (f.last + t.timeout + 500 - now_ms) / 1000
    }

    /// Destroys every flow whose lifetime is over at `now_ms`; returns how
    /// many, calling `gone` with each flow first.
    pub fn expire(&mut self, now_ms: i64, mut gone: impl FnMut(&Flow)) -> usize {
        let mut n = 0;
        for c in 0..NCLASS {
            let t = self.timeouts[c];
            let life = t.timeout.max(t.guarantee);
            let mut i = self.lists[c].head;
            while i != NIL {
                let f = self.flows[i as usize];
                // Flows further on were positioned later, and each last use
                // is at or after its position.
                if f.pos + life > now_ms {
                    break;
                }
                if f.last + life <= now_ms {
                    gone(&f);
                    self.remove(i);
                    n += 1;
                }
                i = f.next;
            }
        }
        n
    }

    /// The flow to evict when the table is over capacity: the
    /// earliest-expiring flow whose guarantee has passed, if any.
    pub fn victim(&self, now_ms: i64) -> Option<u32> {
        let mut best: Option<(i64, u32)> = None;
        for c in 0..NCLASS {
            let t = self.timeouts[c];
            let mut i = self.lists[c].head;
            let Some(h) = self.flows.get(i as usize) else {
                continue;
            };
            let window = h.pos + GRANULE_MS;
            // Only the head window can hold the class's earliest last use.
            for _ in 0..VICTIM_SCAN {
                if i == NIL {
                    break;
                }
                let f = &self.flows[i as usize];
                if f.pos >= window {
                    break;
                }
                if f.last + t.guarantee <= now_ms {
                    let e = f.last + t.timeout;
                    if best.is_none_or(|(b, _)| e < b) {
                        best = Some((e, i));
                    }
                }
                i = f.next;
            }
        }
        best.map(|(_, i)| i)
    }

    /// Destroys every flow.
    pub fn clear(&mut self) {
        let all: Vec<u32> = self.live_flows().collect();
        for i in all {
            self.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fid(a: u8, p: u16) -> FlowId {
        FlowId::new([10, 0, 0, a], p, [1, 1, 1, 1], 80)
    }

    #[test]
    fn insert_lookup_remove_many() {
        let mut t = FlowTable::new(4, 42);
        let mut ids = Vec::new();
        for i in 0..5000u32 {
            let f = FlowId::new([10, 0, (i >> 8) as u8, i as u8], 1000, [1, 1, 1, 1], 80);
            let r = FlowId::new([2, 2, 2, 2], (i + 1) as u16, [1, 1, 1, 1], 80);
            ids.push((
                f,
                t.insert(0, f, r, [0, 1], 6, 0, Class::TcpNoData, 0)
                    .unwrap(),
            ));
        }
        assert_eq!(t.len(), 5000);
        for (f, i) in &ids {
            assert_eq!(t.lookup(0, f), Some((*i, 0)));
            assert_eq!(t.lookup(0, &t.flow(*i).key[1]), Some((*i, 1)));
        }
        for (f, i) in ids.iter().step_by(2) {
            t.remove(*i);
            assert_eq!(t.lookup(0, f), None);
        }
        for (k, (f, i)) in ids.iter().enumerate() {
            assert_eq!(t.lookup(0, f).is_some(), k % 2 == 1, "{i}");
        }
        assert_eq!(t.len(), 2500);
        t.clear();
        assert!(t.is_empty());
    }

    #[test]
    fn expiry_and_victim_follow_last_use() {
        let mut t = FlowTable::new(4, 1);
        t.timeouts[Class::Udp as usize] = Timeouts {
            timeout: 1000,
            guarantee: 100,
        };
        let a = t
            .insert(1, fid(1, 1), fid(1, 1), [0, 0], 17, 0, Class::Udp, 0)
            .unwrap();
        let b = t
            .insert(1, fid(2, 1), fid(2, 1), [0, 0], 17, 0, Class::Udp, 10)
            .unwrap();
        assert_eq!(t.victim(50), None);
        assert_eq!(t.victim(200), Some(a));
        t.touch(a, Class::Udp, 300);
        assert_eq!(t.victim(300), Some(b));
        assert_eq!(t.expire(1009, |_| {}), 0);
        assert_eq!(t.expire(1010, |_| {}), 1);
        assert!(t.lookup(1, &fid(2, 1)).is_none());
        assert!(t.lookup(1, &fid(1, 1)).is_some());
        assert_eq!(t.expiry_secs(a, 300), 1);
    }
}

#[cfg(test)]
mod probe_stats {
    use super::*;

    #[test]
    fn probe_lengths_stay_short() {
        let mut t = FlowTable::new(16, 12345);
        t.reserve(0, 64_000);
        for i in 0..64_000u32 {
            let f = FlowId::new(
                [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
                1024 + (i % 50_000) as u16,
                [100, 64, (i % 251) as u8, 1],
                80,
            );
            let r = FlowId::new([1, 2, 3, 4], 1024 + i as u16, f.daddr, 80);
            t.insert(0, f, r, [0, 1], 6, 0, Class::TcpNoData, 0)
                .unwrap();
        }
        let ix = &t.index[0];
        let mut total = 0usize;
        let mut worst = 0usize;
        for (pos, &s) in ix.slots.iter().enumerate() {
            if s == EMPTY {
                continue;
            }
            let e = s as u32;
            let k = t.flows[(e >> 1) as usize].key[(e & 1) as usize];
            let home = t.hash(&k) as usize & ix.mask;
            let d = (pos.wrapping_sub(home)) & ix.mask;
            total += d;
            worst = worst.max(d);
        }
        assert!(total < ix.len * 2, "average probe distance under 2");
        assert!(worst < 64);
    }

    #[test]
    fn out_of_memory_inserts_nothing() {
        let fid = |a: u8, p: u16| FlowId::new([10, 0, 0, a], p, [1, 1, 1, 1], 80);
        let mut t = FlowTable::new(1, 7);
        let f = fid(1, 1);
        assert!(t.insert(0, f, f, [0, 1], 17, 0, Class::Udp, 0).is_some());
        crate::fallible::fail_in_tests(true);
        let g = fid(2, 2);
        assert!(t.insert(0, g, g, [0, 1], 17, 0, Class::Udp, 0).is_none());
        crate::fallible::fail_in_tests(false);
        assert_eq!(t.len(), 1);
        assert!(t.lookup(0, &g).is_none());
        assert!(t.lookup(0, &f).is_some());
        assert!(t.insert(0, g, g, [0, 1], 17, 0, Class::Udp, 0).is_some());
        assert_eq!(t.len(), 2);
    }
}

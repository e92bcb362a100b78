//! The compiled classifier: every rule's exact test plus a tuple-space
//! index that finds, with a few hash probes, the only rules that can match.
//!
//! From each rule's tree we derive *guards*: alternatives (a small DNF) of
//! equalities `word & mask == value` that must hold whenever the rule
//! matches (for example `tcp && dst port 80` implies `ip[8]&00ff0000 ==
//! 00060000` and `transp[0]&0000ffff == 80`). Guard masks are cut to whole
//! bytes, and each alternative keeps at most [`KEY_WORDS`] words, so rules
//! of the same shape share a *tuple* (the list of (word, mask) pairs they
//! key on), whatever their values. Each tuple has one hash table from key
//! values to the sorted list of rules with that key.
//!
//! Classifying a packet probes each tuple's table once (skipping tuples
//! whose rules all come after the best match so far) and evaluates the
//! exact tests of the candidates in rule order, stopping at the first that
//! holds; rules with no usable guard are always candidates. A rule missing
//! from every probed list cannot match, so the first matching candidate is
//! the first matching rule. The cost depends on the number of tuples (rule
//! *shapes*) and candidates, not on the number of rules.
//!
//! Rule sets of a few tests (Classifier's usual `12/0800, 12/0806, -`)
//! are matched by a [`Linear`] branching program instead, which costs a
//! compare per test instead of hashing; sets of up to
//! [`super::bitsets::MAX_RULES`] rules by per-byte rule [`Bitsets`], with the
//! index kept for packets too short for their tables.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;

use super::bitsets::Bitsets;
use super::linear::{Branches, Linear, NO_SLOT};
use super::tree::{need_for, Base, Expr, Leaf, View};

/// Most words in one tuple key.
pub const KEY_WORDS: usize = 4;
/// Most guard alternatives kept per rule before merging them.
const MAX_ALTS: usize = 16;

/// One rule: a test and where matching packets go (`None`: dropped).
#[derive(Clone, Debug)]
pub struct Rule {
    /// The test.
    pub expr: Expr,
    /// Output port, or `None` to drop.
    pub output: Option<usize>,
}

/// Most header words read once per packet into a cache.
const HOT_WORDS: usize = 16;

/// The hot words of one packet, read once.
struct Cache {
    w: [u32; HOT_WORDS],
    /// Bit `i` set: `w[i]` holds a whole word (all four bytes present).
    ok: u32,
}

/// A word of a tuple key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct KeyWord {
    base: Base,
    off: i32,
    mask: u32,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    key: [u32; KEY_WORDS],
    start: u32,
    len: u32,
}

/// A rule found in a tuple's table, with what remains to test once its
/// key matched.
#[derive(Clone, Copy, Debug)]
struct Cand {
    rule: u32,
    /// Residual tests in `Program::res` (when `exact`), or the entry of
    /// the residual tree in `Program::branches`.
    res_start: u32,
    res_len: u32,
    /// The rule is a conjunction of tests: the residual tests decide.
    /// Otherwise the residual tree does.
    exact: bool,
}

/// The byte that picks which tuples to probe (usually the IP protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct DispatchByte {
    base: Base,
    off: i32,
    /// Index of the byte in its word (0 = most significant).
    byte: u8,
}

struct Tuple {
    /// Key words with the bytes they need and their cache slot.
    words: Vec<(KeyWord, u8, u8)>,
    slots: Vec<Slot>,
    shift: u32,
    first_rule: u32,
    nkeys: usize,
}

/// A rule set compiled for fast matching.
pub struct Program {
    /// Words read into the per-packet cache.
    hot: Vec<(Base, i32)>,
    /// Per base (as `Base as usize`), the bytes every hot word of it
    /// needs: a packet with that many is read without a test per word.
    hot_need: [usize; 4],
    /// Every rule's test and the residual trees, as branching code.
    branches: Branches,
    /// Each rule's entry in `branches`.
    roots: Vec<u32>,
    outputs: Vec<Option<usize>>,
    texts: Vec<String>,
    tuples: Vec<Tuple>,
    cands: Vec<Cand>,
    res: Vec<(Leaf, u8, u8)>,
    /// The dispatch byte and, per value (and one more list for packets
    /// without that byte), the tuples to probe in order.
    dispatch: Option<DispatchByte>,
    dispatch_lists: Vec<Vec<u16>>,
    unkeyed: Vec<u32>,
    /// The always-true rule ending the set (an `allow all` default), or
    /// `u32::MAX`: matched without evaluating it.
    always: u32,
    /// Set when the first rule matches everything.
    everything: Option<Option<usize>>,
    /// The branching program used instead of the index for small sets.
    linear: Option<Linear>,
    /// Per-byte rule sets used instead of the index for mid-sized sets.
    bits: Option<Bitsets>,
}

/// `word & mask == value`: (base, offset, mask, value).
pub(super) type Fact = (Base, i32, u32, u32);
/// A conjunction of facts.
pub(super) type Conj = Vec<Fact>;

/// Conjunction of two fact lists; `None` if they contradict.
fn conj_and(a: &Conj, b: &Conj) -> Option<Conj> {
    let mut out = a.clone();
    for &(base, off, m, v) in b {
        match out.iter_mut().find(|f| f.0 == base && f.1 == off) {
            Some(f) => {
                if (f.3 ^ v) & f.2 & m != 0 {
                    return None;
                }
                f.2 |= m;
                f.3 |= v & m;
            }
            None => out.push((base, off, m, v)),
        }
    }
    Some(out)
}

/// What every alternative implies: for each word present in all, the bits
/// they all test and agree on.
pub(super) fn common(alts: &[Conj]) -> Conj {
    let Some(first) = alts.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    'facts: for &(base, off, mut m, v) in first {
        for other in &alts[1..] {
            match other.iter().find(|f| f.0 == base && f.1 == off) {
                Some(f) => m &= f.2 & !(f.3 ^ v),
                None => continue 'facts,
            }
        }
        if m != 0 {
            out.push((base, off, m, v & m));
        }
    }
    out
}

/// Guard alternatives of `e`: whenever `e` holds, one of them holds (with
/// its words present in the packet). An empty list: `e` never holds.
pub(super) fn guards(e: &Expr) -> Vec<Conj> {
    match e {
        Expr::Const(true) => vec![Vec::new()],
        Expr::Const(false) => Vec::new(),
        Expr::Leaf(l) if !l.short_yes && l.mask != 0 => {
            vec![vec![(l.base, l.off, l.mask, l.value)]]
        }
        Expr::Leaf(_) | Expr::Not(_) => vec![Vec::new()],
        Expr::And(es) => {
            let mut acc: Vec<Conj> = vec![Vec::new()];
            for c in es {
                let mut g = guards(c);
                if g.is_empty() {
                    return g;
                }
                if acc.len() * g.len() > MAX_ALTS {
                    g = vec![common(&g)];
                }
                let mut next = Vec::new();
                for a in &acc {
                    for b in &g {
                        if let Some(x) = conj_and(a, b) {
                            next.push(x);
                        }
                    }
                }
                acc = next;
                if acc.is_empty() {
                    return acc;
                }
            }
            acc
        }
        Expr::Or(es) => {
            let mut all: Vec<Conj> = Vec::new();
            for c in es {
                all.extend(guards(c));
            }
            if all.len() > MAX_ALTS {
                vec![common(&all)]
            } else {
                all
            }
        }
        Expr::Ternary(_, a, b) => {
            let mut all = guards(a);
            all.extend(guards(b));
            if all.len() > MAX_ALTS {
                vec![common(&all)]
            } else {
                all
            }
        }
    }
}

/// The key words of one guard alternative: whole masked bytes only, the
/// most selective words first, at most [`KEY_WORDS`].
fn key_of(conj: &Conj) -> Vec<(KeyWord, u32)> {
    let mut ks: Vec<(KeyWord, u32)> = conj
        .iter()
        .filter_map(|&(base, off, m, v)| {
            let full = m
                .to_be_bytes()
                .iter()
                .map(|&b| if b == 0xff { 0xffu8 } else { 0 })
                .collect::<Vec<u8>>();
            let km = u32::from_be_bytes([full[0], full[1], full[2], full[3]]);
            // The fragment-offset word is almost always zero: useless as a key.
            let frag_word = base == Base::Net && off == 4 && km == 0xff;
            (km != 0 && !frag_word).then_some((
                KeyWord {
                    base,
                    off,
                    mask: km,
                },
                v & km,
            ))
        })
        .collect();
    ks.sort_by_key(|(k, _)| (core::cmp::Reverse(k.mask.count_ones()), *k));
    ks.truncate(KEY_WORDS);
    ks.sort_by_key(|(k, _)| *k);
    ks
}

/// The tests of a rule that is a plain conjunction of tests.
fn conj_leaves(e: &Expr) -> Option<Vec<Leaf>> {
    match e {
        Expr::Const(true) => Some(Vec::new()),
        Expr::Leaf(l) => Some(vec![*l]),
        Expr::And(es) => es
            .iter()
            .map(|x| match x {
                Expr::Leaf(l) => Some(*l),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// `e` simplified for packets whose key words equal `key`.
fn assume(e: &Expr, key: &[(KeyWord, u32)]) -> Expr {
    match e {
        Expr::Leaf(l) if implied(l, key) => Expr::Const(true),
        Expr::Not(x) => assume(x, key).negate(false),
        Expr::And(xs) => Expr::and(xs.iter().map(|x| assume(x, key)).collect()),
        Expr::Or(xs) => Expr::or(xs.iter().map(|x| assume(x, key)).collect()),
        Expr::Ternary(c, a, b) => match assume(c, key) {
            Expr::Const(true) => assume(a, key),
            Expr::Const(false) => assume(b, key),
            c => Expr::Ternary(c.into(), assume(a, key).into(), assume(b, key).into()),
        },
        e => e.clone(),
    }
}

/// `e` simplified for packets holding the facts of `conj` (with their
/// bytes): `true` if every such packet matches.
pub(super) fn assume_facts(e: &Expr, conj: &Conj) -> Expr {
    let key: Vec<(KeyWord, u32)> = conj
        .iter()
        .map(|&(base, off, mask, value)| (KeyWord { base, off, mask }, value))
        .collect();
    assume(e, &key)
}

/// True if a packet whose key words equal `key` passes `l` for sure.
fn implied(l: &Leaf, key: &[(KeyWord, u32)]) -> bool {
    key.iter().any(|(k, v)| {
        k.base == l.base && k.off == l.off && l.mask & !k.mask == 0 && v & l.mask == l.value
    })
}

/// Hashes the first `n` words of a key (the rest are zero).
#[inline]
fn hash(key: &[u32; KEY_WORDS], n: usize) -> u64 {
    // Pairs of words are combined before one multiply each: two multiplies
    // for the usual keys of up to four words.
    let a = (key[0] as u64) << 32 | key[1] as u64;
    let mut h = (a ^ 0x243f_6a88_85a3_08d3).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    if n > 2 {
        let b = (key[2] as u64) << 32 | key[3] as u64;
        h = (h.rotate_left(29) ^ b).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    h ^ (h >> 31)
}

impl Program {
    /// Compiles `rules`; the first matching rule decides.
    pub fn new(rules: Vec<Rule>) -> Program {
        let linear = Linear::new(rules.iter().map(|r| &r.expr));
        // Rules after an always-true one are never reached; that one is
        // the fallback when no earlier rule matches.
        let end = rules
            .iter()
            .position(|r| r.expr == Expr::Const(true))
            .unwrap_or(rules.len());
        let exprs: Vec<Expr> = match linear {
            Some(_) => Vec::new(),
            None => rules[..end].iter().map(|r| r.expr.clone()).collect(),
        };
        let mut p = Program::indexed(rules);
        p.linear = linear;
        if !exprs.is_empty() {
            let branches = &mut p.branches;
            p.bits = Bitsets::new(&exprs, |e| branches.add(e));
        }
        p
    }

    /// Compiles `rules` into the tuple index only (no branching program,
    /// whatever the size of the set).
    pub fn indexed(rules: Vec<Rule>) -> Program {
        let mut p = Program {
            hot: Vec::new(),
            hot_need: [0; 4],
            branches: Branches::default(),
            roots: Vec::new(),
            outputs: Vec::new(),
            texts: Vec::new(),
            tuples: Vec::new(),
            cands: Vec::new(),
            res: Vec::new(),
            dispatch: None,
            dispatch_lists: Vec::new(),
            unkeyed: Vec::new(),
            always: u32::MAX,
            everything: None,
            linear: None,
            bits: None,
        };
        // tuple signature -> key values -> rules
        type Entry = (u32, Result<Vec<Leaf>, Expr>);
        let mut shapes: BTreeMap<Vec<KeyWord>, BTreeMap<[u32; KEY_WORDS], Vec<Entry>>> =
            BTreeMap::new();
        for (i, rule) in rules.into_iter().enumerate() {
            let i = i as u32;
            let root = p.branches.add(&rule.expr);
            p.roots.push(root);
            p.outputs.push(rule.output);
            p.texts.push(rule.expr.unparse());
            if i == 0 && rule.expr == Expr::Const(true) {
                p.everything = Some(rule.output);
            }
            for alt in guards(&rule.expr) {
                let key = key_of(&alt);
                if key.is_empty() {
                    p.unkeyed.push(i);
                    continue;
                }
                let sig: Vec<KeyWord> = key.iter().map(|k| k.0).collect();
                let mut vals = [0u32; KEY_WORDS];
                for (j, k) in key.iter().enumerate() {
                    vals[j] = k.1;
                }
                let residual = match conj_leaves(&rule.expr) {
                    Some(ls) => Ok(ls.into_iter().filter(|l| !implied(l, &key)).collect()),
                    None => Err(assume(&rule.expr, &key)),
                };
                let list = shapes.entry(sig).or_default().entry(vals).or_default();
                if list.last().map(|e| e.0) != Some(i) {
                    list.push((i, residual));
                }
            }
            if rule.expr == Expr::Const(true) {
                // Nothing after an always-true rule can be reached.
                p.always = i;
                break;
            }
        }
        p.unkeyed.dedup();
        for (sig, table) in shapes {
            let cap = (table.len() * 2).next_power_of_two().max(4);
            let mut t = Tuple {
                words: sig
                    .iter()
                    .map(|k| (*k, need_for(k.mask), NO_SLOT))
                    .collect(),
                slots: vec![Slot::default(); cap],
                shift: 64 - cap.trailing_zeros(),
                first_rule: u32::MAX,
                nkeys: table.len(),
            };
            for (key, list) in table {
                t.first_rule = t.first_rule.min(list[0].0);
                let mut at = (hash(&key, t.words.len()) >> t.shift) as usize;
                while t.slots[at].len != 0 {
                    at = (at + 1) & (cap - 1);
                }
                t.slots[at] = Slot {
                    key,
                    start: p.cands.len() as u32,
                    len: list.len() as u32,
                };
                for (rule, residual) in list {
                    let cand = match residual {
                        Ok(leaves) => {
                            let res_start = p.res.len() as u32;
                            for l in leaves {
                                p.res.push((l, need_for(l.mask), NO_SLOT));
                            }
                            Cand {
                                rule,
                                res_start,
                                res_len: p.res.len() as u32 - res_start,
                                exact: true,
                            }
                        }
                        Err(tree) => Cand {
                            rule,
                            res_start: p.branches.add(&tree),
                            res_len: 0,
                            exact: false,
                        },
                    };
                    p.cands.push(cand);
                }
            }
            p.tuples.push(t);
        }
        p.tuples.sort_by_key(|t| t.first_rule);
        p.assign_hot_words();
        p.build_dispatch();
        p
    }

    /// Chooses the whole key byte most tuples share (the IP protocol, an
    /// Ethernet type ...) and lists, for each of its values, the tuples
    /// that can hold a matching rule: a packet probes only those.
    fn build_dispatch(&mut self) {
        let mut count: BTreeMap<DispatchByte, usize> = BTreeMap::new();
        for t in &self.tuples {
            for (k, _, _) in &t.words {
                for (byte, &mb) in k.mask.to_be_bytes().iter().enumerate() {
                    if mb == 0xff && k.off >= 0 {
                        let d = DispatchByte {
                            base: k.base,
                            off: k.off,
                            byte: byte as u8,
                        };
                        *count.entry(d).or_default() += 1;
                    }
                }
            }
        }
        let Some((d, _)) = count
            .into_iter()
            .max_by_key(|&(d, n)| (n, core::cmp::Reverse(d)))
        else {
            return;
        };
        let mut lists: Vec<Vec<u16>> = vec![Vec::new(); 257];
        let shift = 8 * (3 - d.byte as u32);
        for (ti, t) in self.tuples.iter().enumerate() {
            // Only a key whose mask covers the byte says its value: a
            // tuple keyed on other bytes of the same word is probed for
            // every value.
            let pos = t.words.iter().position(|(k, _, _)| {
                k.base == d.base && k.off == d.off && (k.mask >> shift) & 0xff == 0xff
            });
            match pos {
                Some(w) => {
                    let mut seen = [false; 256];
                    for s in t.slots.iter().filter(|s| s.len != 0) {
                        seen[((s.key[w] >> shift) & 0xff) as usize] = true;
                    }
                    for (b, _) in seen.iter().enumerate().filter(|(_, &x)| x) {
                        lists[b].push(ti as u16);
                    }
                }
                None => {
                    for l in lists.iter_mut() {
                        l.push(ti as u16);
                    }
                }
            }
        }
        self.dispatch = Some(d);
        self.dispatch_lists = lists;
    }

    /// Picks the words most used by keys and tests for the per-packet
    /// cache and points keys and leaves at their slots.
    fn assign_hot_words(&mut self) {
        let mut uses: BTreeMap<(Base, i32), usize> = BTreeMap::new();
        for t in &self.tuples {
            for (k, _, _) in &t.words {
                // Keys are read for every packet: weigh them more.
                *uses.entry((k.base, k.off)).or_default() += 1000;
            }
        }
        for (base, off, _) in self.branches.slots_mut() {
            *uses.entry((base, off)).or_default() += 1;
        }
        for (l, _, _) in &self.res {
            *uses.entry((l.base, l.off)).or_default() += 1;
        }
        let mut by_use: Vec<((Base, i32), usize)> =
            uses.into_iter().filter(|((_, off), _)| *off >= 0).collect();
        by_use.sort_by_key(|&(w, n)| (core::cmp::Reverse(n), w));
        by_use.truncate(HOT_WORDS);
        self.hot = by_use.into_iter().map(|(w, _)| w).collect();
        for &(base, off) in &self.hot {
            let n = &mut self.hot_need[base as usize];
            *n = (*n).max(off as usize + 4);
        }
        let slot = |hot: &[(Base, i32)], b: Base, off: i32| {
            hot.iter()
                .position(|&h| h == (b, off))
                .map_or(NO_SLOT, |i| i as u8)
        };
        for t in &mut self.tuples {
            for (k, _, s) in &mut t.words {
                *s = slot(&self.hot, k.base, k.off);
            }
        }
        for (base, off, s) in self.branches.slots_mut() {
            *s = slot(&self.hot, base, off);
        }
        for (l, _, s) in &mut self.res {
            *s = slot(&self.hot, l.base, l.off);
        }
    }

    #[inline]
    fn fill(&self, v: &View) -> Cache {
        let mut c = Cache {
            w: [0; HOT_WORDS],
            ok: 0,
        };
        let slices = [v.data, v.mac, v.net, v.transp];
        if slices.iter().zip(self.hot_need).all(|(s, n)| s.len() >= n) {
            // The usual packet: long enough for every hot word.
            for (i, &(base, off)) in self.hot.iter().enumerate() {
                let o = off as usize;
                // SAFETY: off >= 0 and off + 4 <= hot_need[base] <= the
                // slice's length, tested just above.
                let b = unsafe { slices[base as usize].get_unchecked(o..o + 4) };
                c.w[i] = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            }
            c.ok = (1u32 << self.hot.len()) - 1;
            return c;
        }
        for (i, &(base, off)) in self.hot.iter().enumerate() {
            let o = off as usize;
            if let Some(b) = slices[base as usize].get(o..o + 4) {
                c.w[i] = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                c.ok |= 1 << i;
            }
        }
        c
    }

    #[inline]
    fn word(
        c: &Cache,
        v: &View,
        base: Base,
        off: i32,
        mask: u32,
        need: u8,
        slot: u8,
    ) -> Option<u32> {
        if c.ok & (1 << slot) != 0 {
            Some(c.w[slot as usize] & mask)
        } else {
            v.word(base, off, mask, need)
        }
    }

    /// The tree compiled at `entry` in `branches`, on a packet.
    #[inline]
    fn eval(&self, entry: u32, c: &Cache, v: &View) -> bool {
        self.branches.eval(entry, |base, off, mask, need, slot| {
            Self::word(c, v, base, off, mask, need, slot)
        })
    }

    #[inline]
    fn probe(&self, t: &Tuple, c: &Cache, v: &View) -> &[Cand] {
        let mut key = [0u32; KEY_WORDS];
        for (i, &(k, need, slot)) in t.words.iter().enumerate() {
            match Self::word(c, v, k.base, k.off, k.mask, need, slot) {
                Some(w) => key[i] = w,
                None => return &[],
            }
        }
        let mask = t.slots.len() - 1;
        let mut at = (hash(&key, t.words.len()) >> t.shift) as usize;
        loop {
            let s = &t.slots[at];
            if s.len == 0 {
                return &[];
            }
            if s.key == key {
                return &self.cands[s.start as usize..(s.start + s.len) as usize];
            }
            at = (at + 1) & mask;
        }
    }

    /// True if candidate `k` matches (its key already did).
    #[inline]
    fn check(&self, k: &Cand, c: &Cache, v: &View) -> bool {
        if !k.exact {
            return self.eval(k.res_start, c, v);
        }
        let res = &self.res[k.res_start as usize..(k.res_start + k.res_len) as usize];
        res.iter().all(|&(l, need, slot)| {
            match Self::word(c, v, l.base, l.off, l.mask, need, slot) {
                Some(w) => w == l.value,
                None => l.short_yes,
            }
        })
    }

    /// The index of the first rule that matches, if any.
    #[inline]
    pub fn matching_rule(&self, v: &View) -> Option<usize> {
        if let Some(l) = &self.linear {
            return l.matching_rule(v);
        }
        if self.everything.is_some() {
            return Some(0);
        }
        if let Some(b) = &self.bits {
            let found = b.first_match(v, |entry| {
                // No word cache: few packets get here.
                let none = Cache {
                    w: [0; HOT_WORDS],
                    ok: 0,
                };
                self.eval(entry, &none, v)
            });
            if let Some(r) = found {
                return r.or((self.always != u32::MAX).then_some(self.always as usize));
            }
        }
        self.indexed_rule(v)
    }

    /// [`Program::matching_rule`] through the tuple index.
    fn indexed_rule(&self, v: &View) -> Option<usize> {
        if self.everything.is_some() {
            return Some(0);
        }
        let c = self.fill(v);
        let mut best = u32::MAX;
        let mut probe = |t: &Tuple| {
            if t.first_rule >= best {
                return false;
            }
            for k in self.probe(t, &c, v) {
                if k.rule >= best {
                    break;
                }
                if self.check(k, &c, v) {
                    best = k.rule;
                    break;
                }
            }
            true
        };
        match self.dispatch {
            Some(d) => {
                let at = d.off as usize + d.byte as usize;
                let which = v.slice(d.base).get(at).map_or(256, |&b| b as usize);
                for &ti in &self.dispatch_lists[which] {
                    if !probe(&self.tuples[ti as usize]) {
                        break;
                    }
                }
            }
            None => {
                for t in &self.tuples {
                    if !probe(t) {
                        break;
                    }
                }
            }
        }
        for &r in &self.unkeyed {
            if r >= best {
                break;
            }
            if r == self.always || self.eval(self.roots[r as usize], &c, v) {
                best = r;
                break;
            }
        }
        (best != u32::MAX).then_some(best as usize)
    }

    /// Where a packet goes: an output port, or `None` to drop it.
    #[inline(always)]
    pub fn classify(&self, v: &View) -> Option<usize> {
        if let Some(l) = &self.linear {
            return l.matching_rule(v).and_then(|r| self.outputs[r]);
        }
        self.matching_rule(v).and_then(|r| self.outputs[r])
    }

    /// [`Program::classify`] for rules on the packet data only
    /// (Classifier), given the data.
    #[inline(always)]
    pub fn classify_data(&self, data: &[u8]) -> Option<usize> {
        match &self.linear {
            Some(l) => l.matching_rule_data(data).and_then(|r| self.outputs[r]),
            None => self.classify(&View {
                data,
                ..View::default()
            }),
        }
    }

    /// True when a branching program, not the index, matches packets.
    pub fn is_linear(&self) -> bool {
        self.linear.is_some()
    }

    /// True when per-byte rule bitsets match packets long enough for them.
    pub fn uses_bitsets(&self) -> bool {
        self.bits.is_some()
    }

    /// Number of tuples (distinct rule shapes) in the index.
    pub fn tuple_count(&self) -> usize {
        self.tuples.len()
    }

    /// A human-readable dump: the rules' tests, then the index.
    pub fn unparse(&self) -> String {
        let mut s = String::new();
        for (i, t) in self.texts.iter().enumerate() {
            let out = match self.outputs[i] {
                Some(o) => format!("output {o}"),
                None => String::from("drop"),
            };
            let _ = writeln!(s, "rule {i} -> {out}: {t}");
        }
        if self.everything.is_some() {
            let _ = writeln!(s, "rule 0 matches every packet");
            return s;
        }
        if let Some(l) = &self.linear {
            s.push_str(&l.unparse());
            return s;
        }
        if let Some(b) = &self.bits {
            s.push_str(&b.unparse());
            s.push_str("for packets too short for the bitsets:\n");
        }
        for (i, t) in self.tuples.iter().enumerate() {
            let words: Vec<String> = t
                .words
                .iter()
                .map(|(k, _, _)| {
                    let b = match k.base {
                        Base::Data => "data",
                        Base::Mac => "mac",
                        Base::Net => "ip",
                        Base::Transp => "transp",
                    };
                    format!("{b}[{}]&{:08x}", k.off, k.mask)
                })
                .collect();
            let _ = writeln!(
                s,
                "tuple {i}: key {} -> {} keys, first rule {}",
                words.join(" "),
                t.nkeys,
                t.first_rule
            );
        }
        let un: Vec<String> = self.unkeyed.iter().map(|r| format!("{r}")).collect();
        if let Some(d) = self.dispatch {
            let _ = writeln!(
                s,
                "tuples chosen by byte {} of {:?}[{}]",
                d.byte, d.base, d.off
            );
        }
        let _ = writeln!(
            s,
            "always tested: {}",
            if un.is_empty() {
                String::from("none")
            } else {
                un.join(" ")
            }
        );
        s
    }
}

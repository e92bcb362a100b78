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

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;

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

#[derive(Clone, Copy, Debug)]
enum Node {
    Const(bool),
    Leaf(Leaf, u8),
    Not(u32),
    And(u32, u32),
    Or(u32, u32),
    Ternary(u32, u32, u32),
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

struct Tuple {
    words: Vec<(KeyWord, u8)>,
    slots: Vec<Slot>,
    shift: u32,
    first_rule: u32,
    nkeys: usize,
}

/// A rule set compiled for fast matching.
pub struct Program {
    nodes: Vec<Node>,
    kids: Vec<u32>,
    roots: Vec<u32>,
    outputs: Vec<Option<usize>>,
    texts: Vec<String>,
    tuples: Vec<Tuple>,
    cands: Vec<u32>,
    unkeyed: Vec<u32>,
    /// Set when the first rule matches everything.
    everything: Option<Option<usize>>,
}

type Fact = (Base, i32, u32, u32);
type Conj = Vec<Fact>;

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
fn common(alts: &[Conj]) -> Conj {
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
fn guards(e: &Expr) -> Vec<Conj> {
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

#[inline]
fn hash(key: &[u32; KEY_WORDS]) -> u64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    for &w in key {
        h = (h ^ w as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= h >> 29;
    }
    h.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Program {
    /// Compiles `rules`; the first matching rule decides.
    pub fn new(rules: Vec<Rule>) -> Program {
        let mut p = Program {
            nodes: Vec::new(),
            kids: Vec::new(),
            roots: Vec::new(),
            outputs: Vec::new(),
            texts: Vec::new(),
            tuples: Vec::new(),
            cands: Vec::new(),
            unkeyed: Vec::new(),
            everything: None,
        };
        // tuple signature -> key values -> rules
        let mut shapes: BTreeMap<Vec<KeyWord>, BTreeMap<[u32; KEY_WORDS], Vec<u32>>> =
            BTreeMap::new();
        for (i, rule) in rules.into_iter().enumerate() {
            let i = i as u32;
            let root = p.flatten(&rule.expr);
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
                let list = shapes.entry(sig).or_default().entry(vals).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
            if rule.expr == Expr::Const(true) {
                // Nothing after an always-true rule can be reached.
                break;
            }
        }
        p.unkeyed.dedup();
        for (sig, table) in shapes {
            let cap = (table.len() * 2).next_power_of_two().max(4);
            let mut t = Tuple {
                words: sig.iter().map(|k| (*k, need_for(k.mask))).collect(),
                slots: vec![Slot::default(); cap],
                shift: 64 - cap.trailing_zeros(),
                first_rule: u32::MAX,
                nkeys: table.len(),
            };
            for (key, list) in table {
                t.first_rule = t.first_rule.min(list[0]);
                let mut at = (hash(&key) >> t.shift) as usize;
                while t.slots[at].len != 0 {
                    at = (at + 1) & (cap - 1);
                }
                t.slots[at] = Slot {
                    key,
                    start: p.cands.len() as u32,
                    len: list.len() as u32,
                };
                p.cands.extend(list);
            }
            p.tuples.push(t);
        }
        p.tuples.sort_by_key(|t| t.first_rule);
        p
    }

    fn flatten(&mut self, e: &Expr) -> u32 {
        let node = match e {
            Expr::Const(b) => Node::Const(*b),
            Expr::Leaf(l) => Node::Leaf(*l, need_for(l.mask)),
            Expr::Not(x) => Node::Not(self.flatten(x)),
            Expr::And(xs) | Expr::Or(xs) => {
                let ids: Vec<u32> = xs.iter().map(|x| self.flatten(x)).collect();
                let start = self.kids.len() as u32;
                self.kids.extend(ids);
                let end = self.kids.len() as u32;
                if matches!(e, Expr::And(_)) {
                    Node::And(start, end)
                } else {
                    Node::Or(start, end)
                }
            }
            Expr::Ternary(c, a, b) => {
                Node::Ternary(self.flatten(c), self.flatten(a), self.flatten(b))
            }
        };
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    fn eval(&self, n: u32, v: &View) -> bool {
        match self.nodes[n as usize] {
            Node::Const(b) => b,
            Node::Leaf(l, need) => match v.word(l.base, l.off, l.mask, need) {
                Some(w) => w == l.value,
                None => l.short_yes,
            },
            Node::Not(x) => !self.eval(x, v),
            Node::And(s, e) => self.kids[s as usize..e as usize]
                .iter()
                .all(|&k| self.eval(k, v)),
            Node::Or(s, e) => self.kids[s as usize..e as usize]
                .iter()
                .any(|&k| self.eval(k, v)),
            Node::Ternary(c, a, b) => {
                if self.eval(c, v) {
                    self.eval(a, v)
                } else {
                    self.eval(b, v)
                }
            }
        }
    }

    #[inline]
    fn probe(&self, t: &Tuple, v: &View) -> &[u32] {
        let mut key = [0u32; KEY_WORDS];
        for (i, (k, need)) in t.words.iter().enumerate() {
            match v.word(k.base, k.off, k.mask, *need) {
                Some(w) => key[i] = w,
                None => return &[],
            }
        }
        let mask = t.slots.len() - 1;
        let mut at = (hash(&key) >> t.shift) as usize;
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

    /// The index of the first rule that matches, if any.
    pub fn matching_rule(&self, v: &View) -> Option<usize> {
        if self.everything.is_some() {
            return Some(0);
        }
        let mut best = u32::MAX;
        for t in &self.tuples {
            if t.first_rule >= best {
                break;
            }
            for &r in self.probe(t, v) {
                if r >= best {
                    break;
                }
                if self.eval(self.roots[r as usize], v) {
                    best = r;
                    break;
                }
            }
        }
        for &r in &self.unkeyed {
            if r >= best {
                break;
            }
            if self.eval(self.roots[r as usize], v) {
                best = r;
                break;
            }
        }
        (best != u32::MAX).then_some(best as usize)
    }

    /// Where a packet goes: an output port, or `None` to drop it.
    #[inline]
    pub fn classify(&self, v: &View) -> Option<usize> {
        if let Some(out) = self.everything {
            return out;
        }
        self.matching_rule(v).and_then(|r| self.outputs[r])
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
        for (i, t) in self.tuples.iter().enumerate() {
            let words: Vec<String> = t
                .words
                .iter()
                .map(|(k, _)| {
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

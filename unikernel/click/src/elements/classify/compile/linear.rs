//! Small rule sets compiled to a branching program of masked word
//! compares, as Click's Classifier does: each instruction tests one word
//! and jumps to another instruction or to a verdict ("rule N matched", or
//! "no rule matched") on each of its two outcomes.
//!
//! Every tree compiles, each node once: a rule's `yes` exit is its
//! verdict and its `no` exit the next rule's entry, so the program finds
//! the first matching rule exactly as evaluating the trees in order does,
//! short-packet results included. Jumps only go forward, so it always
//! ends. A packet costs one compare per test on its path: for a handful
//! of rules that beats hashing into the tuple index, which
//! [`super::Program`] keeps for larger sets.
//!
//! When every test reads the packet data (Classifier) at a non-negative
//! offset and the packet holds all the words the program reads, the words
//! are read without the short-packet logic.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::tree::{need_for, Base, Expr, View};

/// Largest program (in tests) built; bigger rule sets use the index.
pub const MAX_INSNS: usize = 24;
/// [`Branches`] test slot meaning "not in the word cache".
pub const NO_SLOT: u8 = 31;

/// Target bit marking a verdict rather than an instruction.
const VERDICT: u32 = 1 << 31;
/// The verdict "no rule matched".
const NO_MATCH: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Insn {
    off: i32,
    mask: u32,
    value: u32,
    yes: u32,
    no: u32,
    base: Base,
    need: u8,
    short_yes: bool,
    /// Word cache slot ([`Branches`] only).
    slot: u8,
}

/// A rule list compiled to a branching program.
#[derive(Clone, Debug)]
pub struct Linear {
    insns: Vec<Insn>,
    entry: u32,
    /// Every test reads the packet data at an offset >= 0.
    data_only: bool,
    /// Packet data length from which every word read is whole.
    min_len: usize,
}

impl Linear {
    /// Compiles rule tests (first match wins); `None` when the program
    /// would exceed [`MAX_INSNS`] tests.
    pub fn new<'a>(rules: impl DoubleEndedIterator<Item = &'a Expr>) -> Option<Linear> {
        let mut insns = Vec::new();
        let rules: Vec<&Expr> = rules.collect();
        let mut next = NO_MATCH;
        for (i, e) in rules.iter().enumerate().rev() {
            next = emit(&mut insns, e, VERDICT | i as u32, next, MAX_INSNS)?;
        }
        // Emitted back to front: renumber so jumps go forward.
        let n = insns.len() as u32;
        let flip = |t: u32| if t & VERDICT != 0 { t } else { n - 1 - t };
        insns.reverse();
        for i in &mut insns {
            i.yes = flip(i.yes);
            i.no = flip(i.no);
        }
        let data_only = insns.iter().all(|i| i.base == Base::Data && i.off >= 0);
        let min_len = insns
            .iter()
            .map(|i| i.off.max(0) as usize + 4)
            .max()
            .unwrap_or(0);
        Some(Linear {
            insns,
            entry: flip(next),
            data_only,
            min_len,
        })
    }

    /// The index of the first rule that matches, if any.
    #[inline(always)]
    pub fn matching_rule(&self, v: &View) -> Option<usize> {
        if self.data_only {
            self.matching_rule_data(v.data)
        } else {
            self.run(self.entry, v)
        }
    }

    /// [`Linear::matching_rule`] for a packet whose data is `d` (Classifier:
    /// no header annotations needed).
    #[inline(always)]
    pub fn matching_rule_data(&self, d: &[u8]) -> Option<usize> {
        let mut t = self.entry;
        if self.data_only && d.len() >= self.min_len {
            while t & VERDICT == 0 {
                let i = &self.insns[t as usize];
                let o = i.off as usize;
                let w = match d.get(o..o + 4) {
                    Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                    None => break,
                };
                t = if w & i.mask == i.value { i.yes } else { i.no };
            }
            if t & VERDICT != 0 {
                return verdict(t);
            }
        }
        self.run(
            t,
            &View {
                data: d,
                ..View::default()
            },
        )
    }

    /// Runs the program from `t` with the exact short-packet logic.
    #[inline(never)]
    fn run(&self, mut t: u32, v: &View) -> Option<usize> {
        while t & VERDICT == 0 {
            let i = &self.insns[t as usize];
            let hit = match v.word(i.base, i.off, i.mask, i.need) {
                Some(w) => w == i.value,
                None => i.short_yes,
            };
            t = if hit { i.yes } else { i.no };
        }
        verdict(t)
    }

    /// Number of tests.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// True when no test is needed (the verdict is fixed).
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// A listing of the program, one test per line.
    pub fn unparse(&self) -> String {
        let target = |t: u32| match t {
            NO_MATCH => String::from("drop"),
            t if t & VERDICT != 0 => format!("rule {}", t & !VERDICT),
            t => format!("{t}"),
        };
        let mut s = format!(
            "branching program: {} tests, start {}\n",
            self.insns.len(),
            target(self.entry)
        );
        for (n, i) in self.insns.iter().enumerate() {
            let base = match i.base {
                Base::Data => "data",
                Base::Mac => "mac",
                Base::Net => "ip",
                Base::Transp => "transp",
            };
            let _ = writeln!(
                s,
                "{n}: {base}[{}]&{:08x}=={:08x}{} ? {} : {}",
                i.off,
                i.mask,
                i.value,
                if i.short_yes { "/short:yes" } else { "" },
                target(i.yes),
                target(i.no)
            );
        }
        s
    }
}

#[inline(always)]
fn verdict(t: u32) -> Option<usize> {
    (t != NO_MATCH).then_some((t & !VERDICT) as usize)
}

/// Trees compiled to branching code, each evaluated alone to true or
/// false (the tuple index's residual tests and unindexed rules): a flat
/// walk along one path instead of a recursive evaluation of the tree.
#[derive(Clone, Debug, Default)]
pub struct Branches {
    insns: Vec<Insn>,
}

impl Branches {
    /// Compiles `e`; returns its entry for [`Branches::eval`].
    pub fn add(&mut self, e: &Expr) -> u32 {
        emit(&mut self.insns, e, VERDICT, NO_MATCH, usize::MAX).unwrap_or(NO_MATCH)
    }

    /// Every test's header word and its cache slot.
    pub fn slots_mut(&mut self) -> impl Iterator<Item = (Base, i32, &mut u8)> {
        self.insns.iter_mut().map(|i| (i.base, i.off, &mut i.slot))
    }

    /// The value of the tree compiled at `entry`; `word(base, off, mask,
    /// need, slot)` reads a masked word (`None`: the packet is too short).
    #[inline]
    pub fn eval(&self, mut t: u32, word: impl Fn(Base, i32, u32, u8, u8) -> Option<u32>) -> bool {
        while t & VERDICT == 0 {
            let i = &self.insns[t as usize];
            let hit = match word(i.base, i.off, i.mask, i.need, i.slot) {
                Some(w) => w == i.value,
                None => i.short_yes,
            };
            t = if hit { i.yes } else { i.no };
        }
        t != NO_MATCH
    }
}

/// Emits `e` with exits `yes` and `no`; returns its entry (an instruction
/// or, for constants, one of the exits). `None` past `limit` tests.
fn emit(insns: &mut Vec<Insn>, e: &Expr, yes: u32, no: u32, limit: usize) -> Option<u32> {
    Some(match e {
        Expr::Const(true) => yes,
        Expr::Const(false) => no,
        Expr::Leaf(l) => {
            if insns.len() >= limit {
                return None;
            }
            insns.push(Insn {
                off: l.off,
                mask: l.mask,
                value: l.value,
                yes,
                no,
                base: l.base,
                need: need_for(l.mask),
                short_yes: l.short_yes,
                slot: NO_SLOT,
            });
            insns.len() as u32 - 1
        }
        Expr::Not(x) => emit(insns, x, no, yes, limit)?,
        Expr::And(xs) => {
            let mut t = yes;
            for x in xs.iter().rev() {
                t = emit(insns, x, t, no, limit)?;
            }
            t
        }
        Expr::Or(xs) => {
            let mut t = no;
            for x in xs.iter().rev() {
                t = emit(insns, x, yes, t, limit)?;
            }
            t
        }
        Expr::Ternary(c, a, b) => {
            let ta = emit(insns, a, yes, no, limit)?;
            let tb = emit(insns, b, yes, no, limit)?;
            emit(insns, c, ta, tb, limit)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elements::classify::compile::pattern::parse_pattern;
    use alloc::vec;

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// A random Classifier pattern over the first 24 bytes, biased to
    /// values the packets below often hold.
    fn pattern(r: &mut Rng) -> String {
        if r.below(8) == 0 {
            return String::from("-");
        }
        let mut clauses = Vec::new();
        for _ in 0..1 + r.below(3) {
            let off = r.below(24);
            let len = 1 + r.below(3);
            let mut v = String::new();
            let mut m = String::new();
            for _ in 0..len {
                let b = [0u8, 1, 8, 0xff][r.below(4) as usize];
                let _ = write!(v, "{b:02x}");
                let mb = [0xffu8, 0xf0, 0x0f, 0x00][r.below(4) as usize];
                let _ = write!(m, "{mb:02x}");
            }
            let neg = if r.below(4) == 0 { "!" } else { "" };
            if r.below(2) == 0 {
                clauses.push(format!("{neg}{off}/{v}%{m}"));
            } else {
                clauses.push(format!("{neg}{off}/{v}"));
            }
        }
        clauses.join(" ")
    }

    #[test]
    fn agrees_with_tree_evaluation_on_random_patterns_and_short_packets() {
        let mut r = Rng(0x5eed_1234_abcd_0001);
        for _ in 0..400 {
            let n = 1 + r.below(4) as usize;
            let exprs: Vec<Expr> = (0..n)
                .map(|_| parse_pattern(&pattern(&mut r)).unwrap())
                .collect();
            let Some(lin) = Linear::new(exprs.iter()) else {
                continue;
            };
            for _ in 0..60 {
                let len = r.below(30) as usize;
                let data: Vec<u8> = (0..len)
                    .map(|_| [0u8, 1, 8, 0xff, 0x18][r.below(5) as usize])
                    .collect();
                let v = View {
                    data: &data,
                    ..View::default()
                };
                let want = exprs.iter().position(|e| e.eval(&v));
                assert_eq!(lin.matching_rule(&v), want, "{}", lin.unparse());
            }
        }
    }

    #[test]
    fn trees_with_or_not_and_ternary() {
        let leaf = |off: i32, v: u32| {
            Expr::Leaf(super::super::tree::Leaf::new(
                Base::Data,
                off,
                v << 24,
                0xff00_0000,
            ))
        };
        let e = [
            Expr::Ternary(
                leaf(0, 1).into(),
                Expr::or(vec![leaf(1, 2), leaf(2, 3)]).into(),
                leaf(1, 9).negate(true).into(),
            ),
            Expr::Const(true),
        ];
        let lin = Linear::new(e.iter()).unwrap();
        for data in [
            &[1u8, 2, 0, 0][..],
            &[1, 0, 3, 0],
            &[1, 0, 0, 0],
            &[0, 9, 0, 0],
            &[0, 8, 0, 0],
            &[0],
            &[],
        ] {
            let v = View {
                data,
                ..View::default()
            };
            let want = e.iter().position(|x| x.eval(&v));
            assert_eq!(lin.matching_rule(&v), want, "{data:?}");
        }
        assert!(lin.unparse().contains("? rule 0"));
    }

    #[test]
    fn too_many_tests_fall_back() {
        let pats: Vec<Expr> = (0..MAX_INSNS + 1)
            .map(|i| parse_pattern(&format!("{i}/01")).unwrap())
            .collect();
        assert!(Linear::new(pats.iter()).is_none());
        assert!(Linear::new(pats[..MAX_INSNS].iter()).is_some());
    }
}

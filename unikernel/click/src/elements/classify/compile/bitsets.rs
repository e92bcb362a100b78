//! Field-wise bit-vector matching for rule sets of up to [`MAX_RULES`]
//! rules, the manner of the bit-vector (Lakshman–Stiliadis) and RFC packet
//! classifiers, applied byte by byte.
//!
//! Every header byte that some rule's guards (see [`super::program`])
//! constrain gets a table from the byte's 256 values to the set of rules,
//! one bit each in rule order, that a packet with that value can still
//! match. A packet's candidates are the intersection of its bytes' sets,
//! a few loads and ANDs per byte whatever the masks (prefixes, protocol,
//! bit tests all fit a byte table). The lowest candidate bit whose rule
//! holds is the first matching rule. What the guards leave of a rule
//! (once the facts all its alternatives share are assumed) is split
//! into its conjuncts: those reading one byte are folded into that
//! byte's table too, so a rule made only of them holds as soon as its
//! bit survives; those reading two adjacent bytes (a port range) become
//! a 65,536-bit map of the pair's values; anything else is evaluated as
//! a compiled tree, for the candidates only.
//!
//! The tables are built only from necessary conditions, so the bitsets
//! never lose a matching rule; they are trusted only for packets that
//! hold every tabled byte. Shorter packets (where Click's short-packet
//! results apply) go to the tuple index instead.
//!
//! Compared with the tuple index (a hash probe per rule shape plus the
//! candidates' residual tests), this costs about one load and `W` ANDs
//! per tabled byte, with `W` the rule count in 64-bit words: cheaper
//! for the few hundred rules of a firewall, dearer for thousands.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::program::{assume_facts, common, guards};
use super::tree::{Base, Expr, View};

/// Most rules matched with bitsets (four 64-bit words a set).
pub const MAX_RULES: usize = 256;
/// Most bytes of tables built; a rule set needing more uses the index.
const MAX_TABLE_BYTES: usize = 512 * 1024;

/// One tabled header byte.
#[derive(Clone, Copy, Debug)]
struct Probe {
    base: Base,
    off: u32,
}

/// Per-byte rule sets of a rule list (see the module documentation).
pub struct Bitsets {
    /// 64-bit words per set (1 to 4).
    words: usize,
    /// Tabled bytes, in lookup order (most selective first).
    probes: Vec<Probe>,
    /// `probes.len()` tables of 256 sets of `words` words.
    sets: Vec<u64>,
    /// Rules that can match at all (the starting set).
    live: [u64; 4],
    /// Rules whose bit surviving every table proves the match.
    exact: [u64; 4],
    /// Per rule, what is left to test once its bit survived.
    checks: Vec<Check>,
    /// Two-byte windows tested through `bitmaps`, and which bitmap.
    pairs: Vec<(Probe, u32)>,
    /// 65,536-bit maps of the values of a two-byte window (a port) that
    /// pass one test (a port range).
    bitmaps: Vec<Vec<u64>>,
    /// Per base (as `Base as usize`), the bytes a packet must have for
    /// the tables to be used.
    need: [usize; 4],
}

/// A byte constraint: `byte & mask == value`.
type ByteTest = (u8, u8);
/// One guard alternative as constraints on bytes.
type ByteAlt = BTreeMap<(Base, u32), ByteTest>;

/// What remains of a rule once its bit survived: windows in `pairs`
/// (`start..end`), then the caller's compiled tree, if any.
#[derive(Clone, Copy, Debug)]
struct Check {
    start: u32,
    end: u32,
    entry: Option<u32>,
}

/// Most two-byte bitmaps built (8 KiB each).
const MAX_BITMAPS: usize = 16;

impl Bitsets {
    /// Builds the tables for `rules` (first match wins); `None` when there
    /// are too many rules or the tables would be too large. `compile`
    /// compiles what remains of a rule to test once its bit survived and
    /// returns the entry [`Bitsets::first_match`] passes back.
    pub fn new(rules: &[Expr], mut compile: impl FnMut(&Expr) -> u32) -> Option<Bitsets> {
        if rules.is_empty() || rules.len() > MAX_RULES {
            return None;
        }
        let words = rules.len().div_ceil(64);
        let mut live = [0u64; 4];
        let mut exact = [0u64; 4];
        // Per rule, its guard alternatives as byte constraints.
        let mut alts: Vec<Vec<ByteAlt>> = Vec::new();
        let mut bytes: BTreeSet<(Base, u32)> = BTreeSet::new();
        // Per rule, the tests of one byte left over, folded into that
        // byte's table, and the other tests left over.
        let mut folded: Vec<Vec<((Base, u32), Expr)>> = Vec::new();
        let mut residuals = Vec::new();
        for (r, e) in rules.iter().enumerate() {
            let (mine, residual) = byte_alternatives(e);
            for alt in &mine {
                bytes.extend(alt.keys().copied());
            }
            if !mine.is_empty() {
                live[r / 64] |= 1 << (r % 64);
            }
            let conjuncts = match residual {
                Expr::And(xs) => xs,
                Expr::Const(true) => Vec::new(),
                e => vec![e],
            };
            let (one, rest): (Vec<Expr>, Vec<Expr>) = conjuncts
                .into_iter()
                .partition(|c| window(c).is_some_and(|w| w.2 == w.1));
            let one: Vec<((Base, u32), Expr)> = one
                .into_iter()
                .filter_map(|c| window(&c).map(|(b, off, _)| ((b, off), c)))
                .collect();
            bytes.extend(one.iter().map(|o| o.0));
            if rest.is_empty() && !mine.is_empty() {
                exact[r / 64] |= 1 << (r % 64);
            }
            folded.push(one);
            residuals.push(rest);
            alts.push(mine);
        }
        let stride = 256 * words;
        if bytes.len() * stride * 8 > MAX_TABLE_BYTES {
            return None;
        }
        let mut need = [0usize; 4];
        let mut pairs = Vec::new();
        let mut bitmaps = Vec::new();
        // The test each bitmap was made from, to share it.
        let mut made: Vec<(Base, u32, Expr)> = Vec::new();
        let mut checks = Vec::new();
        for conjuncts in residuals {
            let start = pairs.len() as u32;
            let mut rest = Vec::new();
            for c in conjuncts {
                let Some((base, off, _)) = window(&c) else {
                    rest.push(c);
                    continue;
                };
                let found = made
                    .iter()
                    .position(|m| m.0 == base && m.1 == off && m.2 == c);
                let idx = match found {
                    Some(i) => i,
                    None if made.len() < MAX_BITMAPS => {
                        bitmaps.push(truth(&c, off, 2));
                        made.push((base, off, c));
                        made.len() - 1
                    }
                    None => {
                        rest.push(c);
                        continue;
                    }
                };
                let n = &mut need[base as usize];
                *n = (*n).max(off as usize + 2);
                pairs.push((Probe { base, off }, idx as u32));
            }
            checks.push(Check {
                start,
                end: pairs.len() as u32,
                entry: (!rest.is_empty()).then(|| compile(&Expr::and(rest))),
            });
        }
        // Every value allows every live rule, until a rule whose
        // alternatives all constrain the byte rules some out.
        let mut full = vec![0u64; stride];
        for s in full.chunks_mut(words) {
            s.copy_from_slice(&live[..words]);
        }
        let mut tables: BTreeMap<(Base, u32), Vec<u64>> =
            bytes.iter().map(|&k| (k, full.clone())).collect();
        for (r, mine) in alts.iter().enumerate() {
            let mut mentioned: Vec<(Base, u32)> =
                mine.iter().flat_map(|a| a.keys().copied()).collect();
            mentioned.sort();
            mentioned.dedup();
            for k in mentioned {
                let Some(tests) = mine
                    .iter()
                    .map(|a| a.get(&k).copied())
                    .collect::<Option<Vec<ByteTest>>>()
                else {
                    // An alternative that leaves the byte free allows
                    // every value.
                    continue;
                };
                let t = tables
                    .get_mut(&k)
                    .expect("every constrained byte has a table");
                for x in 0..=255u8 {
                    if !tests.iter().any(|&(m, v)| x & m == v) {
                        t[x as usize * words + r / 64] &= !(1 << (r % 64));
                    }
                }
            }
        }
        for (r, one) in folded.iter().enumerate() {
            for ((base, off), c) in one {
                let t = tables
                    .get_mut(&(*base, *off))
                    .expect("every folded byte has a table");
                let map = truth(c, *off, 1);
                for x in 0..256usize {
                    if map[x / 64] >> (x % 64) & 1 == 0 {
                        t[x * words + r / 64] &= !(1 << (r % 64));
                    }
                }
            }
        }
        let mut kept: Vec<(Probe, Vec<u64>, (u32, u32))> = Vec::new();
        for ((base, off), t) in tables {
            // A table allowing every live rule for every value tells
            // nothing.
            if t == full {
                continue;
            }
            // How many rules the byte's least selective value leaves, then
            // the average: a byte such as the fragment offset, zero in
            // almost every packet, tells little however rare its other
            // values.
            let counts = t
                .chunks(words)
                .map(|s| s.iter().map(|w| w.count_ones()).sum::<u32>());
            let weight = (counts.clone().max().unwrap_or(0), counts.sum::<u32>());
            kept.push((Probe { base, off }, t, weight));
        }
        // Most selective first: the set empties sooner on the packets no
        // rule matches.
        kept.sort_by_key(|t| t.2);
        for (p, _, _) in &kept {
            let n = &mut need[p.base as usize];
            *n = (*n).max(p.off as usize + 1);
        }
        Some(Bitsets {
            words,
            probes: kept.iter().map(|t| t.0).collect(),
            sets: kept.into_iter().flat_map(|t| t.1).collect(),
            live,
            exact,
            checks,
            pairs,
            bitmaps,
            need,
        })
    }

    /// The first rule that matches: `Some(Some(r))`, `Some(None)` when
    /// none does, `None` when the packet is too short for the tables.
    /// `holds(entry)` evaluates the tree `compile` returned `entry` for
    /// (for rules the tables do not decide alone).
    #[inline]
    pub fn first_match(&self, v: &View, holds: impl FnMut(u32) -> bool) -> Option<Option<usize>> {
        match self.words {
            1 => self.first::<1>(v, holds),
            2 => self.first::<2>(v, holds),
            3 => self.first::<3>(v, holds),
            _ => self.first::<4>(v, holds),
        }
    }

    #[inline(always)]
    fn first<const W: usize>(
        &self,
        v: &View,
        mut holds: impl FnMut(u32) -> bool,
    ) -> Option<Option<usize>> {
        let slices = [v.data, v.mac, v.net, v.transp];
        if !slices.iter().zip(self.need).all(|(s, n)| s.len() >= n) {
            return None;
        }
        let mut acc = [0u64; W];
        acc.copy_from_slice(&self.live[..W]);
        // Thin pointers and a running row pointer: the loop below is the
        // hot path, about ten instructions a byte.
        let starts = slices.map(<[u8]>::as_ptr);
        let mut table = self.sets.as_ptr();
        // Tested for emptiness every four bytes only: the loads stay
        // independent of one another and of the branch.
        for group in self.probes.chunks(4) {
            for p in group {
                // SAFETY: `p.off < need[p.base] <= slices[p.base].len()`,
                // tested above; `table` walks the `probes.len()` tables of
                // `256 * W` words `sets` holds, and the set read (`W` words
                // at `x * W`, `x < 256`) lies within the current one.
                let set = unsafe {
                    let x = *starts.get_unchecked(p.base as usize).add(p.off as usize) as usize;
                    table.add(x * W)
                };
                for (i, a) in acc.iter_mut().enumerate() {
                    // SAFETY: i < W, within the set (above).
                    *a &= unsafe { *set.add(i) };
                }
                // SAFETY: at most one past the last table.
                table = unsafe { table.add(256 * W) };
            }
            if acc.iter().all(|&a| a == 0) {
                return Some(None);
            }
        }
        for (i, mut a) in acc.into_iter().enumerate() {
            while a != 0 {
                let b = a.trailing_zeros() as usize;
                let r = i * 64 + b;
                if self.exact[i] >> b & 1 != 0 || self.check(r, &slices, &mut holds) {
                    return Some(Some(r));
                }
                a &= a - 1;
            }
        }
        Some(None)
    }

    /// True if rule `r`, whose bit survived, holds.
    #[inline]
    fn check(&self, r: usize, slices: &[&[u8]; 4], holds: &mut impl FnMut(u32) -> bool) -> bool {
        let c = self.checks[r];
        for &(p, m) in &self.pairs[c.start as usize..c.end as usize] {
            let s = slices[p.base as usize];
            let o = p.off as usize;
            // In bounds: `need` covers every window (tested by the caller).
            let x = usize::from(s[o]) << 8 | usize::from(s[o + 1]);
            if self.bitmaps[m as usize][x / 64] >> (x % 64) & 1 == 0 {
                return false;
            }
        }
        c.entry.is_none_or(holds)
    }

    /// A one-line summary for the `program` handler.
    pub fn unparse(&self) -> String {
        let probes: Vec<String> = self
            .probes
            .iter()
            .map(|p| format!("{}[{}]", p.base.name(), p.off))
            .collect();
        let exact: u32 = self.exact.iter().map(|w| w.count_ones()).sum();
        format!(
            "bitsets: {} byte tables ({}), {} rules decided by the tables alone, {} two-byte maps\n",
            probes.len(),
            probes.join(" "),
            exact,
            self.bitmaps.len()
        )
    }
}

/// The guard alternatives of `e` as constraints on whole bytes (an
/// unsatisfiable alternative dropped), and what remains to test on a
/// packet whose bytes pass them: when all of their bytes are tabled (none
/// before a header's start), `e` simplified by the facts every
/// alternative shares (`true`: the bytes decide alone); otherwise all of
/// `e`.
fn byte_alternatives(e: &Expr) -> (Vec<ByteAlt>, Expr) {
    let mut complete = true;
    let mut out = Vec::new();
    let alts = guards(e);
    // Each alternative implies what they all share, and so does a packet
    // whose bytes pass the tables.
    let shared = assume_facts(e, &common(&alts));
    'alts: for conj in alts {
        let mut m = ByteAlt::new();
        for (base, off, mask, value) in conj {
            for (i, (mb, vb)) in mask
                .to_be_bytes()
                .into_iter()
                .zip(value.to_be_bytes())
                .enumerate()
            {
                if mb == 0 {
                    continue;
                }
                let at = off + i as i32;
                if at < 0 {
                    complete = false;
                    continue;
                }
                let t = m.entry((base, at as u32)).or_insert((0, 0));
                if (t.1 ^ vb) & t.0 & mb != 0 {
                    continue 'alts;
                }
                t.0 |= mb;
                t.1 |= vb & mb;
            }
        }
        out.push(m);
    }
    let residual = if complete { shared } else { e.clone() };
    (out, residual)
}

/// The two-byte window holding every byte `e` reads, if there is one:
/// its header, its offset and the offset of the last byte read (the
/// same when `e` reads one byte).
fn window(e: &Expr) -> Option<(Base, u32, u32)> {
    let mut at: Option<(Base, i32, i32)> = None;
    let mut ok = true;
    e.for_each_leaf(&mut |l| {
        let bytes = l.mask.to_be_bytes();
        // A test of no bits still needs its first byte to exist.
        let first = bytes.iter().position(|&b| b != 0).unwrap_or(0) as i32;
        let last = bytes.iter().rposition(|&b| b != 0).unwrap_or(0) as i32;
        let (lo, hi) = (l.off + first, l.off + last);
        at = match at {
            None => Some((l.base, lo, hi)),
            Some((b, a, z)) if b == l.base => Some((b, a.min(lo), z.max(hi))),
            Some(_) => {
                ok = false;
                at
            }
        };
    });
    let (base, lo, hi) = at?;
    (ok && lo >= 0 && hi - lo <= 1).then_some((base, lo as u32, hi as u32))
}

/// The values of the `n` (1 or 2) bytes at `off` (of the one header
/// `e` reads) for which `e` holds, as a map of `1 << 8n` bits: packets
/// hold those bytes, so each test is a plain masked compare of them.
fn truth(e: &Expr, off: u32, n: u32) -> Vec<u64> {
    let words = (1usize << (8 * n)).div_ceil(64);
    match e {
        Expr::Const(b) => vec![if *b { !0 } else { 0 }; words],
        Expr::Leaf(l) => {
            let field = |w: u32| {
                (0..n).fold(0u32, |acc, k| {
                    let i = i64::from(off + k) - i64::from(l.off);
                    let b = if (0..4).contains(&i) {
                        (w >> (24 - 8 * i)) & 0xff
                    } else {
                        0
                    };
                    acc << 8 | b
                })
            };
            let (m, v) = (field(l.mask), field(l.value));
            let mut map = vec![0u64; words];
            if v & !m != 0 {
                return map;
            }
            // The pattern of the six low bits repeats in every word the
            // high bits allow.
            let low: u64 = (0..64u32)
                .filter(|j| j & m & 63 == v & 63)
                .fold(0, |acc, j| acc | 1 << j);
            for (w, word) in map.iter_mut().enumerate() {
                if (w as u32 * 64) & m & !63 == v & !63 {
                    *word = low;
                }
            }
            map
        }
        Expr::Not(x) => truth(x, off, n).into_iter().map(|w| !w).collect(),
        Expr::And(xs) => xs.iter().fold(vec![!0; words], |acc, x| {
            acc.iter()
                .zip(truth(x, off, n))
                .map(|(a, b)| a & b)
                .collect()
        }),
        Expr::Or(xs) => xs.iter().fold(vec![0; words], |acc, x| {
            acc.iter()
                .zip(truth(x, off, n))
                .map(|(a, b)| a | b)
                .collect()
        }),
        Expr::Ternary(c, a, b) => {
            let (c, a, b) = (truth(c, off, n), truth(a, off, n), truth(b, off, n));
            (0..words).map(|i| c[i] & a[i] | !c[i] & b[i]).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elements::classify::compile::expr::parse_expr_text;
    use crate::elements::classify::compile::{ip_view, Program, Rule};
    use crate::packet::Packet;
    use crate::testing::Rng;

    fn pick<'a>(r: &mut Rng, xs: &[&'a str]) -> &'a str {
        xs[r.below(xs.len() as u64) as usize]
    }

    /// One random test, its values drawn from the small pools the packets
    /// below also use, so that rules often match.
    fn primitive(r: &mut Rng, ip6: bool) -> String {
        let port = ["53", "80", "123", "1001", "5000"];
        let host = ["10.0.0.1", "10.0.0.2", "10.0.1.1", "10.1.0.1"];
        let net = ["10.0.0.0/24", "10.0.0.0/16", "10.0.0.0/30", "10.1.0.0/16"];
        let host6 = ["2001:db8::1", "2001:db8::2", "2001:db8::1:1"];
        let p = pick(r, &port);
        if ip6 && r.below(3) == 0 {
            return match r.below(6) {
                0 => format!("src host {}", pick(r, &host6)),
                1 => format!("dst host {}", pick(r, &host6)),
                2 => String::from("dst net 2001:db8::/126"),
                3 => String::from("ip6 hlim < 3"),
                4 => String::from("icmp6 type echo"),
                _ => format!("ip6 tcp dst port {p}"),
            };
        }
        match r.below(26) {
            0 => String::from("tcp"),
            1 => String::from("udp"),
            2 => String::from("icmp"),
            3 => String::from("ip proto 47"),
            4 => String::from("syn"),
            5 => String::from("ack"),
            6 => String::from("ip frag"),
            7 => String::from("ip unfrag"),
            8 => format!("src host {}", pick(r, &host)),
            9 => format!("dst host {}", pick(r, &host)),
            10 => format!("src net {}", pick(r, &net)),
            11 => format!("dst net {}", pick(r, &net)),
            12 => format!("dst port {p}"),
            13 => format!("src port {p}"),
            14 => format!("port {p} or {}", pick(r, &port)),
            15 => format!("dst port >= {p}"),
            16 => format!("dst port < {p}"),
            17 => String::from("ip ttl < 3"),
            18 => String::from("icmp type echo"),
            19 => String::from("not tcp"),
            20 => format!("src port != {p}"),
            21 => String::from("ip[9] = 17"),
            22 => format!("transp[0:2] = {p}"),
            23 => String::from("ip tos 4"),
            24 => String::from("ether host 02:00:00:00:00:01"),
            _ => format!(
                "udp && src net {} && dst port >= 5000 && dst port < 5100",
                pick(r, &net)
            ),
        }
    }

    /// A random rule that parses with and without IPv6 semantics (some
    /// combinations, such as `icmp6 type echo and syn`, are errors).
    fn rule_text(r: &mut Rng, ip6: bool) -> String {
        loop {
            let a = primitive(r, ip6);
            let b = primitive(r, ip6);
            let t = match r.below(6) {
                0 => a,
                1 | 2 => format!("{a} and {b}"),
                3 => format!("({a}) or ({b})"),
                4 => format!("{a} and not ({b})"),
                _ => format!("({a}) ? ({b}) : ({})", primitive(r, ip6)),
            };
            if parse_expr_text(&t, false).is_ok() && parse_expr_text(&t, true).is_ok() {
                return t;
            }
        }
    }

    /// Parses rules as IPFilter does: with IPv6 semantics for every rule
    /// when any has an IPv6 test.
    fn parse(texts: &[String]) -> Vec<Rule> {
        let any6 = texts
            .iter()
            .any(|t| parse_expr_text(t, false).is_ok_and(|x| x.1));
        texts
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let (expr, _) =
                    parse_expr_text(t, any6).unwrap_or_else(|e| panic!("{t}: {}", e.message));
                Rule {
                    expr,
                    output: Some(k % 4),
                }
            })
            .collect()
    }

    /// A random Ethernet frame holding IPv4 (with options at times) or
    /// IPv6, maybe truncated anywhere.
    fn packet(r: &mut Rng) -> Packet {
        let ports = [53u16, 80, 123, 1001, 5000, 5050, 5100, 7];
        let mut b = vec![
            2u8,
            0,
            0,
            0,
            0,
            [1, 2][r.below(2) as usize],
            2,
            0,
            0,
            0,
            0,
            1,
        ];
        let hlen;
        if r.below(4) == 0 {
            b.extend_from_slice(&[0x86, 0xdd]);
            let nxt = [6u8, 17, 58, 0][r.below(4) as usize];
            b.extend_from_slice(&[0x60, 0, 0, 0, 0, 20, nxt, r.below(5) as u8]);
            for _ in 0..2 {
                let mut a = [0u8; 16];
                a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
                a[13] = r.below(2) as u8;
                a[15] = r.below(4) as u8;
                b.extend_from_slice(&a);
            }
            hlen = 40;
        } else {
            let opts = r.below(4) == 0;
            b.extend_from_slice(&[0x08, 0x00, if opts { 0x46 } else { 0x45 }]);
            b.push([0u8, 4][r.below(2) as usize]);
            b.extend_from_slice(&[0, 48, 0, 1]);
            b.extend_from_slice(&[0u16, 0x2000, 0x0004][r.below(3) as usize].to_be_bytes());
            b.push(r.below(5) as u8);
            b.push([6u8, 17, 1, 47][r.below(4) as usize]);
            b.extend_from_slice(&[0, 0]);
            for _ in 0..2 {
                b.extend_from_slice(&[10, r.below(2) as u8, r.below(2) as u8, r.below(4) as u8]);
            }
            if opts {
                b.extend_from_slice(&[1, 1, 1, 0]);
            }
            hlen = if opts { 24 } else { 20 };
        }
        for _ in 0..2 {
            let p = ports[r.below(ports.len() as u64) as usize];
            b.extend_from_slice(&p.to_be_bytes());
        }
        b.extend((0..16).map(|_| [0u8, 2, 8, 0x12][r.below(4) as usize]));
        if r.below(6) == 0 {
            b.truncate(14 + r.below(50) as usize);
        }
        let mut p = Packet::from_slice(&b);
        p.set_mac_header(0);
        p.set_ip_header(14, hlen);
        p
    }

    /// Random rule sets of 25 to 300 rules (IPv4 and IPv4 with IPv6) and
    /// random packets: the compiled program (bitsets, and the index for
    /// short packets or too many rules) picks the same rule as evaluating
    /// every rule's tree in order.
    #[test]
    fn bitsets_agree_with_evaluation_in_order() {
        let mut r = Rng(0x0b17_5e75_2026_1207);
        let mut with_bitsets = 0;
        for set in 0..48 {
            let n = 25 + r.below(if set % 8 == 7 { 300 } else { 232 }) as usize;
            let ip6 = set % 2 == 1;
            let mut texts: Vec<String> = (0..n).map(|_| rule_text(&mut r, ip6)).collect();
            if r.below(2) == 0 {
                texts.push(String::from("true"));
            }
            let rules = parse(&texts);
            let prog = Program::new(rules.clone());
            assert!(!prog.is_linear());
            assert_eq!(
                prog.uses_bitsets(),
                rules.len() <= MAX_RULES
                    || texts.last().is_some_and(|t| t == "true") && rules.len() - 1 <= MAX_RULES
            );
            with_bitsets += usize::from(prog.uses_bitsets());
            for _ in 0..400 {
                let pk = packet(&mut r);
                let v = ip_view(&pk);
                let want = rules.iter().position(|x| x.expr.eval(&v));
                assert_eq!(
                    prog.matching_rule(&v),
                    want,
                    "set {set}\n{}",
                    prog.unparse()
                );
                assert_eq!(
                    prog.classify(&v),
                    want.and_then(|w| rules[w].output),
                    "set {set}"
                );
            }
        }
        assert!(with_bitsets >= 40, "{with_bitsets} sets used bitsets");
    }

    /// A rule the tables decide alone, one they only narrow down, one
    /// that never matches and an always-true default.
    #[test]
    fn exact_rules_inexact_rules_and_the_default() {
        let texts: Vec<String> = [
            "tcp && dst port 80 && src net 10.0.0.0/24",
            "udp && (dst port 53 or src port 53)",
            "tcp && udp",
        ]
        .iter()
        .map(|s| String::from(*s))
        .collect();
        let exprs: Vec<Expr> = parse(&texts).into_iter().map(|r| r.expr).collect();
        let mut residuals = Vec::new();
        let b = Bitsets::new(&exprs, |e| {
            residuals.push(e.clone());
            residuals.len() as u32 - 1
        })
        .unwrap();
        // Rule 0's tests are all in the tables; rule 1's port tests, two
        // alternatives, are not.
        assert_eq!(residuals.len(), 1);
        assert_eq!(b.exact[0], 0b001);
        assert_eq!(b.live[0], 0b011);
        assert!(b.unparse().contains("1 rules decided by the tables alone"));
        // ip[9] (protocol), the fragment bytes, ports, source address.
        assert!(b.probes.iter().any(|p| p.base == Base::Net && p.off == 9));
        let mut r = Rng(7);
        let mut calls = 0;
        let mut skipped = 0;
        for _ in 0..200 {
            let pk = packet(&mut r);
            let v = ip_view(&pk);
            let want = exprs.iter().position(|e| e.eval(&v));
            match b.first_match(&v, |k| {
                calls += 1;
                residuals[k as usize].eval(&v)
            }) {
                Some(got) => assert_eq!(got, want),
                None => {
                    let lens = [v.data.len(), v.mac.len(), v.net.len(), v.transp.len()];
                    assert!(
                        lens.iter().zip(b.need).any(|(&l, n)| l < n),
                        "only short packets skip the tables"
                    );
                    skipped += 1;
                }
            }
        }
        assert!(calls > 0, "the inexact rule was evaluated");
        assert!(skipped > 0 && skipped < 100, "{skipped} packets too short");
    }

    /// The two-byte map of a port range holds exactly the ports a
    /// packet's evaluation accepts.
    #[test]
    fn two_byte_maps_agree_with_evaluation() {
        for text in [
            "dst port >= 5000 && dst port < 5100",
            "src port != 80",
            "ip ttl > 3",
        ] {
            let (e, _) = parse_expr_text(text, false).unwrap();
            // The port (or TTL) test itself, after any protocol tests.
            let c = match &e {
                Expr::And(cs) => cs.last().unwrap(),
                e => e,
            };
            let (base, off, last) = window(c).unwrap();
            let n = last - off + 1;
            let map = truth(c, off, n);
            let mut buf = vec![0u8; off as usize + 2];
            for x in 0..1usize << (8 * n) {
                buf[off as usize..][..n as usize]
                    .copy_from_slice(&(x as u16).to_be_bytes()[2 - n as usize..]);
                let mut v = View::default();
                match base {
                    Base::Net => v.net = &buf,
                    _ => v.transp = &buf,
                }
                assert_eq!(map[x / 64] >> (x % 64) & 1 == 1, c.eval(&v), "{text}: {x}");
            }
        }
    }
}

//! Boolean trees of masked 4-byte word tests, and their evaluation on a
//! packet.
//!
//! A [`Leaf`] reads the 32-bit big-endian word at a byte offset from one of
//! the packet's headers, masks it and compares it with a value. When the
//! packet is too short for the bytes the mask covers, the leaf takes its
//! `short_yes` value instead: this is how Click gets `!=` (false on missing
//! bytes) and `not` (true on missing bytes) to differ.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Which header a word offset is relative to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Base {
    /// The packet data (Classifier).
    Data,
    /// The MAC header annotation (IPFilter `ether host`).
    Mac,
    /// The IP header annotation.
    Net,
    /// The transport header (IP header + IHL*4).
    Transp,
}

impl Base {
    /// The header's name in expressions (`ip`, `transp` ...).
    pub fn name(self) -> &'static str {
        match self {
            Base::Data => "data",
            Base::Mac => "mac",
            Base::Net => "ip",
            Base::Transp => "transp",
        }
    }
}

/// The headers of one packet, each running to the end of the packet data.
#[derive(Clone, Copy, Default, Debug)]
pub struct View<'a> {
    /// Packet data.
    pub data: &'a [u8],
    /// From the MAC header on (empty if unset).
    pub mac: &'a [u8],
    /// From the IP header on (empty if unset).
    pub net: &'a [u8],
    /// From the transport header on (empty if unset or past the end).
    pub transp: &'a [u8],
}

impl<'a> View<'a> {
    /// The bytes a [`Base`] refers to.
    #[inline]
    pub fn slice(&self, b: Base) -> &'a [u8] {
        match b {
            Base::Data => self.data,
            Base::Mac => self.mac,
            Base::Net => self.net,
            Base::Transp => self.transp,
        }
    }

    /// The masked word at `off` of `base`, or `None` when the packet does
    /// not reach the last byte the mask covers.
    #[inline]
    pub fn word(&self, base: Base, off: i32, mask: u32, need: u8) -> Option<u32> {
        let s = self.slice(base);
        if off >= 0 {
            let o = off as usize;
            if let Some(b) = s.get(o..o + 4) {
                return Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & mask);
            }
        }
        // Slow path: a word at the end of the packet (or before the header
        // start, for Click's MAC offsets), read byte by byte.
        if off + need as i32 > s.len() as i32 {
            return None;
        }
        let mut w = 0u32;
        for i in 0..4i32 {
            let at = off + i;
            let byte = if at >= 0 && (at as usize) < s.len() {
                s[at as usize]
            } else {
                0
            };
            w = (w << 8) | byte as u32;
        }
        Some(w & mask)
    }
}

/// Bytes from the word start that must exist for `mask` to be evaluated:
/// up to its last non-zero byte, at least one (Click's rule).
pub fn need_for(mask: u32) -> u8 {
    let b = mask.to_be_bytes();
    (0..4).rev().find(|&i| b[i] != 0).map_or(1, |i| i as u8 + 1)
}

/// One masked word comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Leaf {
    /// Header the offset is relative to.
    pub base: Base,
    /// Byte offset of the word (may be negative for MAC tests).
    pub off: i32,
    /// Mask applied to the big-endian word.
    pub mask: u32,
    /// Value the masked word must equal (already masked).
    pub value: u32,
    /// Result when the packet is too short.
    pub short_yes: bool,
}

impl Leaf {
    /// A leaf that is false on short packets.
    pub fn new(base: Base, off: i32, value: u32, mask: u32) -> Leaf {
        Leaf {
            base,
            off,
            mask,
            value: value & mask,
            short_yes: false,
        }
    }

    /// Evaluates the leaf.
    #[inline]
    pub fn eval(&self, v: &View) -> bool {
        match v.word(self.base, self.off, self.mask, need_for(self.mask)) {
            Some(w) => w == self.value,
            None => self.short_yes,
        }
    }
}

/// A boolean expression over leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// Always true or always false.
    Const(bool),
    /// A word test.
    Leaf(Leaf),
    /// Negation.
    Not(Box<Expr>),
    /// All must hold (empty: true).
    And(Vec<Expr>),
    /// One must hold (empty: false).
    Or(Vec<Expr>),
    /// `c ? a : b`.
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Negation; `flip_short` also inverts every leaf's short-packet result
    /// first (Click's `negate_subtree(tree, true)`, used for `!=`), so the
    /// negated test stays false on missing bytes.
    pub fn negate(self, flip_short: bool) -> Expr {
        let inner = if flip_short { self.flip_short() } else { self };
        match inner {
            Expr::Const(b) => Expr::Const(!b),
            Expr::Not(e) => *e,
            e => Expr::Not(Box::new(e)),
        }
    }

    fn flip_short(self) -> Expr {
        match self {
            Expr::Leaf(mut l) => {
                l.short_yes = !l.short_yes;
                Expr::Leaf(l)
            }
            Expr::Not(e) => Expr::Not(Box::new(e.flip_short())),
            Expr::And(v) => Expr::And(v.into_iter().map(Expr::flip_short).collect()),
            Expr::Or(v) => Expr::Or(v.into_iter().map(Expr::flip_short).collect()),
            Expr::Ternary(c, a, b) => Expr::Ternary(
                Box::new(c.flip_short()),
                Box::new(a.flip_short()),
                Box::new(b.flip_short()),
            ),
            c => c,
        }
    }

    /// Conjunction, flattening nested conjunctions and constants.
    pub fn and(parts: Vec<Expr>) -> Expr {
        let mut v = Vec::new();
        for p in parts {
            match p {
                Expr::Const(true) => {}
                Expr::Const(false) => return Expr::Const(false),
                Expr::And(inner) => v.extend(inner),
                e => v.push(e),
            }
        }
        if v.len() == 1 {
            v.pop().unwrap_or(Expr::Const(true))
        } else if v.is_empty() {
            Expr::Const(true)
        } else {
            Expr::And(v)
        }
    }

    /// Disjunction, flattening nested disjunctions and constants.
    pub fn or(parts: Vec<Expr>) -> Expr {
        let mut v = Vec::new();
        for p in parts {
            match p {
                Expr::Const(false) => {}
                Expr::Const(true) => return Expr::Const(true),
                Expr::Or(inner) => v.extend(inner),
                e => v.push(e),
            }
        }
        if v.len() == 1 {
            v.pop().unwrap_or(Expr::Const(false))
        } else if v.is_empty() {
            Expr::Const(false)
        } else {
            Expr::Or(v)
        }
    }

    /// Evaluates the expression (reference semantics; the compiled
    /// [`super::program::Program`] must agree with it).
    pub fn eval(&self, v: &View) -> bool {
        match self {
            Expr::Const(b) => *b,
            Expr::Leaf(l) => l.eval(v),
            Expr::Not(e) => !e.eval(v),
            Expr::And(es) => es.iter().all(|e| e.eval(v)),
            Expr::Or(es) => es.iter().any(|e| e.eval(v)),
            Expr::Ternary(c, a, b) => {
                if c.eval(v) {
                    a.eval(v)
                } else {
                    b.eval(v)
                }
            }
        }
    }

    /// Calls `f` on every leaf.
    pub fn for_each_leaf(&self, f: &mut impl FnMut(&Leaf)) {
        match self {
            Expr::Const(_) => {}
            Expr::Leaf(l) => f(l),
            Expr::Not(e) => e.for_each_leaf(f),
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.for_each_leaf(f)),
            Expr::Ternary(c, a, b) => {
                c.for_each_leaf(f);
                a.for_each_leaf(f);
                b.for_each_leaf(f);
            }
        }
    }

    /// Human-readable form, e.g. `(ip[8]&00ff0000==00060000 and ...)`.
    pub fn unparse(&self) -> String {
        match self {
            Expr::Const(b) => String::from(if *b { "true" } else { "false" }),
            Expr::Leaf(l) => format!(
                "{}[{}]&{:08x}=={:08x}{}",
                l.base.name(),
                l.off,
                l.mask,
                l.value,
                if l.short_yes { "/short:yes" } else { "" }
            ),
            Expr::Not(e) => format!("!{}", e.unparse()),
            Expr::And(v) => join(v, " && "),
            Expr::Or(v) => join(v, " || "),
            Expr::Ternary(c, a, b) => {
                format!("({} ? {} : {})", c.unparse(), a.unparse(), b.unparse())
            }
        }
    }
}

fn join(v: &[Expr], sep: &str) -> String {
    let parts: Vec<String> = v.iter().map(Expr::unparse).collect();
    format!("({})", parts.join(sep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_counts_to_last_masked_byte() {
        assert_eq!(need_for(0xffff_0000), 2);
        assert_eq!(need_for(0x00ff_0000), 2);
        assert_eq!(need_for(0x0000_00ff), 4);
        assert_eq!(need_for(0), 1);
    }

    #[test]
    fn short_words_take_the_short_value() {
        let data = [1u8, 2, 3];
        let v = View {
            data: &data,
            ..View::default()
        };
        let l = Leaf::new(Base::Data, 0, 0x0102_0000, 0xffff_0000);
        assert!(l.eval(&v));
        let l3 = Leaf::new(Base::Data, 0, 0x0102_0300, 0xffff_ff00);
        assert!(l3.eval(&v));
        let l4 = Leaf::new(Base::Data, 0, 0x0102_0304, 0xffff_ffff);
        assert!(!l4.eval(&v));
        // != : false on missing bytes; not : true.
        let neq = Expr::Leaf(l4).negate(true);
        assert!(!neq.eval(&v));
        let not = Expr::Leaf(l4).negate(false);
        assert!(not.eval(&v));
    }

    #[test]
    fn negative_offsets_read_zero_before_the_header() {
        let mac = [0xaau8, 0xbb, 0xcc, 0xdd];
        let v = View {
            mac: &mac,
            ..View::default()
        };
        assert_eq!(v.word(Base::Mac, -2, 0x0000_ffff, 4), Some(0xaabb));
    }
}

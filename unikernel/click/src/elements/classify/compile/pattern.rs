//! Classifier patterns: space-separated `[!]OFFSET/VALUE[%MASK]` clauses
//! over the packet data, all of which must hold.
//!
//! A clause is split into the 4-byte words it touches, one [`Leaf`] each,
//! so a clause over bytes past the end of the packet is false (and its
//! `!` form true), as in Click.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::tree::{Base, Expr, Leaf};

fn nibble(c: u8) -> Option<(u8, u8)> {
    match c {
        b'?' => Some((0, 0)),
        _ => (c as char).to_digit(16).map(|d| (d as u8, 0xf)),
    }
}

fn hex_run(b: &[u8], i: &mut usize) -> (usize, usize) {
    let start = *i;
    while *i < b.len() && (b[*i].is_ascii_hexdigit() || b[*i] == b'?') {
        *i += 1;
    }
    (start, *i)
}

/// Parses one Classifier pattern (`-` or empty: everything matches).
pub fn parse_pattern(pat: &str) -> Result<Expr, String> {
    let b = pat.as_bytes();
    if pat.trim() == "-" || pat.trim().is_empty() {
        return Ok(Expr::Const(true));
    }
    let mut i = 0;
    let mut clauses = Vec::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let negated = b[i] == b'!';
        if negated {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        if i >= b.len() || !b[i].is_ascii_digit() {
            return Err(String::from("expected a digit"));
        }
        let mut offset: u64 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            offset = offset * 10 + (b[i] - b'0') as u64;
            if offset > 0xffff {
                return Err(String::from("offset too large"));
            }
            i += 1;
        }
        if i >= b.len() || b[i] != b'/' {
            return Err(String::from("expected '/'"));
        }
        i += 1;
        let (vs, ve) = hex_run(b, &mut i);
        let mut mask = None;
        if i < b.len() && b[i] == b'%' {
            i += 1;
            mask = Some(hex_run(b, &mut i));
        }
        if i < b.len() && !b[i].is_ascii_whitespace() {
            return Err(format!(
                "unexpected '{}' in value",
                pat[i..].chars().next().unwrap_or('?')
            ));
        }
        let vlen = ve - vs;
        if vlen < 2 {
            return Err(String::from("value has less than 2 hex digits"));
        }
        if vlen % 2 != 0 {
            return Err(String::from("value has odd number of hex digits"));
        }
        if let Some((ms, me)) = mask {
            if me - ms > vlen {
                return Err(String::from("mask has too many hex digits"));
            }
            if me - ms < vlen {
                return Err(String::from("mask has too few hex digits"));
            }
        }
        // Bytes of the clause, grouped by aligned word.
        let mut words: Vec<(i32, u32, u32)> = Vec::new();
        for k in 0..vlen / 2 {
            let (hv, hm) = nibble(b[vs + 2 * k]).unwrap_or((0, 0));
            let (lv, lm) = nibble(b[vs + 2 * k + 1]).unwrap_or((0, 0));
            let mut m = (hm << 4) | lm;
            let v = (hv << 4) | lv;
            if let Some((ms, _)) = mask {
                let (a, am) = nibble(b[ms + 2 * k]).unwrap_or((0, 0));
                let (c, cm) = nibble(b[ms + 2 * k + 1]).unwrap_or((0, 0));
                m &= ((a << 4) | c) & ((am << 4) | cm);
            }
            let at = offset as i32 + k as i32;
            let word = at & !3;
            let shift = 8 * (3 - (at & 3)) as u32;
            if words.last().is_none_or(|w| w.0 != word) {
                words.push((word, 0, 0));
            }
            if let Some(w) = words.last_mut() {
                w.1 |= ((v & m) as u32) << shift;
                w.2 |= (m as u32) << shift;
            }
        }
        let clause = Expr::and(
            words
                .into_iter()
                .map(|(off, v, m)| Expr::Leaf(Leaf::new(Base::Data, off, v, m)))
                .collect(),
        );
        clauses.push(if negated {
            clause.negate(false)
        } else {
            clause
        });
    }
    Ok(Expr::and(clauses))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elements::classify::compile::tree::View;

    fn on(pat: &str, data: &[u8]) -> bool {
        let e = parse_pattern(pat).unwrap();
        e.eval(&View {
            data,
            ..View::default()
        })
    }

    #[test]
    fn clauses_match_bytes() {
        let mut pkt = [0u8; 42];
        pkt[12] = 0x08;
        pkt[13] = 0x06;
        pkt[20] = 0x00;
        pkt[21] = 0x01;
        assert!(on("12/0806", &pkt));
        assert!(!on("12/0800", &pkt));
        assert!(on("12/0806 20/0001", &pkt));
        assert!(on("12/08?6", &pkt));
        assert!(on("12/0800%fff0", &pkt));
        assert!(on("!12/0800", &pkt));
        assert!(on("-", &pkt));
        assert!(on("", &pkt));
        // Unaligned clause across two words.
        assert!(on("11/000806", &pkt));
        assert!(on("12/0806%FFFF", &pkt));
    }

    #[test]
    fn short_packets() {
        let pkt = [0u8; 13];
        // 12/0800 needs bytes 12 and 13: false, and its negation true.
        assert!(!on("12/0000", &pkt));
        assert!(on("!12/0000", &pkt));
        // Only byte 12 is masked: present, so evaluated.
        assert!(on("12/00", &pkt));
        assert!(on("12/0000%ff00", &pkt));
        assert!(!on("40/00", &pkt));
    }

    #[test]
    fn syntax_errors() {
        let e = |p: &str| parse_pattern(p).unwrap_err();
        assert_eq!(e("x/08"), "expected a digit");
        assert_eq!(e("!"), "expected a digit");
        assert_eq!(e("12"), "expected '/'");
        assert_eq!(e("12:08"), "expected '/'");
        assert_eq!(e("12/8"), "value has less than 2 hex digits");
        assert_eq!(e("12/"), "value has less than 2 hex digits");
        assert_eq!(e("12/080"), "value has odd number of hex digits");
        assert_eq!(e("12/0800%fffff"), "mask has too many hex digits");
        assert_eq!(e("12/0800%ff"), "mask has too few hex digits");
        assert_eq!(e("12/08zz"), "unexpected 'z' in value");
    }
}

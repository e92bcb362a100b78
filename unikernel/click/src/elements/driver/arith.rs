//! The Script element's helper read handlers that take parameters:
//! arithmetic (`add`, `sub`, `mul`, `div`, `idiv`, `mod`, `rem`, `neg`,
//! `abs`, `min`, `max`), comparisons (`eq`, `ne`, `lt`, `gt`, `le`, `ge`),
//! logic (`not`, `and`, `or`, `nand`, `nor`, `if`, `in`), and text
//! (`first`, `length`, `unquote`, `sprintf`), as in Click's Script.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::expand::MAX_STRING;
use super::text::{shift_word, unquote};
use crate::confparse::values::parse_i64;
use crate::confparse::FromArg;

/// A parsed number: Click's user-level scripts use integers when every
/// operand is one, else doubles.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Int(i64),
    Real(f64),
}

fn num(w: &str) -> Option<Num> {
    let w = w.trim();
    parse_i64(w).map(Num::Int).or_else(|| {
        w.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Num::Real)
    })
}

fn real(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Real(r) => r,
    }
}

fn show(n: Num) -> String {
    match n {
        Num::Int(i) => i.to_string(),
        Num::Real(r) if r == (r as i64) as f64 && r.abs() < 1e15 => (r as i64).to_string(),
        Num::Real(r) => format!("{r}"),
    }
}

fn words(args: &str) -> Vec<String> {
    let mut v = Vec::new();
    let mut rest = String::from(args);
    loop {
        let (w, r) = shift_word(&rest);
        if w.is_empty() {
            break;
        }
        v.push(w);
        rest = r;
    }
    v
}

fn numbers(args: &str) -> Result<Vec<Num>, String> {
    words(args)
        .iter()
        .map(|w| num(w).ok_or_else(|| "expected list of numbers".to_string()))
        .collect()
}

fn fold(args: &str, op: fn(Num, Num) -> Option<Num>) -> Result<String, String> {
    let ns = numbers(args)?;
    let mut it = ns.into_iter();
    let Some(mut acc) = it.next() else {
        return Ok("0".into());
    };
    for n in it {
        acc = op(acc, n).ok_or_else(|| "division by zero".to_string())?;
    }
    Ok(show(acc))
}

fn int_or_real(
    a: Num,
    b: Num,
    i: fn(i64, i64) -> Option<i64>,
    r: fn(f64, f64) -> f64,
) -> Option<Num> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => i(x, y)
            .map(Num::Int)
            .or(Some(Num::Real(r(x as f64, y as f64)))),
        _ => Some(Num::Real(r(real(a), real(b)))),
    }
}

fn boolean(w: &str) -> Option<bool> {
    bool::from_arg(w)
}

fn unparse_bool(b: bool) -> String {
    (if b { "true" } else { "false" }).into()
}

fn compare(args: &str, want: fn(core::cmp::Ordering) -> bool) -> Result<String, String> {
    let w = words(args);
    if w.len() != 2 {
        return Err("expected two numbers".into());
    }
    let ord = match (num(&w[0]), num(&w[1])) {
        (Some(Num::Int(a)), Some(Num::Int(b))) => a.cmp(&b),
        (Some(a), Some(b)) => real(a)
            .partial_cmp(&real(b))
            .unwrap_or(core::cmp::Ordering::Equal),
        _ => unquote(&w[0]).cmp(&unquote(&w[1])),
    };
    Ok(unparse_bool(want(ord)))
}

fn bools(args: &str) -> Result<Vec<bool>, String> {
    words(args)
        .iter()
        .map(|w| boolean(w).ok_or_else(|| "syntax error".to_string()))
        .collect()
}

/// Calls helper handler `name` with `args`; `None` if there is no such
/// helper.
pub fn call(name: &str, args: &str) -> Option<Result<String, String>> {
    use core::cmp::Ordering::*;
    Some(match name {
        "add" => fold(args, |a, b| {
            int_or_real(a, b, i64::checked_add, |x, y| x + y)
        }),
        "sub" => fold(args, |a, b| {
            int_or_real(a, b, i64::checked_sub, |x, y| x - y)
        }),
        "mul" => fold(args, |a, b| {
            int_or_real(a, b, i64::checked_mul, |x, y| x * y)
        }),
        "div" => fold(args, |a, b| {
            (real(b) != 0.0).then(|| Num::Real(real(a) / real(b)))
        }),
        "idiv" => fold(args, |a, b| {
            (real(b) != 0.0).then(|| Num::Int((real(a) / real(b)) as i64))
        }),
        "mod" | "rem" => fold(args, |a, b| match (a, b) {
            (Num::Int(_), Num::Int(0)) => None,
            (Num::Int(x), Num::Int(y)) => Some(Num::Int(x.wrapping_rem(y))),
            _ => None,
        }),
        "min" => fold(args, |a, b| Some(if real(b) < real(a) { b } else { a })),
        "max" => fold(args, |a, b| Some(if real(b) > real(a) { b } else { a })),
        "neg" | "abs" => match numbers(args).as_deref() {
            Ok([n]) => Ok(show(match (name, *n) {
                ("neg", Num::Int(i)) => Num::Int(i.wrapping_neg()),
                ("neg", Num::Real(r)) => Num::Real(-r),
                (_, Num::Int(i)) => Num::Int(i.wrapping_abs()),
                (_, Num::Real(r)) => Num::Real(if r < 0.0 { -r } else { r }),
            })),
            _ => Err("expected one number".into()),
        },
        "eq" => compare(args, |o| o == Equal),
        "ne" => compare(args, |o| o != Equal),
        "lt" => compare(args, |o| o == Less),
        "gt" => compare(args, |o| o == Greater),
        "le" => compare(args, |o| o != Greater),
        "ge" => compare(args, |o| o != Less),
        "not" => match boolean(args.trim()) {
            Some(b) => Ok(unparse_bool(!b)),
            None => Err("syntax error".into()),
        },
        "and" => bools(args).map(|v| unparse_bool(v.iter().all(|&b| b))),
        "or" => bools(args).map(|v| unparse_bool(v.iter().any(|&b| b))),
        "nand" => bools(args).map(|v| unparse_bool(!v.iter().all(|&b| b))),
        "nor" => bools(args).map(|v| unparse_bool(!v.iter().any(|&b| b))),
        "if" => {
            let w = words(args);
            match (w.first().and_then(|c| boolean(c)), w.len()) {
                (Some(c), 2 | 3) => Ok(if c {
                    w[1].clone()
                } else {
                    w.get(2).cloned().unwrap_or_default()
                }),
                _ => Err("syntax error".into()),
            }
        }
        "in" => {
            let w = words(args);
            match w.split_first() {
                Some((x, rest)) => Ok(unparse_bool(rest.contains(x))),
                None => Err("syntax error".into()),
            }
        }
        "first" => Ok(shift_word(args).0),
        "length" => Ok(unquote(args).len().to_string()),
        "unquote" => Ok(unquote(args)),
        "sprintf" => sprintf(args),
        _ => return None,
    })
}

/// `sprintf FORMAT ARGS...`: `%d %i %u %x %X %o %s %%` with flags `0 - + #
/// space`, width and precision (`*` takes them from the arguments).
fn sprintf(args: &str) -> Result<String, String> {
    let (fmt, rest) = shift_word(args);
    let fmt = unquote(&fmt);
    let mut vals = words(&rest).into_iter();
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let syntax = || "syntax error".to_string();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if "0#- +".contains(f) {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let mut number =
            |chars: &mut core::iter::Peekable<core::str::Chars>| -> Result<Option<usize>, String> {
                // A width or precision sizes the result: no larger than a
                // script's strings may be.
                let too_large = || format!("width or precision above {MAX_STRING}");
                if chars.peek() == Some(&'*') {
                    chars.next();
                    let v = vals.next().ok_or_else(syntax)?;
                    let n = parse_i64(&v).ok_or_else(syntax)?.max(0);
                    return match usize::try_from(n) {
                        Ok(n) if n <= MAX_STRING => Ok(Some(n)),
                        _ => Err(too_large()),
                    };
                }
                let mut n: Option<usize> = None;
                while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    let v = n.unwrap_or(0) * 10 + d as usize;
                    if v > MAX_STRING {
                        return Err(too_large());
                    }
                    n = Some(v);
                    chars.next();
                }
                Ok(n)
            };
        let width = number(&mut chars)?.unwrap_or(0);
        let prec = if chars.peek() == Some(&'.') {
            chars.next();
            Some(number(&mut chars)?.unwrap_or(0))
        } else {
            None
        };
        while matches!(chars.peek(), Some('h' | 'l' | 'L' | 'q')) {
            chars.next();
        }
        let conv = chars.next().ok_or_else(syntax)?;
        let body = match conv {
            '%' => "%".into(),
            'd' | 'i' => {
                let v = parse_i64(&vals.next().ok_or_else(syntax)?).ok_or_else(syntax)?;
                let mut s = v.unsigned_abs().to_string();
                if let Some(p) = prec.filter(|&p| p > s.len()) {
                    s = "0".repeat(p - s.len()) + &s;
                }
                let sign = if v < 0 {
                    "-"
                } else if flags.contains('+') {
                    "+"
                } else if flags.contains(' ') {
                    " "
                } else {
                    ""
                };
                pad_number(sign, &s, width, &flags, prec.is_some())
            }
            'u' | 'x' | 'X' | 'o' => {
                let v = parse_i64(&vals.next().ok_or_else(syntax)?).ok_or_else(syntax)? as u64;
                let mut s = match conv {
                    'u' => v.to_string(),
                    'x' => format!("{v:x}"),
                    'X' => format!("{v:X}"),
                    _ => format!("{v:o}"),
                };
                if let Some(p) = prec.filter(|&p| p > s.len()) {
                    s = "0".repeat(p - s.len()) + &s;
                }
                let prefix = match (flags.contains('#'), conv) {
                    (true, 'x') if v != 0 => "0x",
                    (true, 'X') if v != 0 => "0X",
                    (true, 'o') if !s.starts_with('0') => "0",
                    _ => "",
                };
                pad_number(prefix, &s, width, &flags, prec.is_some())
            }
            's' => {
                let mut s = unquote(&vals.next().ok_or_else(syntax)?);
                if let Some(p) = prec {
                    s = s.chars().take(p).collect();
                }
                pad(&s, width, flags.contains('-'), ' ')
            }
            _ => return Err(syntax()),
        };
        if out.len() + body.len() > MAX_STRING {
            return Err(format!("result longer than {MAX_STRING} bytes"));
        }
        out.push_str(&body);
    }
    if vals.next().is_some() {
        return Err(syntax());
    }
    Ok(out)
}

fn pad(s: &str, width: usize, left: bool, fill: char) -> String {
    let n = s.chars().count();
    if n >= width {
        return s.into();
    }
    let fillers: String = core::iter::repeat_n(fill, width - n).collect();
    if left {
        format!("{s}{fillers}")
    } else {
        format!("{fillers}{s}")
    }
}

fn pad_number(prefix: &str, digits: &str, width: usize, flags: &str, has_prec: bool) -> String {
    if flags.contains('0') && !flags.contains('-') && !has_prec {
        let inner = pad(digits, width.saturating_sub(prefix.len()), false, '0');
        format!("{prefix}{inner}")
    } else {
        pad(
            &format!("{prefix}{digits}"),
            width,
            flags.contains('-'),
            ' ',
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str, args: &str) -> String {
        call(name, args).unwrap().unwrap()
    }

    #[test]
    fn arithmetic() {
        assert_eq!(ok("add", "10 5 2"), "17");
        assert_eq!(ok("sub", "10 5 2"), "3");
        assert_eq!(ok("mul", "2 0x10"), "32");
        assert_eq!(ok("idiv", "7 2"), "3");
        assert_eq!(ok("div", "7 2"), "3.5");
        assert_eq!(ok("add", "1.5 1"), "2.5");
        assert_eq!(ok("mod", "7 3"), "1");
        assert_eq!(ok("neg", "4"), "-4");
        assert_eq!(ok("max", "3 9 2"), "9");
        assert!(call("add", "1 x").unwrap().is_err());
        assert!(call("idiv", "1 0").unwrap().is_err());
        assert!(call("nosuch", "").is_none());
    }

    #[test]
    fn comparisons_and_logic() {
        assert_eq!(ok("eq", "10 0xA"), "true");
        assert_eq!(ok("le", "9 8"), "false");
        assert_eq!(ok("eq", "10x 10x"), "true");
        assert_eq!(ok("lt", "abc abd"), "true");
        assert_eq!(ok("not", "false"), "true");
        assert_eq!(ok("and", "true true false"), "false");
        assert_eq!(ok("if", "true a b"), "a");
        assert_eq!(ok("in", "b a b c"), "true");
        assert!(call("eq", "1").unwrap().is_err());
    }

    #[test]
    fn text() {
        assert_eq!(ok("sprintf", "\"%05x\" 127"), "0007f");
        assert_eq!(ok("sprintf", "\"%-4d|%s|%%\" 7 \"a b\""), "7   |a b|%");
        assert_eq!(ok("sprintf", "\"%+d %3.2d\" 5 3"), "+5  03");
        assert_eq!(ok("first", "a b c"), "a");
        assert_eq!(ok("length", "\"abc\""), "3");
        assert!(call("sprintf", "\"%d\"").unwrap().is_err());
        assert_eq!(ok("sprintf", "\"%.5d\" 42"), "00042");
    }

    #[test]
    fn sprintf_cannot_size_a_huge_string() {
        for args in [
            "\"%4294967296d\" 1",
            "\"%99999999999999999999999d\" 1",
            "\"%*d\" 4294967296 1",
            "\"%.2000000d\" 1",
            "\"%.*s\" 9999999999 x",
        ] {
            let e = call("sprintf", args).unwrap().unwrap_err();
            assert!(e.contains("above"), "{args}: {e}");
        }
        let e = call("sprintf", "\"%1000000d%1000000d\" 1 2")
            .unwrap()
            .unwrap_err();
        assert!(e.contains("longer than"), "{e}");
        assert_eq!(ok("sprintf", "\"%1048576d\" 1").len(), MAX_STRING);
    }
}

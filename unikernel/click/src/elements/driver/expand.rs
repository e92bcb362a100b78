//! Run-time `$` substitution in script text (Click's `cp_expand`).
//!
//! `$name`, `${name}`, `$(handler args)`, and the one-character forms `$?`,
//! `$#`, `$$`. Nothing expands inside single quotes. A value substituted
//! inside double quotes is escaped so that unquoting gives it back
//! unchanged; with `quote_bare`, values outside quotes are wrapped in double
//! quotes for the same reason (`print` uses this so a value's own quotes
//! and spaces survive). Unknown names are left as written. The name inside
//! `$(...)` or `${...}` is itself expanded first.

use alloc::string::String;

use super::text::quote;

/// What a `$` reference looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    /// `$name`, `${name}`, `$?` ...
    Var,
    /// `$(handler args)`.
    Handler,
}

/// Nesting limit, as in Click.
const MAX_DEPTH: u32 = 10;

/// The longest string a script builds (a variable, an expanded line, a
/// `sprintf` result). Click sets none; without one a script that doubles
/// a string in a loop takes all of the guest's memory. A handler value a
/// script reads whole (a table dump) stays well under it.
pub const MAX_STRING: usize = 1 << 20;

/// Expands `$` references in `text`, asking `lookup` for each name;
/// `None` when the result would be longer than [`MAX_STRING`].
pub fn expand(
    text: &str,
    lookup: &mut dyn FnMut(&str, VarKind) -> Option<String>,
    quote_bare: bool,
) -> Option<String> {
    expand_at(text, lookup, quote_bare, 0)
}

/// Appends `s` to `out` unless that makes it longer than [`MAX_STRING`].
fn append(out: &mut String, s: &str) -> Option<()> {
    if out.len() + s.len() > MAX_STRING {
        return None;
    }
    out.push_str(s);
    Some(())
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn expand_at(
    text: &str,
    lookup: &mut dyn FnMut(&str, VarKind) -> Option<String>,
    quote_bare: bool,
    depth: u32,
) -> Option<String> {
    if !text.contains('$') {
        return Some(text.into());
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut quote_ch: u8 = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quote_ch == b'"' => i += 1,
            b'"' | b'\'' if quote_ch == 0 => quote_ch = b[i],
            c @ (b'"' | b'\'') if quote_ch == c => quote_ch = 0,
            b'/' if quote_ch == 0 && matches!(b.get(i + 1), Some(b'/') | Some(b'*')) => {
                i = skip_comment(b, i);
                continue;
            }
            b'$' if quote_ch != b'\'' && depth <= MAX_DEPTH && i + 1 < b.len() => {
                let Some((name, kind, end, nested)) = reference_at(b, i) else {
                    i += 1;
                    continue;
                };
                let name = &text[name.0..name.1];
                let name = if nested {
                    expand_at(name, lookup, false, depth + 1)?
                } else {
                    name.into()
                };
                match lookup(&name, kind) {
                    Some(v) => {
                        append(&mut out, &text[copied..i])?;
                        if quote_ch == b'"' || (quote_bare && quote_ch == 0) {
                            let q = quote(&v);
                            let inner = &q[1..q.len() - 1];
                            if quote_ch == b'"' {
                                append(&mut out, inner)?;
                            } else {
                                append(&mut out, &q)?;
                            }
                        } else {
                            append(&mut out, &v)?;
                        }
                        copied = end;
                    }
                    None if nested => {
                        // Keep the reference, with its name expanded.
                        append(&mut out, &text[copied..i])?;
                        append(&mut out, &text[i..i + 2])?;
                        append(&mut out, &name)?;
                        append(&mut out, &text[end - 1..end])?;
                        copied = end;
                    }
                    None => {}
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    append(&mut out, &text[copied.min(text.len())..])?;
    Some(out)
}

/// Index past the comment starting at `i`.
fn skip_comment(b: &[u8], i: usize) -> usize {
    if b[i + 1] == b'/' {
        match b[i..].iter().position(|&c| c == b'\n') {
            Some(p) => i + p + 1,
            None => b.len(),
        }
    } else {
        match b[i + 2..].windows(2).position(|w| w == b"*/") {
            Some(p) => i + 2 + p + 2,
            None => b.len(),
        }
    }
}

/// The reference starting at the `$` at `i`: name range, kind, index past
/// it, and whether the name holds a `$` of its own.
fn reference_at(b: &[u8], i: usize) -> Option<((usize, usize), VarKind, usize, bool)> {
    match b[i + 1] {
        b'{' => {
            let start = i + 2;
            let close = start + b[start..].iter().position(|&c| c == b'}')?;
            let nested = b[start..close].contains(&b'$');
            Some(((start, close), VarKind::Var, close + 1, nested))
        }
        b'(' => {
            let start = i + 2;
            let (mut level, mut q, mut nested) = (1, 0u8, false);
            let mut j = start;
            while j < b.len() && level > 0 {
                match b[j] {
                    b'(' if q == 0 => level += 1,
                    b')' if q == 0 => level -= 1,
                    c @ (b'"' | b'\'') => {
                        if q == 0 {
                            q = c
                        } else if q == c {
                            q = 0
                        }
                    }
                    b'\\' if q != b'\'' => j += 1,
                    b'$' if q != b'\'' => nested = true,
                    _ => {}
                }
                j += 1;
            }
            if level > 0 {
                return None;
            }
            Some(((start, j - 1), VarKind::Handler, j, nested))
        }
        c if is_name_byte(c) => {
            let start = i + 1;
            let end = start + b[start..].iter().take_while(|&&c| is_name_byte(c)).count();
            Some(((start, end), VarKind::Var, end, false))
        }
        b'?' | b'#' | b'$' => Some(((i + 1, i + 2), VarKind::Var, i + 2, false)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::unquote;
    use super::*;
    use alloc::string::ToString;

    fn vars(name: &str, kind: VarKind) -> Option<String> {
        match (name, kind) {
            ("x", VarKind::Var) => Some("1".into()),
            ("c.count", VarKind::Handler) => Some("71".into()),
            ("sp", VarKind::Var) => Some("a \"b\"".into()),
            ("add 1 1", VarKind::Handler) => Some("2".into()),
            _ => None,
        }
    }

    fn ex(s: &str, bare: bool) -> String {
        expand(s, &mut vars, bare).unwrap()
    }

    #[test]
    fn results_are_bounded() {
        let half = "y".repeat(MAX_STRING / 2);
        let mut big = |name: &str, _: VarKind| (name == "h").then(|| half.clone());
        assert_eq!(
            expand("$h$h", &mut big, false).map(|s| s.len()),
            Some(MAX_STRING)
        );
        assert_eq!(expand("$h$h$h", &mut big, false), None);
        assert_eq!(expand("x$h$h", &mut big, false), None);
        // Quoting grows a value too; the bound holds after it.
        let quotes = "\"".repeat(MAX_STRING / 2 + 1);
        let mut q = |_: &str, _: VarKind| Some(quotes.clone());
        assert_eq!(expand("\"$v\"", &mut q, false), None);
    }

    #[test]
    fn plain_names_and_handlers() {
        assert_eq!(ex("x=$x ${x}", false), "x=1 1");
        assert_eq!(ex("$(c.count)", false), "71");
        assert_eq!(ex("$(add $x $x)", false), "2");
        assert_eq!(ex("$nope $(no.h)", false), "$nope $(no.h)");
        assert_eq!(ex("'$x'", false), "'$x'");
        assert_eq!(ex("no dollars", false), "no dollars");
    }

    #[test]
    fn print_style_quoting_survives_unquote() {
        let t = ex("\"src.count=\"$(c.count)", true);
        assert_eq!(t, "\"src.count=\"\"71\"");
        assert_eq!(unquote(&t), "src.count=71");
        assert_eq!(unquote(&ex("\"v: $sp\"", true)), "v: a \"b\"");
        assert_eq!(unquote(&ex("$sp", true)), "a \"b\"".to_string());
    }

    #[test]
    fn unterminated_references_are_left_alone() {
        assert_eq!(ex("$(c.count", false), "$(c.count");
        assert_eq!(ex("${x", false), "${x");
        assert_eq!(ex("cost $", false), "cost $");
    }
}

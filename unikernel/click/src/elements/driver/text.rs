//! Quoting helpers the scripts need (Click's `cp_shift_spacevec`,
//! `cp_quote`, `cp_unquote`).
//!
//! Interim copies until the language work's exact versions land in
//! `confparse`; then this module only re-exports them.

use alloc::string::String;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn skip_space(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    i
}

/// Splits off the first space-separated word (quotes group); returns the
/// word and the rest with leading space removed.
pub(crate) fn shift_word(s: &str) -> (String, String) {
    let b = s.as_bytes();
    let start = skip_space(b, 0);
    let mut i = start;
    while i < b.len() && !is_space(b[i]) {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'\'' => {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    let i = i.min(b.len());
    let rest = skip_space(b, i);
    (s[start..i].into(), s[rest..].trim_end().into())
}

/// Quotes `s` so that [`unquote`] gives it back.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' | '"' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Removes one level of quoting: `"..."` with C escapes, `'...'` literally.
pub(crate) fn unquote(s: &str) -> String {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut q: Option<char> = None;
    while let Some(c) = chars.next() {
        match (q, c) {
            (None, '"') | (None, '\'') => q = Some(c),
            (Some(x), c) if c == x => q = None,
            (Some('"'), '\\') => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            },
            (_, c) => out.push(c),
        }
    }
    out
}

//! Splitting configuration strings into arguments and words (Click's
//! `cp_argvec`, `cp_spacevec`, `cp_unquote`, `cp_uncomment`, `cp_quote`).
//!
//! Everything works on bytes and never indexes out of bounds: configuration
//! strings come straight from users. Cuts happen only at ASCII characters,
//! so results of valid UTF-8 input are valid UTF-8; escapes that produce
//! other bytes are handled by [`unquote`] (see there) and [`unquote_bytes`].

use alloc::string::String;
use alloc::vec::Vec;

/// C `isspace` in the "C" locale.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Byte at `i`, or 0 past the end (0 never starts anything special).
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// True when a `//` or `/*` comment starts at `i`.
pub(crate) fn comment_at(s: &[u8], i: usize) -> bool {
    at(s, i) == b'/' && matches!(at(s, i + 1), b'/' | b'*')
}

/// Index just past the comment starting at `i` (the newline ends and belongs
/// to a `//` comment; an unterminated `/*` runs to the end).
pub(crate) fn skip_comment(s: &[u8], i: usize) -> usize {
    let end = s.len();
    let mut j = i + 2;
    if at(s, i + 1) == b'/' {
        while j < end && s[j] != b'\n' && s[j] != b'\r' {
            j += 1;
        }
        if at(s, j) == b'\r' && at(s, j + 1) == b'\n' {
            j += 1;
        }
        (j + 1).min(end)
    } else {
        while j + 1 < end && !(s[j] == b'*' && s[j + 1] == b'/') {
            j += 1;
        }
        (j + 2).min(end)
    }
}

/// Index past a backslash escape at `i` (`\<...>` blobs may hold comments).
fn skip_backslash(s: &[u8], i: usize) -> usize {
    let end = s.len();
    if i + 1 >= end {
        return end;
    }
    match s[i + 1] {
        b'<' => {
            let mut j = i + 2;
            while j < end {
                if s[j] == b'>' {
                    return j + 1;
                } else if comment_at(s, j) {
                    j = skip_comment(s, j);
                } else {
                    j += 1;
                }
            }
            end
        }
        b'\r' if at(s, i + 2) == b'\n' => i + 3,
        _ => i + 2,
    }
}

/// Index past the double-quoted string starting at `i` (or the end).
fn skip_double_quote(s: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j = skip_backslash(s, j),
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    s.len()
}

/// Index past the single-quoted string starting at `i` (or the end).
fn skip_single_quote(s: &[u8], i: usize) -> usize {
    match s
        .get(i + 1..)
        .and_then(|r| r.iter().position(|&b| b == b'\''))
    {
        Some(p) => i + 1 + p + 1,
        None => s.len(),
    }
}

/// Index of the first byte at or after `i` that is neither space nor comment.
pub(crate) fn skip_comment_space(s: &[u8], mut i: usize) -> usize {
    while i < s.len() {
        if is_space(s[i]) {
            i += 1;
        } else if comment_at(s, i) {
            i = skip_comment(s, i);
        } else {
            break;
        }
    }
    i
}

/// Bytes to a string: exact when valid UTF-8, else one char per byte
/// (Latin-1), so no byte is lost.
pub(crate) fn bytes_to_string(v: Vec<u8>) -> String {
    match String::from_utf8(v) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    }
}

/// Click's `partial_uncomment`: from `start`, skip leading space and
/// comments, keep text, turn each run of space around a comment into one
/// space, drop trailing space. With `stop_at_comma`, stops at the first
/// comma outside quotes and returns its index (else the end).
///
/// `segs`, when given, receives each copied run as (offset in the output,
/// offset in `s`), to map output offsets back to the source.
fn partial_uncomment(
    s: &[u8],
    start: usize,
    stop_at_comma: bool,
    mut segs: Option<&mut Vec<(usize, usize)>>,
) -> (Vec<u8>, usize) {
    let end = s.len();
    let mut i = skip_comment_space(s, start);
    let mut out = Vec::new();
    let (mut left, mut right) = (i, i);
    let mut closed = false;
    while i < end {
        let c = s[i];
        if is_space(c) {
            i += 1;
        } else if comment_at(s, i) {
            i = skip_comment(s, i);
            closed = true;
        } else if c == b',' && stop_at_comma {
            break;
        } else {
            if closed {
                if let Some(v) = segs.as_deref_mut() {
                    v.push((out.len(), left));
                }
                out.extend_from_slice(s.get(left..right).unwrap_or_default());
                out.push(b' ');
                left = i;
                closed = false;
            }
            i = match c {
                b'\'' => skip_single_quote(s, i),
                b'"' => skip_double_quote(s, i),
                b'\\' if at(s, i + 1) == b'<' => skip_backslash(s, i),
                _ => i + 1,
            };
            right = i;
        }
    }
    if let Some(v) = segs {
        v.push((out.len(), left));
    }
    out.extend_from_slice(s.get(left..right).unwrap_or_default());
    (out, i)
}

/// Removes comments and surrounding space (Click's `cp_uncomment`): a comment
/// and the space around it become one space; quoted text is kept as is.
pub fn uncomment(s: &str) -> String {
    bytes_to_string(partial_uncomment(s.as_bytes(), 0, false, None).0)
}

/// Splits a configuration string at top-level commas (Click's `cp_argvec`).
///
/// Commas inside `"..."`, `'...'` and `\<...>` do not split; parentheses do
/// not protect commas. Each argument is [`uncomment`]ed. A final empty
/// argument is dropped, so `"1, "` gives `["1"]` and `""` or `"  "` give none.
pub fn split_args(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut args = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let (arg, p) = partial_uncomment(b, pos, true, None);
        pos = p;
        if !arg.is_empty() || pos < b.len() {
            args.push(bytes_to_string(arg));
        }
        pos += 1;
    }
    args
}

/// Where byte `offset` of argument `index` of `s` (as [`split_args`] gives
/// it) is in `s`; `None` when there is no such argument.
pub fn arg_source_offset(s: &str, index: usize, offset: usize) -> Option<usize> {
    let b = s.as_bytes();
    let (mut pos, mut n) = (0, 0);
    while pos < b.len() {
        let mut segs = Vec::new();
        let (arg, p) = partial_uncomment(b, pos, true, Some(&mut segs));
        pos = p;
        if !arg.is_empty() || pos < b.len() {
            if n == index {
                let &(out, src) = segs.iter().rev().find(|&&(out, _)| out <= offset)?;
                return Some((src + offset - out).min(s.len()));
            }
            n += 1;
        }
        pos += 1;
    }
    None
}

/// Index past one space-separated item starting at `i` (Click's
/// `skip_spacevec_item`): quotes and `\<...>` group, a comment ends it.
fn skip_word(s: &[u8], mut i: usize) -> usize {
    while i < s.len() {
        match s[i] {
            b'/' if comment_at(s, i) => return i,
            b'"' => i = skip_double_quote(s, i),
            b'\'' => i = skip_single_quote(s, i),
            b'\\' if at(s, i + 1) == b'<' => i = skip_backslash(s, i),
            c if is_space(c) => return i,
            _ => i += 1,
        }
    }
    i
}

/// Splits an argument into space-separated words (Click's `cp_spacevec`).
/// Quoted parts stay in the word as written (`a"b c"` is one word);
/// comments separate words and are dropped.
pub fn split_words(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut words = Vec::new();
    let mut i = skip_comment_space(b, 0);
    while i < b.len() {
        let j = skip_word(b, i);
        words.push(bytes_to_string(b.get(i..j).unwrap_or_default().to_vec()));
        i = skip_comment_space(b, j);
    }
    words
}

/// Splits off the first word (Click's `cp_shift_spacevec`): returns the
/// word and the rest, with the space and comments after the word removed.
pub fn shift_word(s: &str) -> (String, String) {
    let b = s.as_bytes();
    let i = skip_comment_space(b, 0);
    let j = skip_word(b, i);
    let k = skip_comment_space(b, j);
    let word = bytes_to_string(b.get(i..j).unwrap_or_default().to_vec());
    let rest = bytes_to_string(b.get(k..).unwrap_or_default().to_vec());
    (word, rest)
}

fn hex_val(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

/// Expands the backslash escape at `i` into `out`; returns the index after
/// it (Click's `cp_process_backslash`).
fn process_backslash(s: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
    let end = s.len();
    if i + 1 >= end {
        out.push(b'\\');
        return end;
    }
    let simple = |b: u8| -> Option<u8> {
        Some(match b {
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            _ => return None,
        })
    };
    let c = s[i + 1];
    match c {
        b'\r' => {
            if at(s, i + 2) == b'\n' {
                i + 3
            } else {
                i + 2
            }
        }
        b'\n' => i + 2,
        b'0'..=b'7' => {
            let mut v: u32 = 0;
            let mut j = i + 1;
            while j < end && j < i + 4 && (b'0'..=b'7').contains(&s[j]) {
                v = v * 8 + u32::from(s[j] - b'0');
                j += 1;
            }
            out.push(v as u8);
            j
        }
        b'x' => {
            let mut v: u32 = 0;
            let mut j = i + 2;
            while let Some(d) = s.get(j).and_then(|&b| hex_val(b)) {
                v = v.wrapping_mul(16).wrapping_add(d);
                j += 1;
            }
            out.push(v as u8);
            j
        }
        b'<' => {
            let (mut v, mut nd) = (0u32, 0);
            let mut j = i + 2;
            while j < end {
                let b = s[j];
                if b == b'>' {
                    return j + 1;
                } else if let Some(d) = hex_val(b) {
                    v = v * 16 + d;
                    nd += 1;
                    if nd == 2 {
                        out.push(v as u8);
                        v = 0;
                        nd = 0;
                    }
                    j += 1;
                } else if comment_at(s, j) {
                    j = skip_comment(s, j);
                } else {
                    // Space, or junk Click also ignores.
                    j += 1;
                }
            }
            end
        }
        _ => {
            out.push(simple(c).unwrap_or(c));
            i + 2
        }
    }
}

/// Removes one level of quoting, as raw bytes (Click's `cp_unquote`).
///
/// First [`uncomment`]s; then `"..."` loses its quotes and has C escapes
/// expanded (`\n`, `\t`, octal `\123`, `\xHH`, `\<hex bytes>`, `\` + any
/// other char = that char), `'...'` loses its quotes and nothing else, and
/// `\<...>` is also expanded outside quotes. Adjacent parts concatenate.
pub fn unquote_bytes(s: &str) -> Vec<u8> {
    let x = partial_uncomment(s.as_bytes(), 0, false, None).0;
    let mut out = Vec::with_capacity(x.len());
    let mut start = 0;
    let mut quote = 0u8;
    let mut i = 0;
    while i < x.len() {
        match x[i] {
            q @ (b'"' | b'\'') => {
                if quote == 0 || quote == q {
                    out.extend_from_slice(x.get(start..i).unwrap_or_default());
                    start = i + 1;
                    quote = if quote == 0 { q } else { 0 };
                }
                i += 1;
            }
            b'\\' if i + 1 < x.len() && (quote == b'"' || (quote == 0 && x[i + 1] == b'<')) => {
                out.extend_from_slice(x.get(start..i).unwrap_or_default());
                start = process_backslash(&x, i, &mut out);
                i = start;
            }
            _ => i += 1,
        }
    }
    out.extend_from_slice(x.get(start..).unwrap_or_default());
    out
}

/// Removes one level of quoting (Click's `cp_unquote`), see
/// [`unquote_bytes`]. When escapes produce bytes that are not UTF-8, each
/// byte becomes the char with that code (Latin-1); binary users should call
/// [`unquote_bytes`].
pub fn unquote(s: &str) -> String {
    bytes_to_string(unquote_bytes(s))
}

/// Quotes `s` so that [`unquote`] gives it back (Click's `cp_quote`):
/// `"..."` with `\\`, `\"`, `\$`, `\t`, `\r`, `\n` and octal escapes.
pub fn quote(s: &str) -> String {
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
            c if (c as u32) < 32 || c as u32 == 127 => {
                let u = c as u32;
                out.push('\\');
                for shift in [6, 3, 0] {
                    out.push(char::from(b'0' + ((u >> shift) & 7) as u8));
                }
            }
            // Non-ASCII text stays readable; Click escapes its bytes, which
            // unquote to the same string.
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// True if `s` is a Click "word": non-empty, printable ASCII, no quotes,
/// backslashes or commas (Click's `cp_is_word`).
pub fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| (33..127).contains(&b) && !matches!(b, b'"' | b'\'' | b'\\' | b','))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| String::from(*s)).collect()
    }

    #[test]
    fn arg_offsets_map_back_to_the_source() {
        let src = "a, /* c */ bb  cc, // x\n  dd ee";
        let args = split_args(src);
        assert_eq!(args, v(&["a", "bb  cc", "dd ee"]));
        let at = |i, off| arg_source_offset(src, i, off).map(|o| &src[o..]);
        assert_eq!(at(0, 0), Some("a, /* c */ bb  cc, // x\n  dd ee"));
        assert_eq!(at(1, 4), Some("cc, // x\n  dd ee"));
        assert_eq!(at(2, 3), Some("ee"));
        assert_eq!(at(3, 0), None);
        // A comment inside an argument becomes one space.
        let src = "x /* y */ z";
        assert_eq!(split_args(src), v(&["x z"]));
        assert_eq!(arg_source_offset(src, 0, 2).map(|o| &src[o..]), Some("z"));
    }

    #[test]
    fn args_basic() {
        assert_eq!(split_args("a, b, c"), v(&["a", "b", "c"]));
        assert_eq!(split_args("  a /*?*/ b,  c, "), v(&["a b", "c"]));
        assert_eq!(split_args("\"x, y\" // ?"), v(&["\"x, y\""]));
        assert_eq!(split_args("1"), v(&["1"]));
    }

    #[test]
    fn args_empty_and_trailing() {
        assert!(split_args("").is_empty());
        assert!(split_args("   \n\t ").is_empty());
        assert!(split_args("/* only a comment */").is_empty());
        assert_eq!(split_args("1, "), v(&["1"]));
        assert_eq!(split_args("1,"), v(&["1"]));
        assert_eq!(split_args(","), v(&[""]));
        assert_eq!(split_args(",,"), v(&["", ""]));
        assert_eq!(split_args("a,,b"), v(&["a", "", "b"]));
        assert_eq!(split_args(", a"), v(&["", "a"]));
    }

    #[test]
    fn args_parens_do_not_protect_commas() {
        assert_eq!(split_args("f(a, b)"), v(&["f(a", "b)"]));
    }

    #[test]
    fn args_quotes_protect_commas() {
        assert_eq!(split_args("'a,b', \"c,d\""), v(&["'a,b'", "\"c,d\""]));
        assert_eq!(split_args("\"a\\\",b\", c"), v(&["\"a\\\",b\"", "c"]));
        assert_eq!(split_args("\\<2c 2c>, x"), v(&["\\<2c 2c>", "x"]));
        // An unterminated quote swallows the rest.
        assert_eq!(split_args("\"a, b"), v(&["\"a, b"]));
    }

    #[test]
    fn args_comments() {
        assert_eq!(split_args("a // c, d\n, b"), v(&["a", "b"]));
        assert_eq!(split_args("a /* , */ b"), v(&["a b"]));
        assert_eq!(split_args("a  b"), v(&["a  b"]));
        assert_eq!(split_args("a/**/b"), v(&["a b"]));
        assert_eq!(split_args("x /* unterminated"), v(&["x"]));
        assert_eq!(split_args("'/* not */', b"), v(&["'/* not */'", "b"]));
    }

    #[test]
    fn args_multiline() {
        assert_eq!(
            split_args("12/0800,            // IPv4\n   -"),
            v(&["12/0800", "-"])
        );
    }

    #[test]
    fn words() {
        assert_eq!(split_words("a  b, c"), v(&["a", "b,", "c"]));
        assert_eq!(split_words("  'a /*?*/ b'c"), v(&["'a /*?*/ b'c"]));
        assert_eq!(split_words("a\"b c\"d e"), v(&["a\"b c\"d", "e"]));
        assert_eq!(split_words("a/*x*/b // y"), v(&["a", "b"]));
        assert_eq!(split_words("\\<01 02> z"), v(&["\\<01 02>", "z"]));
        assert!(split_words("   ").is_empty());
        assert!(split_words("").is_empty());
        assert_eq!(split_words("a/b"), v(&["a/b"]));
    }

    #[test]
    fn shift() {
        assert_eq!(
            shift_word("$a 1 2"),
            (String::from("$a"), String::from("1 2"))
        );
        assert_eq!(shift_word("  x"), (String::from("x"), String::new()));
        assert_eq!(shift_word(""), (String::new(), String::new()));
        assert_eq!(
            shift_word("a /* c */ b"),
            (String::from("a"), String::from("b"))
        );
    }

    #[test]
    fn unquote_double() {
        assert_eq!(
            unquote("\"\\n\" abc /* 123 */ '/* def */'"),
            "\n abc /* def */"
        );
        assert_eq!(unquote("\"a b\""), "a b");
        assert_eq!(unquote("a\"b\"c"), "abc");
        assert_eq!(unquote("\"\\t\\r\\a\\b\\f\\v\""), "\t\r\x07\x08\x0c\x0b");
        assert_eq!(unquote("\"\\\\ \\\" \\$ \\, \\'\""), "\\ \" $ , '");
        assert_eq!(unquote("\"\\101\\60\""), "A0");
        assert_eq!(unquote("\"\\1010\""), "A0");
        assert_eq!(unquote("\"\\x41\\x4a\""), "AJ");
        assert_eq!(unquote("\"a\\\nb\""), "ab");
        assert_eq!(unquote("\"unterminated"), "unterminated");
        assert_eq!(unquote("\"trailing\\"), "trailing\\");
    }

    #[test]
    fn unquote_single_and_plain() {
        assert_eq!(unquote("'a\\nb'"), "a\\nb");
        assert_eq!(unquote("'x''y'"), "xy");
        assert_eq!(unquote("'\"'"), "\"");
        assert_eq!(unquote("plain\\n"), "plain\\n");
        assert_eq!(unquote("  spaced  "), "spaced");
        assert_eq!(unquote(""), "");
    }

    #[test]
    fn unquote_blobs() {
        assert_eq!(unquote("\\<48656c6C 6f 2 /* And finally */ 1>"), "Hello!");
        assert_eq!(unquote("\"\\<41 42>c\""), "ABc");
        assert_eq!(unquote_bytes("\\<00ff>"), vec![0u8, 0xff]);
        assert_eq!(unquote_bytes("\"\\xff\\0\""), vec![0xffu8, 0]);
        assert_eq!(unquote("\"\\xe9\""), "\u{e9}");
        assert_eq!(unquote("\\<41"), "A");
        assert_eq!(unquote("'\\<41>'"), "\\<41>");
    }

    #[test]
    fn unquote_utf8_kept() {
        assert_eq!(unquote("\"héllo\""), "héllo");
        assert_eq!(unquote("\"\\é\""), "é");
    }

    #[test]
    fn uncomment_examples() {
        assert_eq!(uncomment("  a   b  "), "a   b");
        assert_eq!(uncomment("  a /* Comment */       b  "), "a b");
        assert_eq!(uncomment("  \" /*???  */ \"  "), "\" /*???  */ \"");
        assert_eq!(uncomment("a // tail"), "a");
    }

    #[test]
    fn quote_roundtrip() {
        for s in ["", "a b", "\\\"$", "tab\there\nnl\r", "\x01\x7f", "é,x"] {
            assert_eq!(unquote(&quote(s)), s, "{s:?}");
        }
        assert_eq!(quote("a$b"), "\"a\\$b\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("\x01"), "\"\\001\"");
    }

    #[test]
    fn words_predicate() {
        assert!(is_word("abc!~"));
        assert!(!is_word(""));
        assert!(!is_word("a b"));
        assert!(!is_word("a,b"));
        assert!(!is_word("\"a\""));
        assert!(!is_word("a\\b"));
        assert!(!is_word("é"));
    }

    #[test]
    fn never_panics_on_edges() {
        for s in [
            "\\", "\"\\", "/", "/*", "//", "\\<", "\"\\<", "'", "\"", "\\x", "\\\r", "a,\\",
        ] {
            let _ = split_args(s);
            let _ = split_words(s);
            let _ = unquote(s);
            let _ = shift_word(s);
        }
    }
}

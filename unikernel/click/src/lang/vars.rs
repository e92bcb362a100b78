//! Parameters and `define`d variables, and their substitution into
//! configuration strings (Click's `VariableEnvironment` and `cp_expand`).
//!
//! Substituted forms: `$x`, `${x}`, `${x-default}`, `${x[i]}` (the i-th
//! space-separated word, from 0), also inside `"..."` (where the value is
//! escaped to stay inside the quotes) but not inside `'...'` or comments.
//! Unknown variables are left verbatim, so `$(handler)` references for
//! `Script`/`DriverManager` survive. Values are expanded again when used, so
//! definitions may refer to each other in any order (at most 10 levels).

use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::confparse::split::{comment_at, is_space, quote, shift_word, skip_comment_space};

/// Deepest nesting of variable references followed (Click's limit).
const MAX_REF_DEPTH: u32 = 10;

/// Longest result of one substitution; past it expansion stops.
pub const MAX_EXPANSION: usize = 1 << 16;

/// One level of variables: a file's `define`s, or a compound instance's
/// parameters and `define`s, linked to the enclosing level.
#[derive(Debug, Default)]
pub struct Env {
    vars: Vec<(String, String)>,
    parent: Option<Rc<Env>>,
    depth: usize,
}

/// Marks an expansion that grew past [`MAX_EXPANSION`].
#[derive(Debug, Default)]
pub struct Overflow(pub bool);

impl Env {
    /// An empty level at `depth` (0 = file scope) under `parent`.
    pub fn new(parent: Option<Rc<Env>>, depth: usize) -> Self {
        Env {
            vars: Vec::new(),
            parent,
            depth,
        }
    }

    /// Defines `name`; an existing definition at this level is replaced
    /// only if `replace`. Returns false if it already existed.
    pub fn define(&mut self, name: &str, value: &str, replace: bool) -> bool {
        if let Some(slot) = self.vars.iter_mut().find(|(n, _)| n == name) {
            if replace {
                slot.1 = value.to_string();
            }
            return false;
        }
        self.vars.push((name.to_string(), value.to_string()));
        true
    }

    /// The value of `name`, searching enclosing levels.
    pub fn lookup(&self, name: &str) -> Option<&str> {
        let mut e = self;
        loop {
            if let Some((_, v)) = e.vars.iter().find(|(n, _)| n == name) {
                return Some(v);
            }
            e = e.parent.as_deref()?;
        }
    }

    /// The nearest enclosing level shallower than `depth` (lexical scope
    /// of a compound class defined at nesting `depth`).
    pub fn parent_of(self: &Rc<Self>, depth: usize) -> Option<Rc<Env>> {
        let mut e = Some(self.clone());
        while let Some(v) = e {
            if v.depth < depth {
                return Some(v);
            }
            e = v.parent.clone();
        }
        None
    }
}

/// Substitutes variables in `config` (Click's `cp_expand`).
pub fn expand(config: &str, env: &Env, overflow: &mut Overflow) -> String {
    expand_at(config, env, 0, overflow)
}

fn expand_at(config: &str, env: &Env, depth: u32, overflow: &mut Overflow) -> String {
    if !config.contains('$') || overflow.0 {
        return config.to_string();
    }
    let s = config.as_bytes();
    let end = s.len();
    let text = |a: usize, b: usize| config.get(a..b).unwrap_or("");
    let mut out = String::new();
    let mut uninterpolated = 0;
    let mut quote_ch = 0u8;
    let mut i = 0;
    while i < end {
        match s[i] {
            b'\\' if i + 1 < end && quote_ch == b'"' => i += 1,
            q @ (b'\'' | b'"') => {
                if quote_ch == 0 {
                    quote_ch = q;
                } else if quote_ch == q {
                    quote_ch = 0;
                }
            }
            b'/' if quote_ch == 0 && comment_at(s, i) => {
                i = skip_comment_space(s, i);
                continue;
            }
            b'$' if i + 1 < end && quote_ch != b'\'' && depth <= MAX_REF_DEPTH => {
                let before = i;
                let Some(r) = parse_ref(s, i) else {
                    if matches!(s[i + 1], b'{' | b'(') {
                        // Unterminated `${` / `$(`: the rest stays as is.
                        break;
                    }
                    i += 1;
                    continue;
                };
                out.push_str(text(uninterpolated, before));
                let mut vname = text(r.name.0, r.name.1).to_string();
                if r.nested {
                    vname = expand_at(&vname, env, depth + 1, overflow);
                }
                match lookup_ref(&vname, r.kind, env, depth, overflow) {
                    Some(value) => {
                        if quote_ch == b'"' {
                            let q = quote(&value);
                            out.push_str(q.get(1..q.len().saturating_sub(1)).unwrap_or(""));
                        } else {
                            out.push_str(&value);
                        }
                        uninterpolated = r.end;
                    }
                    None if r.nested => {
                        out.push('$');
                        out.push(s[i + 1] as char);
                        out.push_str(&vname);
                        out.push(if r.kind == b'(' { ')' } else { '}' });
                        uninterpolated = r.end;
                    }
                    None => uninterpolated = before,
                }
                if out.len() > MAX_EXPANSION {
                    overflow.0 = true;
                    return out;
                }
                i = r.end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if uninterpolated == 0 && out.is_empty() {
        return config.to_string();
    }
    out.push_str(text(uninterpolated, end));
    out
}

/// A variable reference found in a string.
struct Ref {
    /// `b'a'` for `$x`, `b'{'` for `${...}`, `b'('` for `$(...)`.
    kind: u8,
    /// Byte range of the name (the braces' contents).
    name: (usize, usize),
    /// The name itself contains `$` and is expanded first.
    nested: bool,
    /// Index after the reference.
    end: usize,
}

fn parse_ref(s: &[u8], i: usize) -> Option<Ref> {
    let end = s.len();
    let c = *s.get(i + 1)?;
    match c {
        b'{' => {
            let start = i + 2;
            let close = start + s.get(start..)?.iter().position(|&b| b == b'}')?;
            let nested = s.get(start..close)?.contains(&b'$');
            Some(Ref {
                kind: b'{',
                name: (start, close),
                nested,
                end: close + 1,
            })
        }
        b'(' => {
            let start = i + 2;
            let (mut level, mut q, mut nested) = (1u32, 0u8, false);
            let mut j = start;
            while j < end && level > 0 {
                match s[j] {
                    b'(' if q == 0 => level += 1,
                    b')' if q == 0 => level -= 1,
                    b'"' | b'\'' => {
                        if q == 0 {
                            q = s[j];
                        } else if q == s[j] {
                            q = 0;
                        }
                    }
                    b'\\' if j + 1 < end && q != b'\'' => j += 1,
                    b'$' if q != b'\'' => nested = true,
                    _ => {}
                }
                j += 1;
            }
            if level != 0 {
                return None;
            }
            Some(Ref {
                kind: b'(',
                name: (start, j - 1),
                nested,
                end: j,
            })
        }
        c if c.is_ascii_alphanumeric() || c == b'_' => {
            let mut j = i + 1;
            while j < end && (s[j].is_ascii_alphanumeric() || s[j] == b'_') {
                j += 1;
            }
            Some(Ref {
                kind: b'a',
                name: (i + 1, j),
                nested: false,
                end: j,
            })
        }
        b'?' | b'#' | b'$' => Some(Ref {
            kind: b'a',
            name: (i + 1, i + 2),
            nested: false,
            end: i + 2,
        }),
        _ => None,
    }
}

/// The text a reference stands for (Click's `VariableEnvironment::expand`),
/// or `None` to leave it as written.
fn lookup_ref(
    var: &str,
    kind: u8,
    env: &Env,
    depth: u32,
    overflow: &mut Overflow,
) -> Option<String> {
    let (mut name, mut index, mut default) = (var, None, None);
    if kind == b'{' {
        let b = var.as_bytes();
        let skip = |mut k: usize| {
            while k < b.len() && is_space(b[k]) {
                k += 1;
            }
            k
        };
        let n0 = skip(0);
        let mut k = n0;
        while k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'_') {
            k += 1;
        }
        name = var.get(n0..k).unwrap_or("");
        k = skip(k);
        if b.get(k) == Some(&b'[') {
            let d0 = skip(k + 1);
            let mut d = d0;
            while d < b.len() && b[d].is_ascii_digit() {
                d += 1;
            }
            if d > d0 && b.get(d) == Some(&b']') {
                index = var.get(d0..d).and_then(|x| x.parse::<usize>().ok());
                k = skip(d + 1);
            }
        }
        if b.get(k) == Some(&b'-') {
            default = var.get(k + 1..);
        }
    }
    if let Some(v) = env.lookup(name) {
        let value = expand_at(v, env, depth + 1, overflow);
        let Some(mut n) = index else {
            return Some(value);
        };
        let (mut rest, mut word) = (value, String::new());
        loop {
            if rest.is_empty() && word.is_empty() {
                break;
            }
            let (w, r) = shift_word(&rest);
            word = w;
            rest = r;
            if n == 0 {
                break;
            }
            n -= 1;
        }
        if n > 0 {
            word.clear();
        }
        Some(word)
    } else {
        default.map(|d| expand_at(d, env, depth + 1, overflow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        let mut e = Env::new(None, 0);
        for (n, v) in vars {
            e.define(n, v, false);
        }
        e
    }

    fn x(s: &str, e: &Env) -> String {
        expand(s, e, &mut Overflow::default())
    }

    #[test]
    fn simple_forms() {
        let e = env(&[("a", "1"), ("OUT", "out"), ("TAG", "web")]);
        assert_eq!(x("$a", &e), "1");
        assert_eq!(x("x$a y", &e), "x1 y");
        assert_eq!(x("${a}b", &e), "1b");
        assert_eq!(x("$OUT/g_${TAG}_lan.pcap", &e), "out/g_web_lan.pcap");
        assert_eq!(x("$ab", &e), "$ab");
        assert_eq!(x("no vars", &e), "no vars");
    }

    #[test]
    fn defaults_and_words() {
        let e = env(&[("w", "zero one  two"), ("d", "D")]);
        assert_eq!(x("${MISSING-none}", &e), "none");
        assert_eq!(x("${w-x}", &e), "zero one  two");
        assert_eq!(x("${MISSING-$d}", &e), "D");
        assert_eq!(x("${MISSING-}", &e), "");
        assert_eq!(x("${w[0]}", &e), "zero");
        assert_eq!(x("${w[2]}", &e), "two");
        assert_eq!(x("${w[3]}", &e), "");
        assert_eq!(x("${ w [1] }", &e), "one");
    }

    #[test]
    fn undefined_left_verbatim() {
        let e = env(&[("a", "1")]);
        assert_eq!(
            x("$(c.count) $zz ${zz} $? $$", &e),
            "$(c.count) $zz ${zz} $? $$"
        );
        assert_eq!(
            x("\"x \"$(c_ip.count)\" y\"", &e),
            "\"x \"$(c_ip.count)\" y\""
        );
        assert_eq!(x("${unterminated $a", &e), "${unterminated $a");
        assert_eq!(x("$", &e), "$");
        assert_eq!(x("a$", &e), "a$");
        assert_eq!(x("$-", &e), "$-");
    }

    #[test]
    fn nested_names() {
        let e = env(&[("n", "a"), ("a", "A"), ("x", "1")]);
        assert_eq!(x("${$n}", &e), "A");
        assert_eq!(x("${z$x}", &e), "${z1}");
        assert_eq!(x("$(f $x)", &e), "$(f 1)");
    }

    #[test]
    fn quotes_and_comments() {
        let e = env(&[("a", "x\"y"), ("b", "B")]);
        assert_eq!(x("'$b'", &e), "'$b'");
        assert_eq!(x("\"$b\"", &e), "\"B\"");
        assert_eq!(x("\"$a\"", &e), "\"x\\\"y\"");
        assert_eq!(x("$a", &e), "x\"y");
        assert_eq!(x("// $b\n$b", &e), "// $b\nB");
        assert_eq!(x("/* $b */ $b", &e), "/* $b */ B");
        assert_eq!(x("\"\\$b\"", &e), "\"\\$b\"");
    }

    #[test]
    fn definitions_refer_to_each_other_in_any_order() {
        let e = env(&[("a", "$b/x"), ("b", "$c"), ("c", "C")]);
        assert_eq!(x("$a", &e), "C/x");
    }

    #[test]
    fn self_reference_is_bounded() {
        let e = env(&[("a", "<$a>")]);
        let r = x("$a", &e);
        assert!(r.starts_with("<<<<<<<<<<"));
        assert!(r.ends_with(">>>>>>>>>>"));
        assert!(r.contains("$a"));
    }

    #[test]
    fn blowup_is_capped() {
        let ten = "$b$b$b$b$b$b$b$b$b$b$b$b$b$b$b$b";
        let e = env(&[
            ("a", ten),
            ("b", &ten.replace('b', "c")),
            ("c", &ten.replace('b', "d")),
            ("d", &ten.replace('b', "e")),
            ("e", "0123456789abcdef"),
        ]);
        let mut of = Overflow::default();
        let r = expand("$a", &e, &mut of);
        assert!(of.0 || r.len() <= MAX_EXPANSION);
        let e = env(&[
            ("a", ten),
            ("b", &ten.replace('b', "c")),
            ("c", &ten.replace('b', "d")),
            ("d", &ten.replace('b', "e")),
            ("e", &ten.replace('b', "f")),
            ("f", "0123456789abcdef0123456789abcdef"),
        ]);
        let mut of = Overflow::default();
        let r = expand("$a", &e, &mut of);
        assert!(of.0);
        assert!(r.len() <= 12 * MAX_EXPANSION);
    }

    #[test]
    fn scoping() {
        let mut top = Env::new(None, 0);
        top.define("a", "top", false);
        let top = Rc::new(top);
        let mut inner = Env::new(Some(top.clone()), 1);
        inner.define("b", "inner", false);
        let inner = Rc::new(inner);
        assert_eq!(inner.lookup("a"), Some("top"));
        assert_eq!(inner.lookup("b"), Some("inner"));
        assert_eq!(top.lookup("b"), None);
        assert_eq!(inner.parent_of(1).map(|e| e.depth), Some(0));
        assert_eq!(inner.parent_of(2).map(|e| e.depth), Some(1));
        assert!(top.parent_of(0).is_none());
        let mut e = Env::new(None, 0);
        assert!(e.define("x", "1", false));
        assert!(!e.define("x", "2", false));
        assert_eq!(e.lookup("x"), Some("1"));
        assert!(!e.define("x", "3", true));
        assert_eq!(e.lookup("x"), Some("3"));
    }
}

//! Flattening (the router-building half of Click's `lib/lexer.cc`):
//! compound instances pick an overload, are renamed `outer/inner` and
//! expanded recursively; variables are substituted; connections through
//! group and compound ports are spliced into direct ones.
//!
//! Element order matches Click's: the file's elements first, then each
//! compound's contents appended as it is expanded. Connections are sorted
//! and deduplicated as Click's router does (by destination, then source).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::build::{
    deanonymize, port_signature, CompoundClass, ElemKind, Scope, ScopeConn, TunnelKind, TypeRef,
    MAX_CONNECTIONS,
};
use super::flat::{Connection, ElementDecl, FlatConfig};
use super::vars::{expand, Env, Overflow};
use crate::confparse::split::split_args;
use crate::error::{Error, Span};

/// Most elements after expansion.
pub const MAX_ELEMENTS: usize = 100_000;

/// Deepest compound nesting during expansion.
pub const MAX_EXPANSION_DEPTH: usize = 100;

/// Longest chain of group/compound ports one connection may pass through.
const MAX_SPLICE_DEPTH: usize = 1000;

#[derive(Clone, Copy, Debug)]
enum Role {
    /// A group or expanded compound instance; its `input`, `output`.
    Outer { input: usize, output: usize },
    /// The `input` inside the instance `outer`.
    Input { outer: usize },
    /// The `output` inside the instance `outer`.
    Output { outer: usize },
}

#[derive(Clone, Debug)]
enum Kind {
    Real(TypeRef),
    Tunnel(Option<Role>),
    /// Failed to expand (reported).
    Dead,
}

struct GElem {
    name: String,
    anon: bool,
    kind: Kind,
    config: String,
    span: Span,
    config_span: Span,
}

struct Expander {
    elems: Vec<GElem>,
    map: BTreeMap<String, usize>,
    conns: Vec<ScopeConn>,
    nin: Vec<usize>,
    nout: Vec<usize>,
    errors: Vec<Error>,
    too_big: bool,
    /// A substitution overflowed: later ones are skipped (the result is an
    /// error anyway, and each overflow costs time).
    overflowed: bool,
}

/// Expands the file scope into a flat configuration.
pub fn flatten(top: Scope, overrides: &[(String, String)]) -> (FlatConfig, Vec<Error>) {
    let mut x = Expander {
        elems: Vec::new(),
        map: top.map,
        conns: Vec::new(),
        nin: Vec::new(),
        nout: Vec::new(),
        errors: Vec::new(),
        too_big: false,
        overflowed: false,
    };
    let mut kinds = Vec::with_capacity(top.elems.len());
    for (i, e) in top.elems.iter().enumerate() {
        kinds.push(match &e.kind {
            ElemKind::Type(t) => Kind::Real(t.clone()),
            ElemKind::Tunnel(TunnelKind::GroupOuter) => Kind::Tunnel(Some(Role::Outer {
                input: i + 1,
                output: i + 2,
            })),
            ElemKind::Tunnel(TunnelKind::GroupInput) => Kind::Tunnel(Some(Role::Input {
                outer: i.saturating_sub(1),
            })),
            ElemKind::Tunnel(TunnelKind::GroupOutput) => Kind::Tunnel(Some(Role::Output {
                outer: i.saturating_sub(2),
            })),
            ElemKind::Tunnel(TunnelKind::Pseudo) => Kind::Tunnel(None),
        });
    }
    for (e, kind) in top.elems.into_iter().zip(kinds) {
        x.elems.push(GElem {
            name: e.name,
            anon: e.anon,
            kind,
            config: e.config,
            span: e.span,
            config_span: e.config_span,
        });
        x.nin.push(e.nin);
        x.nout.push(e.nout);
    }
    x.conns = top.conns;

    let mut env = Env::new(None, 0);
    for (n, v) in &top.vars {
        env.define(n, v, false);
    }
    for (n, v) in overrides {
        env.define(n.strip_prefix('$').unwrap_or(n), v, true);
    }
    let env = Rc::new(env);
    let n0 = x.elems.len();
    for i in 0..n0 {
        x.expand_element(i, &env, 0);
    }
    let conns = x.splice();
    x.finish(conns)
}

impl Expander {
    fn err(&mut self, span: &Span, msg: impl Into<String>) {
        self.errors.push(Error::new(span.clone(), msg));
    }

    fn push(&mut self, e: GElem) -> Option<usize> {
        if self.elems.len() >= MAX_ELEMENTS {
            if !self.too_big {
                self.too_big = true;
                let span = e.span.clone();
                self.err(&span, format!("configuration too large: more than {MAX_ELEMENTS} elements after compound expansion"));
            }
            return None;
        }
        let i = self.elems.len();
        self.map.insert(e.name.clone(), i);
        self.elems.push(e);
        self.nin.push(0);
        self.nout.push(0);
        Some(i)
    }

    fn connect(&mut self, c: ScopeConn) {
        if self.conns.len() >= MAX_CONNECTIONS {
            if !self.too_big {
                self.too_big = true;
                self.err(
                    &c.span,
                    format!("too many connections (more than {MAX_CONNECTIONS})"),
                );
            }
            return;
        }
        if let Some(n) = self.nin.get_mut(c.to) {
            *n = (*n).max(c.tport + 1);
        }
        if let Some(n) = self.nout.get_mut(c.from) {
            *n = (*n).max(c.fport + 1);
        }
        self.conns.push(c);
    }

    fn expand_element(&mut self, i: usize, env: &Rc<Env>, depth: usize) {
        if self.too_big {
            return;
        }
        if self.elems[i].anon {
            let name = deanonymize(&self.elems[i].name, |c| self.map.contains_key(c));
            self.map.insert(name.clone(), i);
            self.elems[i].name = name;
            self.elems[i].anon = false;
        }
        let ty = match &self.elems[i].kind {
            Kind::Real(TypeRef::Error) | Kind::Tunnel(_) | Kind::Dead => return,
            Kind::Real(t) => t.clone(),
        };
        let mut of = Overflow(self.overflowed);
        let config = expand(&self.elems[i].config, env, &mut of);
        if of.0 && !self.overflowed {
            self.overflowed = true;
            let span = self.elems[i].config_span.clone();
            self.err(&span, "variable expansion too large");
        }
        self.elems[i].config = config;
        let TypeRef::Compound(c) = ty else { return };
        let mut args = split_args(&self.elems[i].config);
        match self.resolve(i, &c, &mut args) {
            None => self.elems[i].kind = Kind::Dead,
            Some(TypeRef::Compound(found)) => self.expand_into(i, &found, args, env, depth),
            Some(t) => self.elems[i].kind = Kind::Real(t),
        }
    }

    /// Click's `Compound::resolve`: the first alternative whose port
    /// counts and arguments fit the use; else (with one alternative) the
    /// one whose arguments fit, leaving port errors to splicing.
    fn resolve(
        &mut self,
        i: usize,
        first: &Rc<CompoundClass>,
        args: &mut Vec<String>,
    ) -> Option<TypeRef> {
        let (nin, nout) = (self.nin[i], self.nout[i]);
        let mut ct = first.clone();
        let mut closest: Option<(Rc<CompoundClass>, Vec<String>)> = None;
        let mut count = 0;
        loop {
            count += 1;
            let assigned = assign_arguments(&ct.vars[..ct.nformals.min(ct.vars.len())], args);
            if let Some(values) = assigned {
                if ct.ninputs == nin && ct.noutputs == nout {
                    *args = values;
                    return Some(TypeRef::Compound(ct));
                }
                closest = Some((ct.clone(), values));
            }
            match &ct.next {
                Some(TypeRef::Compound(n)) => ct = n.clone(),
                Some(t) => return Some(t.clone()),
                None => break,
            }
        }
        if count != 1 || closest.is_none() {
            let mut msg = format!(
                "no match for '{}{}'; candidates are:",
                first.display_name(),
                port_signature(Some(args.len()), nin, nout)
            );
            let mut ct = Some(first.clone());
            while let Some(c) = ct {
                msg.push_str(&format!(" '{}' at {};", c.signature(), c.span));
                ct = match &c.next {
                    Some(TypeRef::Compound(n)) => Some(n.clone()),
                    _ => None,
                };
            }
            msg.pop();
            let span = self.elems[i].span.clone();
            self.err(&span, msg);
        }
        let (c, values) = closest?;
        *args = values;
        Some(TypeRef::Compound(c))
    }

    /// Three tunnels for `name`; reuses `outer` if given.
    fn tunnels(&mut self, name: &str, outer: Option<usize>, span: &Span) -> Option<[usize; 3]> {
        let mut idx = [0usize; 3];
        for (k, suffix) in ["", "/input", "/output"].into_iter().enumerate() {
            if k == 0 {
                if let Some(o) = outer {
                    idx[0] = o;
                    continue;
                }
            }
            let n = format!("{name}{suffix}");
            if let Some(&old) = self.map.get(&n) {
                let old_span = self.elems[old].span.clone();
                self.err(span, format!("redeclaration of element '{n}'"));
                self.err(&old_span, format!("element '{n}' previously declared here"));
                return None;
            }
            idx[k] = self.push(GElem {
                name: n,
                anon: false,
                kind: Kind::Tunnel(None),
                config: String::new(),
                span: span.clone(),
                config_span: span.clone(),
            })?;
        }
        self.elems[idx[0]].kind = Kind::Tunnel(Some(Role::Outer {
            input: idx[1],
            output: idx[2],
        }));
        self.elems[idx[1]].kind = Kind::Tunnel(Some(Role::Input { outer: idx[0] }));
        self.elems[idx[2]].kind = Kind::Tunnel(Some(Role::Output { outer: idx[0] }));
        Some(idx)
    }

    /// Click's `Compound::expand_into`.
    fn expand_into(
        &mut self,
        i: usize,
        c: &Rc<CompoundClass>,
        args: Vec<String>,
        env: &Rc<Env>,
        depth: usize,
    ) {
        let span = self.elems[i].span.clone();
        if depth >= MAX_EXPANSION_DEPTH {
            self.err(
                &span,
                format!(
                    "compound elements nested too deeply (more than {MAX_EXPANSION_DEPTH} levels)"
                ),
            );
            self.elems[i].kind = Kind::Dead;
            return;
        }
        let ename = self.elems[i].name.clone();
        let Some([_, inp, outp]) = self.tunnels(&ename, Some(i), &span) else {
            self.elems[i].kind = Kind::Dead;
            return;
        };

        let mut new_env = Env::new(env.parent_of(c.depth), c.depth);
        for ((name, _), value) in c.vars.iter().zip(args.iter()).take(c.nformals) {
            new_env.define(name, value, true);
        }
        let mut of = Overflow(self.overflowed);
        for (name, value) in c.vars.iter().skip(c.nformals) {
            let v = expand(value, &new_env, &mut of);
            new_env.define(name, &v, true);
        }
        let new_env = Rc::new(new_env);

        let mut map: Vec<Option<usize>> = alloc::vec![Some(inp), Some(outp)];
        let mut k = 2;
        while k < c.elems.len() {
            let ce = &c.elems[k];
            let cname = format!("{ename}/{}", ce.name);
            if let Some(&old) = self.map.get(&cname) {
                let old_span = self.elems[old].span.clone();
                self.err(&span, format!("redeclaration of element '{cname}'"));
                self.err(
                    &old_span,
                    format!("element '{cname}' previously declared here"),
                );
                let width = if matches!(ce.kind, ElemKind::Tunnel(TunnelKind::GroupOuter)) {
                    3
                } else {
                    1
                };
                map.extend(core::iter::repeat_n(None, width));
                k += width;
                continue;
            }
            match &ce.kind {
                ElemKind::Tunnel(TunnelKind::GroupOuter) => {
                    match self.tunnels(&cname, None, &ce.span) {
                        Some(t) => map.extend(t.iter().map(|&x| Some(x))),
                        None => map.extend([None, None, None]),
                    }
                    k += 3;
                }
                ElemKind::Tunnel(_) => {
                    map.push(None);
                    k += 1;
                }
                ElemKind::Type(t) => {
                    let config = expand(&ce.config, &new_env, &mut of);
                    let idx = self.push(GElem {
                        name: cname,
                        anon: false,
                        kind: Kind::Real(t.clone()),
                        config,
                        span: ce.span.clone(),
                        config_span: ce.config_span.clone(),
                    });
                    map.push(idx);
                    k += 1;
                }
            }
            if self.too_big {
                return;
            }
        }
        if of.0 && !self.overflowed {
            self.overflowed = true;
            self.err(&span, "variable expansion too large");
        }
        for cc in &c.conns {
            if let (Some(Some(from)), Some(Some(to))) = (map.get(cc.from), map.get(cc.to)) {
                self.connect(ScopeConn {
                    from: *from,
                    fport: cc.fport,
                    to: *to,
                    tport: cc.tport,
                    span: cc.span.clone(),
                });
            }
        }
        for j in map.into_iter().skip(2).flatten() {
            self.expand_element(j, &new_env, depth + 1);
        }
    }

    /// Replaces connections to and from tunnels by the connections they
    /// stand for (Click's tunnel ends).
    fn splice(&mut self) -> Vec<(usize, usize, usize, usize, Span)> {
        let mut into: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        let mut out_of: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for (ci, c) in self.conns.iter().enumerate() {
            into.entry((c.to, c.tport)).or_default().push(ci);
            out_of.entry((c.from, c.fport)).or_default().push(ci);
        }
        let mut sp = Splicer {
            x: self,
            into,
            out_of,
            memo: BTreeMap::new(),
            deep: false,
        };
        let mut result = Vec::new();
        let n = sp.x.conns.len();
        for ci in 0..n {
            let c = sp.x.conns[ci].clone();
            let sources = sp.ends(c.from, c.fport, true, 0);
            let sinks = sp.ends(c.to, c.tport, false, 0);
            for &(f, fp) in &sources {
                for &(t, tp) in &sinks {
                    result.push((f, fp, t, tp, c.span.clone()));
                    if result.len() > MAX_CONNECTIONS {
                        let span = c.span.clone();
                        sp.x.err(
                            &span,
                            format!("too many connections (more than {MAX_CONNECTIONS})"),
                        );
                        return result;
                    }
                }
            }
        }
        result
    }

    fn finish(
        self,
        mut conns: Vec<(usize, usize, usize, usize, Span)>,
    ) -> (FlatConfig, Vec<Error>) {
        let mut flat = FlatConfig::default();
        let mut index = alloc::vec![usize::MAX; self.elems.len()];
        for (i, e) in self.elems.into_iter().enumerate() {
            if let Kind::Real(TypeRef::Primitive(class)) = e.kind {
                index[i] = flat.elements.len();
                flat.elements.push(ElementDecl {
                    name: e.name,
                    class: class.to_string(),
                    config: e.config,
                    span: e.span,
                    config_span: e.config_span,
                });
            }
        }
        conns.retain(|c| {
            index.get(c.0).is_some_and(|&x| x != usize::MAX)
                && index.get(c.2).is_some_and(|&x| x != usize::MAX)
        });
        for c in &mut conns {
            c.0 = index[c.0];
            c.2 = index[c.2];
        }
        conns.sort_by_key(|c| (c.2, c.3, c.0, c.1));
        conns.dedup_by_key(|c| (c.2, c.3, c.0, c.1));
        flat.connections = conns
            .into_iter()
            .map(|(from, from_port, to, to_port, span)| Connection {
                from,
                from_port,
                to,
                to_port,
                span,
            })
            .collect();
        (flat, self.errors)
    }
}

/// Real (element, port) ends a tunnel end stands for; `None` while being
/// computed (a cycle yields nothing more).
type Memo = BTreeMap<(usize, usize, bool), Option<Vec<(usize, usize)>>>;

struct Splicer<'x> {
    x: &'x mut Expander,
    into: BTreeMap<(usize, usize), Vec<usize>>,
    out_of: BTreeMap<(usize, usize), Vec<usize>>,
    memo: Memo,
    deep: bool,
}

impl Splicer<'_> {
    /// The real ports that element `idx` port `port` stands for, as the
    /// source (`src`) or destination of a connection.
    fn ends(&mut self, idx: usize, port: usize, src: bool, depth: usize) -> Vec<(usize, usize)> {
        let role = match self.x.elems.get(idx).map(|e| &e.kind) {
            Some(Kind::Real(TypeRef::Primitive(_))) => return alloc::vec![(idx, port)],
            Some(Kind::Tunnel(Some(r))) => *r,
            _ => return Vec::new(),
        };
        if let Some(m) = self.memo.get(&(idx, port, src)) {
            return m.clone().unwrap_or_default();
        }
        if depth > MAX_SPLICE_DEPTH {
            if !self.deep {
                self.deep = true;
                let span = self.x.elems[idx].span.clone();
                self.x.err(
                    &span,
                    "connection passes through too many element groups or compound ports",
                );
            }
            return Vec::new();
        }
        self.memo.insert((idx, port, src), None);
        // Where to look, and what it means if nothing is there.
        let (lookup_idx, outer, inward, missing) = match (role, src) {
            (Role::Outer { output, .. }, true) => (output, idx, true, "has no output"),
            (Role::Input { outer }, true) => (outer, outer, true, "input ? unused"),
            (Role::Outer { input, .. }, false) => (input, idx, false, "has no input"),
            (Role::Output { outer }, false) => (outer, outer, false, "output ? unused"),
            _ => {
                self.memo.insert((idx, port, src), Some(Vec::new()));
                return Vec::new();
            }
        };
        let conns = if inward {
            self.into.get(&(lookup_idx, port))
        } else {
            self.out_of.get(&(lookup_idx, port))
        };
        let conns: Vec<usize> = conns.cloned().unwrap_or_default();
        let mut result = Vec::new();
        for ci in &conns {
            let c = self.x.conns[*ci].clone();
            let r = if inward {
                self.ends(c.from, c.fport, true, depth + 1)
            } else {
                self.ends(c.to, c.tport, false, depth + 1)
            };
            result.extend(r);
        }
        if conns.is_empty() {
            let name = self.x.elems[outer].name.clone();
            let span = self.x.elems[outer].span.clone();
            let msg = match missing.split_once('?') {
                Some((a, b)) => format!("'{name}' {a}{port}{b}"),
                None => format!("'{name}' {missing} {port}"),
            };
            self.x.err(&span, msg);
        }
        self.memo.insert((idx, port, src), Some(result.clone()));
        result
    }
}

/// Click's `cp_assign_arguments` for compound formals `(name, keyword)`:
/// positional formals take the leading arguments, keyword formals take
/// `KEYWORD value` arguments (all are required), `__REST__` takes what is
/// left. `None` if the arguments do not fit.
pub fn assign_arguments(formals: &[(String, String)], args: &[String]) -> Option<Vec<String>> {
    let kinds: Vec<&str> = formals.iter().map(|(_, k)| k.as_str()).collect();
    if kinds.last().is_none_or(|k| k.is_empty()) {
        return (args.len() == kinds.len()).then(|| args.to_vec());
    }
    let rest = kinds.last() == Some(&"__REST__");
    let nvalues = kinds.len() - usize::from(rest);
    let npositional = kinds[..nvalues].iter().take_while(|k| k.is_empty()).count();
    let mut values: Vec<Option<String>> = alloc::vec![None; nvalues];
    let mut used = alloc::vec![false; args.len()];
    let (mut npos, mut any_keywords, mut bad_keyword) = (0usize, false, false);
    for (i, a) in args.iter().enumerate() {
        if npos >= npositional {
            let slot = keyword_of(a).and_then(|(kw, value)| {
                kinds[npositional..nvalues]
                    .iter()
                    .position(|k| *k == kw)
                    .map(|p| (p + npositional, value))
            });
            if let Some((p, value)) = slot {
                values[p] = Some(value.to_string());
                used[i] = true;
                any_keywords = true;
                continue;
            } else if any_keywords {
                bad_keyword |= !rest;
                continue;
            }
        }
        if npos < npositional {
            used[i] = true;
            values[npos] = Some(a.clone());
        }
        npos += 1;
    }
    if bad_keyword || (npos > npositional && !rest) {
        return None;
    }
    let mut out: Vec<String> = values.into_iter().collect::<Option<Vec<_>>>()?;
    if rest {
        let leftover: Vec<&str> = args
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(a, _)| a.as_str())
            .collect();
        out.push(leftover.join(", "));
    }
    Some(out)
}

/// Click's `cp_keyword`: a leading `[A-Za-z0-9_.:?!]+` word ended by space
/// or the end, and the rest after the space.
fn keyword_of(arg: &str) -> Option<(&str, &str)> {
    let end = arg
        .find(|c: char| c.is_ascii_whitespace() || c == '\x0b' || c == '\x0c')
        .unwrap_or(arg.len());
    let kw = &arg[..end];
    if kw.is_empty()
        || !kw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'?' | b'!'))
    {
        return None;
    }
    Some((
        kw,
        arg[end..]
            .trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b' || c == '\x0c'),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn f(x: &[(&str, &str)]) -> Vec<(String, String)> {
        x.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }
    fn a(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn positional_only_needs_exact_count() {
        let fm = f(&[("a", ""), ("b", "")]);
        assert_eq!(assign_arguments(&fm, &a(&["1", "2"])), Some(a(&["1", "2"])));
        assert_eq!(assign_arguments(&fm, &a(&["1"])), None);
        assert_eq!(assign_arguments(&fm, &a(&["1", "2", "3"])), None);
        assert_eq!(assign_arguments(&[], &a(&[])), Some(vec![]));
        assert_eq!(assign_arguments(&[], &a(&["x"])), None);
    }

    #[test]
    fn keywords() {
        let fm = f(&[("port", ""), ("proto", "PROTO")]);
        assert_eq!(
            assign_arguments(&fm, &a(&["80", "PROTO tcp"])),
            Some(a(&["80", "tcp"]))
        );
        assert_eq!(assign_arguments(&fm, &a(&["PROTO tcp", "80"])), None);
        assert_eq!(
            assign_arguments(&fm, &a(&["80"])),
            None,
            "keywords are mandatory"
        );
        assert_eq!(assign_arguments(&fm, &a(&["80", "PROTO tcp", "X 1"])), None);
        assert_eq!(assign_arguments(&fm, &a(&["80", "81"])), None);
        assert_eq!(
            assign_arguments(&fm, &a(&["80", "PROTO"])),
            Some(a(&["80", ""]))
        );
    }

    #[test]
    fn rest() {
        let fm = f(&[("first", ""), ("rest", "__REST__")]);
        assert_eq!(
            assign_arguments(&fm, &a(&["udp", "icmp", "-"])),
            Some(a(&["udp", "icmp, -"]))
        );
        assert_eq!(assign_arguments(&fm, &a(&["udp"])), Some(a(&["udp", ""])));
        assert_eq!(assign_arguments(&fm, &a(&[])), None);
        let fm = f(&[("k", "K"), ("rest", "__REST__")]);
        assert_eq!(
            assign_arguments(&fm, &a(&["K 1", "x y", "z"])),
            Some(a(&["1", "x y, z"]))
        );
    }

    #[test]
    fn keyword_syntax() {
        assert_eq!(keyword_of("RATE 10"), Some(("RATE", "10")));
        assert_eq!(keyword_of("A.b:c?! x"), Some(("A.b:c?!", "x")));
        assert_eq!(keyword_of("a-b 1"), None);
        assert_eq!(keyword_of(""), None);
        assert_eq!(keyword_of("X"), Some(("X", "")));
    }
}

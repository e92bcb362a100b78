//! Name resolution in source order (the parse-time half of Click's
//! `lib/lexer.cc`): element declarations and references, anonymous names,
//! connections with port lists, element groups, compound class definitions
//! with overloading and lexical scoping, `define` and `require`.
//!
//! The result is the file's [`Scope`]: its elements (compound instances not
//! yet expanded), connections and variables; [`super::expand`] flattens it.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::ast::*;
use crate::confparse::split::{is_word, shift_word, split_args, split_words, unquote};
use crate::error::{Error, Span};
use crate::suggest::closest;

/// Most connections one scope may hold.
pub const MAX_CONNECTIONS: usize = 1 << 20;

/// A resolved element class.
#[derive(Clone, Debug)]
pub enum TypeRef {
    /// A class of the element library.
    Primitive(Rc<str>),
    /// A compound class (first alternative of its overload chain).
    Compound(Rc<CompoundClass>),
    /// An unknown or broken class (already reported).
    Error,
}

/// The pseudo-elements that connections pass through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelKind {
    /// A compound's `input` / `output` (elements 0 and 1 of its scope).
    Pseudo,
    /// The element standing for a group (followed by its input and output).
    GroupOuter,
    /// A group's `input`.
    GroupInput,
    /// A group's `output`.
    GroupOutput,
}

/// What a scope element is.
#[derive(Clone, Debug)]
pub enum ElemKind {
    /// A pseudo-element, spliced away at expansion.
    Tunnel(TunnelKind),
    /// An element of a class.
    Type(TypeRef),
}

/// One element of a scope.
#[derive(Clone, Debug)]
pub struct ScopeElem {
    /// Its name (anonymous ones: `Class@N`, made unique at the end).
    pub name: String,
    /// Still carries a provisional anonymous name.
    pub anon: bool,
    /// What it is.
    pub kind: ElemKind,
    /// Configuration string, variables not yet substituted.
    pub config: String,
    /// Where it was declared.
    pub span: Span,
    /// Where its configuration starts.
    pub config_span: Span,
    /// Input ports used by connections in this scope.
    pub nin: usize,
    /// Output ports used by connections in this scope.
    pub nout: usize,
}

/// One connection between scope elements.
#[derive(Clone, Debug)]
pub struct ScopeConn {
    /// Upstream element index.
    pub from: usize,
    /// Its output port.
    pub fport: usize,
    /// Downstream element index.
    pub to: usize,
    /// Its input port.
    pub tport: usize,
    /// The arrow.
    pub span: Span,
}

/// A file body or compound alternative being resolved.
#[derive(Debug, Default)]
pub struct Scope {
    /// Elements in declaration order.
    pub elems: Vec<ScopeElem>,
    /// Names to indices (provisional anonymous names under `;Name`).
    pub map: BTreeMap<String, usize>,
    /// Connections in the order made.
    pub conns: Vec<ScopeConn>,
    /// Elements before the first one counted in anonymous names.
    anon_offset: usize,
    /// Formal parameters first, then `define`s: (name, keyword or value).
    pub vars: Vec<(String, String)>,
    /// How many of `vars` are formals.
    pub nformals: usize,
    order_error: bool,
    /// Compound nesting depth (file = 0).
    pub depth: usize,
    too_many_conns: bool,
}

/// One compound class alternative, resolved.
#[derive(Debug)]
pub struct CompoundClass {
    /// Class name (`""` for anonymous compounds).
    pub name: String,
    /// Where the alternative starts.
    pub span: Span,
    /// Formals then defines, as in [`Scope::vars`].
    pub vars: Vec<(String, String)>,
    /// How many of `vars` are formals.
    pub nformals: usize,
    /// Elements; 0 and 1 are `input` and `output`.
    pub elems: Vec<ScopeElem>,
    /// Connections between them.
    pub conns: Vec<ScopeConn>,
    /// Inputs of the class (used ports of `input`).
    pub ninputs: usize,
    /// Outputs of the class.
    pub noutputs: usize,
    /// Nesting depth of the class body (a file-level class = 1).
    pub depth: usize,
    /// Next overload alternative, or the extended class after `|| ...`.
    pub next: Option<TypeRef>,
}

impl CompoundClass {
    /// Printable name.
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            "<anonymous>"
        } else {
            &self.name
        }
    }

    /// `Name(<arg>, KW, ...)[1 input, 2 outputs]` for error messages.
    pub fn signature(&self) -> String {
        let mut s = self.display_name().to_string();
        if self.nformals > 0 {
            let f: Vec<&str> = self.vars[..self.nformals]
                .iter()
                .map(|(_, k)| match k.as_str() {
                    "" => "<arg>",
                    "__REST__" => "...",
                    k => k,
                })
                .collect();
            s.push('(');
            s.push_str(&f.join(", "));
            s.push(')');
        }
        s.push_str(&port_signature(None, self.ninputs, self.noutputs));
        s
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `[N arguments, I inputs, O outputs]`.
pub fn port_signature(nargs: Option<usize>, nin: usize, nout: usize) -> String {
    let args = match nargs {
        Some(n) if n > 0 => format!("{}, ", plural(n, "argument", "arguments")),
        _ => String::new(),
    };
    format!(
        "[{args}{}, {}]",
        plural(nin, "input", "inputs"),
        plural(nout, "output", "outputs")
    )
}

impl Scope {
    fn compound(depth: usize, span: &Span) -> Scope {
        let mut s = Scope {
            anon_offset: 2,
            depth,
            ..Scope::default()
        };
        for name in ["input", "output"] {
            s.map.insert(name.to_string(), s.elems.len());
            s.elems.push(ScopeElem {
                name: name.to_string(),
                anon: false,
                kind: ElemKind::Tunnel(TunnelKind::Pseudo),
                config: String::new(),
                span: span.clone(),
                config_span: span.clone(),
                nin: 0,
                nout: 0,
            });
        }
        s
    }

    fn is_tunnel(&self, i: usize) -> bool {
        matches!(
            self.elems.get(i).map(|e| &e.kind),
            Some(ElemKind::Tunnel(_))
        )
    }
}

/// Gives provisional anonymous names their final form: `Class@N`, or the
/// next free `Class@M` (M > N) if a declared element already has that name.
pub fn deanonymize(name: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(name) {
        return name.to_string();
    }
    let at = name.rfind('@').unwrap_or(name.len());
    let prefix = name.get(..at + 1).unwrap_or(name);
    let digits: String = name
        .get(at + 1..)
        .unwrap_or("")
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let mut n: u64 = digits.parse().unwrap_or(0);
    loop {
        n += 1;
        let cand = format!("{prefix}{n}");
        if !taken(&cand) {
            return cand;
        }
    }
}

/// An element of a segment before it is entered into the scope (Click's
/// `ElementState`).
struct Pending {
    name: String,
    /// The class the name itself denotes, if any.
    ty: Option<TypeRef>,
    /// The class after `::`.
    decl: Option<TypeRef>,
    bare: bool,
    config: Option<ConfigStr>,
    span: Span,
    fixed: Option<usize>,
    ins: PortList,
    outs: PortList,
}

/// A port list in a connection; no ports means port 0.
#[derive(Clone, Debug, Default)]
struct PortList {
    ports: Vec<u32>,
    expandable: bool,
    span: Option<Span>,
}

impl PortList {
    fn from_ast(p: &Option<Ports>) -> Self {
        match p {
            Some(p) => PortList {
                ports: p.ports.clone(),
                expandable: p.expandable,
                span: Some(p.span.clone()),
            },
            None => PortList::default(),
        }
    }
    fn implied(n: usize) -> Self {
        PortList {
            ports: (0..n as u32).collect(),
            expandable: false,
            span: None,
        }
    }
    /// Click's count: listed ports, plus one for an open end.
    fn n(&self) -> usize {
        self.ports.len() + usize::from(self.expandable)
    }
}

struct Entry {
    idx: usize,
    ins: PortList,
    outs: PortList,
    span: Span,
}

/// Proposes a known class for a name that is not one.
pub type Suggest<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// The resolver state.
pub struct Builder<'a> {
    is_class: &'a dyn Fn(&str) -> bool,
    /// Set for [`super::parse_all`]: unknown classes and undeclared
    /// elements become elements of a class by that name (reported, and
    /// left for the router to skip) so the rest of the graph is checked;
    /// the function suggests a known class for an unknown name.
    keep_unknown: Option<&'a Suggest<'a>>,
    /// Visible user classes, latest last (lexical scoping by truncation).
    types: Vec<(String, TypeRef)>,
    top: Scope,
    stack: Vec<Scope>,
    /// Errors found.
    pub errors: Vec<Error>,
    /// `require` arguments.
    pub requirements: Vec<(String, Span)>,
}

impl<'a> Builder<'a> {
    /// A resolver where `is_class` names the library's element classes.
    pub fn new(is_class: &'a dyn Fn(&str) -> bool) -> Self {
        Builder {
            is_class,
            keep_unknown: None,
            types: Vec::new(),
            top: Scope::default(),
            stack: Vec::new(),
            errors: Vec::new(),
            requirements: Vec::new(),
        }
    }

    /// Keeps unknown classes and undeclared elements in the graph, each
    /// reported with `suggest`'s proposal (see [`super::parse_all`]).
    pub fn keep_unknown(mut self, suggest: &'a Suggest<'a>) -> Self {
        self.keep_unknown = Some(suggest);
        self
    }

    /// Reports `message` about the unknown name `name` at `span`, with
    /// `near` or else the suggester's proposal; returns the type the name
    /// takes from now on.
    fn unknown(
        &mut self,
        span: &Span,
        name: &str,
        message: String,
        near: Option<String>,
    ) -> TypeRef {
        let mut e = Error::new(span.clone(), message);
        let t = match self.keep_unknown {
            Some(suggest) => {
                e = e.suggest(near.or_else(|| suggest(name)));
                TypeRef::Primitive(Rc::from(name))
            }
            None => TypeRef::Error,
        };
        self.errors.push(e);
        self.types.push((name.into(), t.clone()));
        t
    }

    /// Resolves a file's statements; returns the file scope.
    pub fn file(mut self, stmts: &[Stmt]) -> (Scope, Vec<(String, Span)>, Vec<Error>) {
        self.stmts(stmts);
        (self.top, self.requirements, self.errors)
    }

    fn cur(&mut self) -> &mut Scope {
        self.stack.last_mut().unwrap_or(&mut self.top)
    }

    fn err(&mut self, span: &Span, msg: impl Into<String>) {
        self.errors.push(Error::new(span.clone(), msg));
    }

    fn lookup_type(&self, name: &str) -> Option<TypeRef> {
        if let Some((_, t)) = self.types.iter().rev().find(|(n, _)| n == name) {
            return Some(t.clone());
        }
        (self.is_class)(name).then(|| TypeRef::Primitive(Rc::from(name)))
    }

    /// The class `id` names, reporting (once) an unknown one.
    fn force_type(&mut self, id: &Ident) -> TypeRef {
        match self.lookup_type(&id.name) {
            Some(t) => t,
            None => {
                let msg = format!("unknown element class '{}'", id.name);
                self.unknown(&id.span, &id.name, msg, None)
            }
        }
    }

    fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            match s {
                Stmt::Chain(c) => self.chain(c),
                Stmt::ElementClass { name, def } => {
                    let t = match def {
                        ClassDef::Synonym(id) => self.force_type(id),
                        ClassDef::Compound(d) => self.compound(d, name.as_ref()),
                        ClassDef::Invalid => TypeRef::Error,
                    };
                    if let Some(n) = name {
                        self.types.push((n.name.clone(), t));
                    }
                }
                Stmt::Require(cfg) => self.require(cfg),
                Stmt::Define(cfg) => self.define(cfg),
            }
        }
    }

    fn require(&mut self, cfg: &ConfigStr) {
        for arg in split_args(&cfg.text) {
            let words = split_words(&arg);
            let Some(first) = words.first() else { continue };
            let kind = unquote(first);
            let ok = match (kind.as_str(), words.len()) {
                ("compact_config", 1) => true,
                ("package" | "library", 2) => true,
                (_, 1) => is_word(&kind),
                _ => false,
            };
            if !ok {
                self.err(
                    &cfg.span,
                    format!("syntax error at requirement '{arg}': expected 'package NAME', 'library FILE' or 'NAME'"),
                );
                continue;
            }
            if kind == "library" && !self.stack.is_empty() {
                self.err(&cfg.span, "'require library' must be used at file scope");
                continue;
            }
            self.requirements.push((arg, cfg.span.clone()));
        }
    }

    fn define(&mut self, cfg: &ConfigStr) {
        for arg in split_args(&cfg.text) {
            if arg.is_empty() {
                continue;
            }
            let (var, value) = shift_word(&arg);
            let name = var.strip_prefix('$').unwrap_or("");
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                self.err(
                    &cfg.span,
                    format!("bad 'define' declaration '{arg}': expected '$NAME VALUE'"),
                );
                continue;
            }
            self.define_var(name, &value, false, &cfg.span);
        }
    }

    /// Click's `Compound::define`: formals must come positional, then
    /// keywords, then `__REST__`.
    fn define_var(&mut self, name: &str, value: &str, formal: bool, span: &Span) {
        let scope = self.cur();
        if scope.vars.iter().any(|(n, _)| n == name) {
            let msg = format!("parameter '${name}' multiply defined");
            self.err(span, msg);
            return;
        }
        scope.vars.push((name.to_string(), value.to_string()));
        if !formal {
            return;
        }
        scope.nformals = scope.vars.len();
        let n = scope.nformals;
        let repeated = !value.is_empty() && scope.vars[..n - 1].iter().any(|(_, v)| v == value);
        let mut order = false;
        if !scope.order_error && n > 1 {
            let prev = &scope.vars[n - 2].1;
            if (value.is_empty() && !prev.is_empty()) || prev == "__REST__" {
                scope.order_error = true;
                order = true;
            }
        }
        if repeated {
            self.err(
                span,
                format!("repeated keyword parameter '{value}' in compound element"),
            );
        }
        if order {
            self.err(
                span,
                "compound element parameters out of order: the correct order is '[positional], [keywords], [__REST__]'",
            );
        }
    }

    /// Resolves a compound class definition (all alternatives).
    fn compound(&mut self, def: &CompoundDef, name: Option<&Ident>) -> TypeRef {
        let cname = name.map(|n| n.name.clone()).unwrap_or_default();
        let previous = name.and_then(|n| self.lookup_type(&n.name));
        let mut built = Vec::new();
        for alt in &def.alternatives {
            let saved_types = self.types.len();
            let depth = self.cur().depth + 1;
            self.stack.push(Scope::compound(depth, &alt.span));
            for f in &alt.formals {
                self.define_var(&f.name, &f.keyword, true, &f.span);
            }
            self.stmts(&alt.body);
            let scope = self.stack.pop().unwrap_or_default();
            self.types.truncate(saved_types);
            built.push(self.finish_compound(scope, &cname, &alt.span));
        }
        let mut next = None;
        if let Some(span) = &def.extension {
            match previous {
                Some(t) => next = Some(t),
                None => {
                    let shown = if cname.is_empty() {
                        "<anonymous>"
                    } else {
                        &cname
                    };
                    self.err(
                        span,
                        format!("cannot extend unknown element class '{shown}'"),
                    );
                }
            }
        }
        if built.is_empty() {
            return next.unwrap_or(TypeRef::Error);
        }
        for mut c in built.into_iter().rev() {
            c.next = next;
            next = Some(TypeRef::Compound(Rc::new(c)));
        }
        next.unwrap_or(TypeRef::Error)
    }

    fn finish_compound(&mut self, mut scope: Scope, name: &str, span: &Span) -> CompoundClass {
        let shown = if name.is_empty() { "<anonymous>" } else { name };
        let ninputs = self.check_pseudo(&scope, 0, false, shown, span);
        let noutputs = self.check_pseudo(&scope, 1, true, shown, span);
        for i in 0..scope.elems.len() {
            if scope.elems[i].anon {
                let n = deanonymize(&scope.elems[i].name, |c| scope.map.contains_key(c));
                scope.map.insert(n.clone(), i);
                scope.elems[i].name = n;
                scope.elems[i].anon = false;
            }
        }
        CompoundClass {
            name: name.to_string(),
            span: span.clone(),
            vars: scope.vars,
            nformals: scope.nformals,
            elems: scope.elems,
            conns: scope.conns,
            ninputs,
            noutputs,
            depth: scope.depth,
            next: None,
        }
    }

    /// Click's `check_pseudoelement`: a compound's or group's `input` may
    /// only be used as a source, `output` only as a destination, and the
    /// ports used must be 0..n-1 without gaps. Returns n.
    fn check_pseudo(
        &mut self,
        scope: &Scope,
        which: usize,
        is_output: bool,
        name: &str,
        span: &Span,
    ) -> usize {
        let Some(e) = scope.elems.get(which) else {
            return 0;
        };
        let (n, wrong) = if is_output {
            (e.nin, e.nout)
        } else {
            (e.nout, e.nin)
        };
        let mut used = vec![false; n];
        for c in &scope.conns {
            let (idx, port) = if is_output {
                (c.to, c.tport)
            } else {
                (c.from, c.fport)
            };
            if idx == which {
                if let Some(u) = used.get_mut(port) {
                    *u = true;
                }
            }
        }
        let (me, other) = if is_output {
            ("output", "input")
        } else {
            ("input", "output")
        };
        if wrong > 0 {
            self.err(
                span,
                format!("'{name}' pseudoelement '{me}' may only be used as {other}"),
            );
        }
        for (i, u) in used.iter().enumerate() {
            if !u {
                self.err(span, format!("'{name}' {me} {i} missing"));
            }
        }
        n
    }

    fn anon_name(&mut self, class: &str) -> String {
        let s = self.cur();
        format!("{}@{}", class, s.elems.len() - s.anon_offset + 1)
    }

    /// Click's `get_element`: the element called `name`, created if new.
    fn get_element(
        &mut self,
        name: String,
        anon: bool,
        kind: ElemKind,
        config: &Option<ConfigStr>,
        span: &Span,
    ) -> usize {
        let key = if anon {
            format!(";{name}")
        } else {
            name.clone()
        };
        if let Some(&i) = self.cur().map.get(&key) {
            return i;
        }
        if name
            .split('/')
            .any(|c| c.bytes().all(|b| b.is_ascii_digit()))
        {
            self.err(
                span,
                format!("element name '{name}' has all-digit component"),
            );
        }
        let s = self.cur();
        let idx = s.elems.len();
        s.map.insert(key, idx);
        s.elems.push(ScopeElem {
            name,
            anon,
            kind,
            config: config.as_ref().map(|c| c.text.clone()).unwrap_or_default(),
            span: span.clone(),
            config_span: config
                .as_ref()
                .map(|c| c.span.clone())
                .unwrap_or_else(|| span.clone()),
            nin: 0,
            nout: 0,
        });
        idx
    }

    fn connect(&mut self, from: usize, fport: usize, to: usize, tport: usize, span: &Span) {
        let s = self.cur();
        if s.conns.len() >= MAX_CONNECTIONS {
            if !s.too_many_conns {
                s.too_many_conns = true;
                self.err(
                    span,
                    format!("too many connections (more than {MAX_CONNECTIONS})"),
                );
            }
            return;
        }
        s.conns.push(ScopeConn {
            from,
            fport,
            to,
            tport,
            span: span.clone(),
        });
        if let Some(e) = s.elems.get_mut(to) {
            e.nin = e.nin.max(tport + 1);
        }
        if let Some(e) = s.elems.get_mut(from) {
            e.nout = e.nout.max(fport + 1);
        }
    }

    fn chain(&mut self, c: &Chain) {
        let mut prev: Vec<Entry> = Vec::new();
        for (si, seg) in c.segments.iter().enumerate() {
            let first = si == 0;
            let before_arrow = c.connectors.get(si).map(|(_, s)| s.clone());
            let (entries, any_implicit) = self.segment(seg, first, before_arrow.is_some());
            if any_implicit && !first {
                if let Some(span) = &before_arrow {
                    self.err(span, "implicit ports used in the middle of a chain");
                }
            }
            if first {
                self.check_useless(&entries, false);
            } else if let Some((conn, span)) = c.connectors.get(si - 1) {
                self.connect_all(&prev, &entries, *conn, span);
            }
            prev = entries;
        }
        self.check_useless(&prev, true);
    }

    fn check_useless(&mut self, entries: &[Entry], outputs: bool) {
        for e in entries {
            let p = if outputs { &e.outs } else { &e.ins };
            if p.n() > 0 {
                let span = p.span.clone().unwrap_or_else(|| e.span.clone());
                let msg = if outputs {
                    "output ports ignored at end of chain"
                } else {
                    "input ports ignored at start of chain"
                };
                self.err(&span, msg);
                return;
            }
        }
    }

    /// Enters one comma-separated element list into the scope.
    fn segment(
        &mut self,
        seg: &[ElementRef],
        first: bool,
        before_arrow: bool,
    ) -> (Vec<Entry>, bool) {
        let mut pend: Vec<Pending> = Vec::new();
        let mut any_implicit = false;
        for e in seg {
            let ins = PortList::from_ast(&e.inputs);
            let outs = PortList::from_ast(&e.outputs);
            match &e.item {
                Item::Named {
                    name,
                    class,
                    config,
                } => {
                    let ty = self.lookup_type(&name.name);
                    let decl = match class {
                        None => None,
                        Some(ClassSpec::Name(id)) => Some(self.force_type(id)),
                        Some(ClassSpec::Compound(d, _)) => Some(self.compound(d, None)),
                        Some(ClassSpec::Missing(_)) => Some(TypeRef::Error),
                    };
                    if let (Some(cfg), None) = (config, class) {
                        if ty.is_none() && self.cur().map.contains_key(&name.name) {
                            self.err(
                                &cfg.span,
                                format!(
                                    "configuration string ignored on element reference '{}'",
                                    name.name
                                ),
                            );
                        }
                    }
                    let bare = class.is_none() && config.is_none();
                    pend.push(Pending {
                        name: name.name.clone(),
                        ty,
                        decl,
                        bare,
                        config: config.clone(),
                        span: name.span.clone(),
                        fixed: None,
                        ins,
                        outs,
                    });
                }
                Item::Compound { def, span, config } => {
                    let t = self.compound(def, None);
                    pend.push(Pending {
                        name: String::new(),
                        ty: Some(t),
                        decl: None,
                        bare: false,
                        config: config.clone(),
                        span: span.clone(),
                        fixed: None,
                        ins,
                        outs,
                    });
                }
                Item::Group { body, span, end } => {
                    let (idx, nin, nout) = self.group(body, span, end);
                    pend.push(Pending {
                        name: String::new(),
                        ty: None,
                        decl: None,
                        bare: false,
                        config: None,
                        span: span.clone(),
                        fixed: Some(idx),
                        ins: if e.inputs.is_some() {
                            ins
                        } else {
                            PortList::implied(nin)
                        },
                        outs: if e.outputs.is_some() {
                            outs
                        } else {
                            PortList::implied(nout)
                        },
                    });
                }
                Item::Implicit { output, span } => {
                    any_implicit = true;
                    let name = if *output { "output" } else { "input" };
                    pend.push(Pending {
                        name: name.to_string(),
                        ty: self.lookup_type(name),
                        decl: None,
                        bare: false,
                        config: None,
                        span: span.clone(),
                        fixed: None,
                        ins,
                        outs,
                    });
                }
            }
        }

        // `a, b, c :: C(x)` alone declares all three as `C(x)`.
        let any_ports = pend.iter().any(|p| p.ins.n() > 0 || p.outs.n() > 0);
        if pend.len() > 1 && first && !before_arrow && !any_ports && !any_implicit {
            let mut k = 0;
            while k + 1 < pend.len() && pend[k].bare {
                k += 1;
            }
            if k + 1 == pend.len() {
                let (decl, config) = (pend[k].decl.clone(), pend[k].config.clone());
                for p in &mut pend[..k] {
                    p.decl = decl.clone();
                    p.config = config.clone();
                }
            }
        }

        let mut entries = Vec::with_capacity(pend.len());
        for p in pend {
            let idx = match p.fixed {
                Some(i) => i,
                None => self.resolve_pending(&p),
            };
            entries.push(Entry {
                idx,
                ins: p.ins,
                outs: p.outs,
                span: p.span,
            });
        }
        (entries, any_implicit)
    }

    /// Click's `yelement_next` for one element: a reference, a declaration
    /// or an anonymous element.
    fn resolve_pending(&mut self, p: &Pending) -> usize {
        let existing = self.cur().map.get(&p.name).copied();
        match existing {
            Some(i) if p.ty.is_none() => {
                if p.decl.is_some() {
                    self.err(&p.span, format!("redeclaration of element '{}'", p.name));
                    if !self.cur().is_tunnel(i) {
                        let old = self
                            .cur()
                            .elems
                            .get(i)
                            .map(|e| e.span.clone())
                            .unwrap_or_default();
                        self.err(
                            &old,
                            format!("element '{}' previously declared here", p.name),
                        );
                    }
                }
                i
            }
            _ => {
                let mut ty = p.ty.clone();
                if p.decl.is_some() && ty.is_some() {
                    self.err(&p.span, format!("class '{}' used as element name", p.name));
                } else if p.decl.is_none() && ty.is_none() {
                    let msg = format!("undeclared element '{}'", p.name);
                    // A misspelt reference to an element declared in this
                    // scope is likelier than a misspelt class.
                    let named = self.cur().map.keys().filter(|k| !k.starts_with(';'));
                    let near = closest(&p.name, named.map(String::as_str)).map(String::from);
                    ty = Some(self.unknown(&p.span, &p.name, msg, near));
                }
                let (name, anon) = match ty {
                    Some(_) => (self.anon_name(&p.name), true),
                    None => (p.name.clone(), false),
                };
                let kind = ElemKind::Type(ty.or_else(|| p.decl.clone()).unwrap_or(TypeRef::Error));
                self.get_element(name, anon, kind, &p.config, &p.span)
            }
        }
    }

    /// An element group: three tunnel elements, the body in this scope with
    /// `input`/`output` rebound. Returns the group element and its port counts.
    fn group(&mut self, body: &[Stmt], span: &Span, end: &Span) -> (usize, usize, usize) {
        let name = self.anon_name("");
        let mut idx = [0usize; 3];
        for (k, (suffix, kind)) in [
            ("", TunnelKind::GroupOuter),
            ("/input", TunnelKind::GroupInput),
            ("/output", TunnelKind::GroupOutput),
        ]
        .into_iter()
        .enumerate()
        {
            idx[k] = self.get_element(
                format!("{name}{suffix}"),
                true,
                ElemKind::Tunnel(kind),
                &None,
                span,
            );
        }
        let saved = (
            self.cur().map.get("input").copied(),
            self.cur().map.get("output").copied(),
        );
        self.cur().map.insert("input".to_string(), idx[1]);
        self.cur().map.insert("output".to_string(), idx[2]);
        self.stmts(body);
        let scope = core::mem::take(self.cur());
        let nin = self.check_pseudo(&scope, idx[1], false, "<anonymous group>", end);
        let nout = self.check_pseudo(&scope, idx[2], true, "<anonymous group>", end);
        *self.cur() = scope;
        for (key, old) in [("input", saved.0), ("output", saved.1)] {
            match old {
                Some(i) => self.cur().map.insert(key.to_string(), i),
                None => self.cur().map.remove(key),
            };
        }
        (idx[0], nin, nout)
    }

    /// Click's `yconnection_connect_all`: connects every output of the
    /// previous list to the inputs of this one.
    fn connect_all(&mut self, outputs: &[Entry], inputs: &[Entry], conn: Connector, span: &Span) {
        // Index 0 = the inputs side, 1 = the outputs side, as in Click.
        let side = |k: usize, e: &Entry| -> PortList {
            if k == 0 {
                e.ins.clone()
            } else {
                e.outs.clone()
            }
        };
        let lists: [&[Entry]; 2] = [inputs, outputs];
        let mut minp = [0usize; 2];
        let mut expandable = [0usize; 2];
        for k in 0..2 {
            for e in lists[k] {
                let p = side(k, e);
                let n = p.n();
                if n <= 1 {
                    minp[k] += 1;
                } else if p.expandable {
                    minp[k] += n - 1;
                    expandable[k] += 1;
                } else {
                    minp[k] += n;
                }
            }
        }
        if expandable[0] + expandable[1] > 1 {
            self.err(span, "at most one expandable port allowed per connection");
            expandable[usize::from(minp[0] < minp[1])] = 0;
        }
        if conn == Connector::DoubleArrow {
            for k in 0..2 {
                let first_unported = lists[k].first().is_some_and(|e| side(k, e).n() == 0);
                if minp[k] == 1 && minp[1 - k] > 1 && first_unported {
                    expandable[k] = 1;
                }
            }
        }
        let mut step = [false; 2];
        let mut nexp = [0usize; 2];
        for k in 0..2 {
            step[k] = minp[k] > 1 || expandable[k] > 0;
            nexp[k] = if expandable[k] > 0 {
                minp[1 - k].saturating_sub(minp[k])
            } else {
                0
            };
        }
        if step[0] && step[1] {
            if conn != Connector::DoubleArrow {
                self.err(span, "syntax error: many-to-many connections require '=>'");
            }
            let (ni, no) = (minp[0], minp[1]);
            if expandable[0] == 0 && expandable[1] == 0 && ni != no {
                self.err(
                    span,
                    format!("connection mismatch: {no} outputs connected to {ni} inputs"),
                );
            } else if expandable[0] == 0 && ni < no {
                self.err(
                    span,
                    format!("connection mismatch: {no} or more outputs connected to {ni} inputs"),
                );
            } else if expandable[1] == 0 && no < ni {
                self.err(
                    span,
                    format!("connection mismatch: {no} outputs connected to {ni} or more inputs"),
                );
            }
        } else if !step[0] && !step[1] {
            step[0] = true;
        }

        let mut it = [0usize; 2];
        let mut ppos = [0usize; 2];
        let mut port: [Option<usize>; 2] = [None, None];
        while it[0] < inputs.len() && it[1] < outputs.len() {
            for k in 0..2 {
                if port[k].is_none() {
                    let p = side(k, &lists[k][it[k]]);
                    port[k] = Some(p.ports.first().map_or(0, |&x| x as usize));
                }
            }
            let (from, to) = (outputs[it[1]].idx, inputs[it[0]].idx);
            self.connect(from, port[1].unwrap_or(0), to, port[0].unwrap_or(0), span);
            if self.cur().too_many_conns {
                return;
            }
            for k in 0..2 {
                if !step[k] {
                    continue;
                }
                let p = side(k, &lists[k][it[k]]);
                let np = p.n();
                ppos[k] += 1;
                if let Some(&x) = p.ports.get(ppos[k]) {
                    port[k] = Some(x as usize);
                } else if p.expandable && nexp[k] > 0 {
                    let last = p.ports.last().map_or(0, |&x| x as usize);
                    port[k] = Some(last + ppos[k] + 1 - p.ports.len());
                    nexp[k] -= 1;
                } else if np == 0 && minp[k] == 1 && nexp[k] > 0 {
                    port[k] = Some(ppos[k]);
                    nexp[k] -= 1;
                } else {
                    port[k] = None;
                    ppos[k] = 0;
                    it[k] += 1;
                }
            }
        }
    }
}

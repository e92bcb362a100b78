//! Recursive-descent parser from tokens to [`ast`] (the grammar of Click's
//! `lib/lexer.cc`, including its implicit `input`/`output` rules), with
//! error recovery at statement boundaries and a nesting limit.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::ast::*;
use super::lexer::{Lexer, Tok, Token};
use crate::error::{Error, Span};

/// Deepest nesting of groups and compound classes (Click's `max_depth`).
pub const MAX_DEPTH: usize = 50;

/// Longest port list, counting expanded ranges.
pub const MAX_PORTS_IN_LIST: usize = 4096;

/// Highest port number accepted.
pub const MAX_PORT: u32 = 65535;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    File,
    Group,
    Compound,
}

/// Parser state: the lexer plus a pushback stack.
pub struct Parser<'a> {
    lx: Lexer<'a>,
    back: Vec<Token>,
    depth: usize,
    errors: Vec<Error>,
}

/// Parses a whole file; returns its statements and every syntax error.
pub fn parse_file(src: &str, file: &str) -> (Vec<Stmt>, Vec<Error>) {
    let mut p = Parser {
        lx: Lexer::new(src, file),
        back: Vec::new(),
        depth: 0,
        errors: Vec::new(),
    };
    let (stmts, _) = p.stmts(Ctx::File);
    let mut errors = core::mem::take(&mut p.lx.errors);
    errors.append(&mut p.errors);
    errors.sort_by_key(|e| (e.span.line, e.span.col));
    (stmts, errors)
}

impl<'a> Parser<'a> {
    fn next(&mut self) -> Token {
        match self.back.pop() {
            Some(t) => t,
            None => self.lx.next_token(),
        }
    }

    fn push_back(&mut self, t: Token) {
        self.back.push(t);
    }

    fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.errors.push(Error::new(span, msg));
    }

    /// Statements up to the end of the file, group or compound alternative;
    /// returns them and the token that ended them (`)`, `}`, `||` or EOF).
    fn stmts(&mut self, ctx: Ctx) -> (Vec<Stmt>, Token) {
        let mut stmts = Vec::new();
        loop {
            let t = self.next();
            match t.kind {
                Tok::Ident | Tok::Arrow | Tok::DoubleArrow => {
                    self.push_back(t);
                    self.chain(ctx, &mut stmts);
                }
                Tok::Char('[' | '{' | '(') => {
                    self.push_back(t);
                    self.chain(ctx, &mut stmts);
                }
                Tok::Elementclass => self.elementclass(&mut stmts),
                Tok::Require | Tok::Define => {
                    let is_require = t.kind == Tok::Require;
                    if let Some(cfg) = self.paren_config(&t) {
                        stmts.push(if is_require {
                            Stmt::Require(cfg)
                        } else {
                            Stmt::Define(cfg)
                        });
                    }
                }
                Tok::Char(';') => {}
                Tok::Char('}') | Tok::DoubleBar => match ctx {
                    Ctx::Compound => return (stmts, t),
                    Ctx::Group => {
                        self.err(
                            t.span.clone(),
                            format!("syntax error: expected ')', found {}", t.describe()),
                        );
                        self.push_back(t.clone());
                        return (stmts, t);
                    }
                    Ctx::File => self.err(
                        t.span.clone(),
                        format!(
                            "syntax error: {} outside an element class definition",
                            t.describe()
                        ),
                    ),
                },
                Tok::Char(')') if ctx == Ctx::Group => return (stmts, t),
                Tok::Eof => {
                    match ctx {
                        Ctx::Group => self.err(
                            t.span.clone(),
                            "syntax error: expected ')', found end of file",
                        ),
                        Ctx::Compound => self.err(
                            t.span.clone(),
                            "syntax error: expected '}', found end of file",
                        ),
                        Ctx::File => {}
                    }
                    self.push_back(t.clone());
                    return (stmts, t);
                }
                _ => self.err(
                    t.span.clone(),
                    format!("syntax error: expected a statement, found {}", t.describe()),
                ),
            }
        }
    }

    /// `( config )` after `require` / `define`; `require(...)` may be followed by `;`.
    fn paren_config(&mut self, kw: &Token) -> Option<ConfigStr> {
        let t = self.next();
        if !t.is_char('(') {
            self.err(
                t.span.clone(),
                format!(
                    "syntax error: expected '(' after '{}', found {}",
                    kw.text,
                    t.describe()
                ),
            );
            self.push_back(t);
            return None;
        }
        Some(self.config_after_paren(&t))
    }

    /// Reads a configuration string; the `(` token was just consumed.
    fn config_after_paren(&mut self, open: &Token) -> ConfigStr {
        if let Some(t) = self.back.pop() {
            // Unreachable by construction (only one token of lookahead is
            // ever taken before a '('), but never worth a panic.
            self.err(
                t.span.clone(),
                "internal parser error: lookahead before configuration string",
            );
        }
        let (text, span, closed) = self.lx.config();
        if !closed {
            self.err(
                open.span.clone(),
                "unterminated configuration string: expected ')' before end of file",
            );
        }
        ConfigStr { text, span }
    }

    fn config_opt(&mut self) -> Option<ConfigStr> {
        let t = self.next();
        if t.is_char('(') {
            Some(self.config_after_paren(&t))
        } else {
            self.push_back(t);
            None
        }
    }

    fn elementclass(&mut self, stmts: &mut Vec<Stmt>) {
        let t = self.next();
        let name = if t.kind == Tok::Ident {
            Some(Ident {
                name: t.text,
                span: t.span,
            })
        } else {
            self.err(
                t.span.clone(),
                format!(
                    "syntax error: expected element class name, found {}",
                    t.describe()
                ),
            );
            self.push_back(t);
            None
        };
        let t = self.next();
        let def = match t.kind {
            Tok::Char('{') => ClassDef::Compound(Box::new(self.compound(&t))),
            Tok::Ident => ClassDef::Synonym(Ident {
                name: t.text,
                span: t.span,
            }),
            _ => {
                self.err(
                    t.span.clone(),
                    format!("syntax error: expected '{{' or a class name after 'elementclass', found {}", t.describe()),
                );
                if t.kind == Tok::Eof || t.is_char('}') {
                    self.push_back(t);
                }
                ClassDef::Invalid
            }
        };
        stmts.push(Stmt::ElementClass { name, def });
    }

    /// Enters one nesting level; on overflow reports and skips to the
    /// matching `close` without recursing.
    fn enter(&mut self, open: &Token, close: char, what: &str) -> bool {
        if self.depth < MAX_DEPTH {
            self.depth += 1;
            return true;
        }
        self.err(
            open.span.clone(),
            format!("maximum {what} nesting depth exceeded (more than {MAX_DEPTH} levels)"),
        );
        let openc = if close == '}' { '{' } else { '(' };
        let mut level = 1usize;
        loop {
            let t = self.next();
            match t.kind {
                Tok::Eof => {
                    self.push_back(t);
                    break;
                }
                Tok::Char(c) if c == openc => level += 1,
                Tok::Char(c) if c == close => {
                    level -= 1;
                    if level == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        false
    }

    /// A compound class body; the `{` was just consumed. Consumes the `}`.
    fn compound(&mut self, open: &Token) -> CompoundDef {
        let mut def = CompoundDef {
            alternatives: Vec::new(),
            extension: None,
        };
        if !self.enter(open, '}', "compound element") {
            return def;
        }
        loop {
            let t = self.next();
            if t.kind == Tok::Ellipsis {
                let t2 = self.next();
                if def.alternatives.is_empty() || !t2.is_char('}') {
                    self.err(
                        t.span.clone(),
                        "'...' should occur last, after one or more compounds",
                    );
                }
                def.extension = Some(t.span);
                if t2.is_char('}') {
                    break;
                }
                self.push_back(t2);
                continue;
            }
            let span = t.span.clone();
            self.push_back(t);
            let formals = self.formals();
            let (body, end) = self.stmts(Ctx::Compound);
            def.alternatives.push(Alternative {
                span,
                formals,
                body,
            });
            if end.kind != Tok::DoubleBar {
                break;
            }
        }
        self.depth -= 1;
        def
    }

    /// `[formal {, formal} |]` at the start of a compound alternative.
    fn formals(&mut self) -> Vec<Formal> {
        let mut formals = Vec::new();
        loop {
            let t1 = self.next();
            let formal = match t1.kind {
                Tok::Ident => {
                    let t2 = self.next();
                    if t2.kind == Tok::Variable {
                        Formal {
                            keyword: t1.text,
                            name: t2.text,
                            span: t1.span,
                        }
                    } else {
                        if !formals.is_empty() {
                            self.err(
                                t2.span.clone(),
                                format!("expected variable, found {}", t2.describe()),
                            );
                        }
                        self.push_back(t2);
                        self.push_back(t1);
                        break;
                    }
                }
                Tok::Variable => Formal {
                    keyword: String::new(),
                    name: t1.text,
                    span: t1.span,
                },
                Tok::Char('|') => break,
                _ => {
                    if !formals.is_empty() {
                        self.err(
                            t1.span.clone(),
                            format!("expected variable, found {}", t1.describe()),
                        );
                    }
                    self.push_back(t1);
                    break;
                }
            };
            if formal.name.is_empty() {
                self.err(formal.span.clone(), "expected variable name after '$'");
            }
            formals.push(formal);
            let sep = self.next();
            if sep.is_char('|') {
                break;
            } else if !sep.is_char(',') {
                self.err(
                    sep.span.clone(),
                    format!(
                        "expected ',' or '|' after parameter, found {}",
                        sep.describe()
                    ),
                );
                self.push_back(sep);
                break;
            }
        }
        formals
    }

    /// A connection chain (or declaration) statement.
    fn chain(&mut self, ctx: Ctx, stmts: &mut Vec<Stmt>) {
        let nested = ctx != Ctx::File;
        let mut chain = Chain {
            segments: Vec::new(),
            connectors: Vec::new(),
        };
        loop {
            let first = chain.segments.is_empty();
            match self.segment(nested, first) {
                Some(seg) => chain.segments.push(seg),
                None => {
                    chain
                        .connectors
                        .truncate(chain.segments.len().saturating_sub(1));
                    break;
                }
            }
            if !self.connector(&mut chain) {
                break;
            }
        }
        if !chain.segments.is_empty() {
            stmts.push(Stmt::Chain(chain));
        }
    }

    /// After a segment: an arrow continues the chain (true); anything else
    /// ends it.
    fn connector(&mut self, chain: &mut Chain) -> bool {
        loop {
            let t = self.next();
            match t.kind {
                Tok::Arrow | Tok::DoubleArrow => {
                    let c = if t.kind == Tok::Arrow {
                        Connector::Arrow
                    } else {
                        Connector::DoubleArrow
                    };
                    chain.connectors.push((c, t.span));
                    return true;
                }
                Tok::DoubleColon | Tok::Char(',') => {
                    self.err(
                        t.span.clone(),
                        format!(
                            "syntax error: expected '->', '=>' or ';', found {}",
                            t.describe()
                        ),
                    );
                }
                Tok::Ident
                | Tok::Char('{' | '}' | '[' | ')')
                | Tok::DoubleBar
                | Tok::Elementclass
                | Tok::Require
                | Tok::Provide
                | Tok::Define
                | Tok::Eof => {
                    self.push_back(t);
                    return false;
                }
                Tok::Char(';') => return false,
                Tok::Char(_) => {
                    self.err(
                        t.span.clone(),
                        format!(
                            "syntax error: expected '->', '=>', ',' or ';', found {}",
                            t.describe()
                        ),
                    );
                    return false;
                }
                _ => {
                    self.err(
                        t.span.clone(),
                        format!(
                            "syntax error: expected '->', '=>', ',' or ';', found {}",
                            t.describe()
                        ),
                    );
                    self.push_back(t);
                    return false;
                }
            }
        }
    }

    /// A comma-separated element list; `None` if it has no element.
    fn segment(&mut self, nested: bool, first_set: bool) -> Option<Vec<ElementRef>> {
        let mut elems = Vec::new();
        while let Some(e) = self.element(nested, first_set, elems.is_empty()) {
            elems.push(e);
            let t = self.next();
            if !t.is_char(',') {
                self.push_back(t);
                break;
            }
        }
        if elems.is_empty() {
            None
        } else {
            Some(elems)
        }
    }

    fn ports_opt(&mut self) -> Option<Ports> {
        let t = self.next();
        if !t.is_char('[') {
            self.push_back(t);
            return None;
        }
        let mut p = Ports {
            ports: Vec::new(),
            expandable: false,
            span: t.span,
        };
        let mut dash = false;
        let mut last: u32 = 0;
        loop {
            let t = self.next();
            if t.kind == Tok::Ident {
                let port = match parse_port(&t.text) {
                    Some(n) if n <= MAX_PORT => n,
                    Some(_) => {
                        self.err(
                            t.span.clone(),
                            format!("port number too large (at most {MAX_PORT})"),
                        );
                        0
                    }
                    None => {
                        self.err(
                            t.span.clone(),
                            "syntax error: port number should be integer",
                        );
                        0
                    }
                };
                if dash {
                    let mut q = last.saturating_add(1);
                    while q <= port && p.ports.len() < MAX_PORTS_IN_LIST {
                        p.ports.push(q);
                        q += 1;
                    }
                    last = port;
                } else if p.ports.len() < MAX_PORTS_IN_LIST {
                    p.ports.push(port);
                    last = port;
                }
            } else if t.is_char(']') {
                if p.ports.is_empty() {
                    p.ports.push(0);
                }
                p.expandable = true;
                break;
            } else {
                self.err(
                    t.span.clone(),
                    format!("syntax error: expected port number, found {}", t.describe()),
                );
                self.push_back(t);
                break;
            }
            let t = self.next();
            if t.is_char(']') {
                break;
            } else if t.is_char('-') && !dash {
                dash = true;
            } else if t.is_char(',') {
                dash = false;
            } else {
                self.err(
                    t.span.clone(),
                    format!(
                        "syntax error: expected ',' or ']' in port list, found {}",
                        t.describe()
                    ),
                );
                self.push_back(t);
            }
        }
        if p.ports.len() >= MAX_PORTS_IN_LIST {
            self.err(
                p.span.clone(),
                format!("port list too long (at most {MAX_PORTS_IN_LIST} ports)"),
            );
        }
        Some(p)
    }

    /// `[ports] element [ports]`, or `None` when no element is here (the
    /// implicit `input`/`output` rules of groups and compounds apply first).
    fn element(&mut self, nested: bool, first_set: bool, first_in_seg: bool) -> Option<ElementRef> {
        let inputs = self.ports_opt();
        let t = self.next();
        match t.kind {
            Tok::Ident => {
                let name = Ident {
                    name: t.text,
                    span: t.span,
                };
                let mut class = None;
                let c = self.next();
                if c.kind == Tok::DoubleColon {
                    let k = self.next();
                    class = Some(match k.kind {
                        Tok::Ident => ClassSpec::Name(Ident {
                            name: k.text,
                            span: k.span,
                        }),
                        Tok::Char('{') => ClassSpec::Compound(Box::new(self.compound(&k)), k.span),
                        _ => {
                            self.err(
                                k.span.clone(),
                                format!("missing element type in declaration: expected a class name, found {}", k.describe()),
                            );
                            let span = k.span.clone();
                            self.push_back(k);
                            ClassSpec::Missing(span)
                        }
                    });
                } else {
                    self.push_back(c);
                }
                let config = self.config_opt();
                let outputs = self.ports_opt();
                Some(ElementRef {
                    inputs,
                    item: Item::Named {
                        name,
                        class,
                        config,
                    },
                    outputs,
                })
            }
            Tok::Char('{') => {
                let def = self.compound(&t);
                let config = self.config_opt();
                let outputs = self.ports_opt();
                Some(ElementRef {
                    inputs,
                    item: Item::Compound {
                        def: Box::new(def),
                        span: t.span,
                        config,
                    },
                    outputs,
                })
            }
            Tok::Char('(') => {
                let mut body = Vec::new();
                let mut end = t.span.clone();
                if self.enter(&t, ')', "element group") {
                    let (b, e) = self.stmts(Ctx::Group);
                    body = b;
                    end = e.span;
                    self.depth -= 1;
                }
                let c = self.next();
                if c.is_char('(') {
                    self.err(
                        c.span.clone(),
                        "configuration string ignored on element group",
                    );
                    self.config_after_paren(&c);
                } else {
                    self.push_back(c);
                }
                let outputs = self.ports_opt();
                Some(ElementRef {
                    inputs,
                    item: Item::Group {
                        body,
                        span: t.span,
                        end,
                    },
                    outputs,
                })
            }
            _ => {
                let has_ports = inputs.is_some();
                let implicit = nested
                    && match t.kind {
                        Tok::Arrow | Tok::DoubleArrow => first_set && (has_ports || first_in_seg),
                        Tok::Char(',') => has_ports,
                        Tok::DoubleColon => false,
                        _ => !first_set && (has_ports || first_in_seg),
                    };
                let span = inputs
                    .as_ref()
                    .map(|p| p.span.clone())
                    .unwrap_or_else(|| t.span.clone());
                if implicit {
                    self.push_back(t);
                    // At the start of a chain the ports written are the
                    // outputs of `input`.
                    let (ins, outs) = if first_set {
                        (None, inputs)
                    } else {
                        (inputs, None)
                    };
                    return Some(ElementRef {
                        inputs: ins,
                        item: Item::Implicit {
                            output: !first_set,
                            span,
                        },
                        outputs: outs,
                    });
                }
                if has_ports {
                    self.err(
                        span,
                        "stranded port ignored: expected an element after the port",
                    );
                }
                if first_in_seg {
                    if nested && first_set {
                        self.push_back(t);
                    } else {
                        let what = if first_set {
                            "an element"
                        } else {
                            "an element after the arrow"
                        };
                        self.err(
                            t.span.clone(),
                            format!("syntax error: expected {what}, found {}", t.describe()),
                        );
                        if t.kind == Tok::Eof || t.is_char('}') || t.is_char(')') {
                            self.push_back(t);
                        }
                    }
                } else {
                    self.err(
                        t.span.clone(),
                        format!(
                            "syntax error: expected an element after ',', found {}",
                            t.describe()
                        ),
                    );
                    self.push_back(t);
                }
                None
            }
        }
    }
}

/// A port number: decimal, `0x` hex or leading-`0` octal (Click's `IntArg`).
fn parse_port(s: &str) -> Option<u32> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (s.get(1..).unwrap_or(""), 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        v = v.saturating_mul(radix).saturating_add(d);
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn ok(src: &str) -> Vec<Stmt> {
        let (s, e) = parse_file(src, "t");
        assert!(e.is_empty(), "unexpected errors for {src:?}: {e:?}");
        s
    }

    fn errs(src: &str) -> Vec<String> {
        parse_file(src, "t")
            .1
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    fn chain(s: &Stmt) -> &Chain {
        match s {
            Stmt::Chain(c) => c,
            _ => panic!("not a chain: {s:?}"),
        }
    }

    #[test]
    fn declaration_and_chain() {
        let s = ok("a :: Foo(1, 2) -> [1]b[2] => c;");
        let c = chain(&s[0]);
        assert_eq!(c.segments.len(), 3);
        assert_eq!(
            c.connectors.iter().map(|c| c.0).collect::<Vec<_>>(),
            [Connector::Arrow, Connector::DoubleArrow]
        );
        match &c.segments[0][0].item {
            Item::Named {
                name,
                class: Some(ClassSpec::Name(k)),
                config: Some(cfg),
            } => {
                assert_eq!(
                    (name.name.as_str(), k.name.as_str(), cfg.text.as_str()),
                    ("a", "Foo", "1, 2")
                );
                assert_eq!((cfg.span.line, cfg.span.col), (1, 10));
            }
            other => panic!("{other:?}"),
        }
        let b = &c.segments[1][0];
        assert_eq!(b.inputs.as_ref().unwrap().ports, [1]);
        assert_eq!(b.outputs.as_ref().unwrap().ports, [2]);
    }

    #[test]
    fn statements_without_semicolons() {
        let s = ok("a :: A b :: B a -> b");
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn port_lists() {
        let s = ok("a[0, 2-4, 7-] -> [] b; c[3-1] -> d");
        let p = chain(&s[0]).segments[0][0].outputs.clone().unwrap();
        assert_eq!((p.ports, p.expandable), (alloc::vec![0, 2, 3, 4, 7], true));
        let p = chain(&s[0]).segments[1][0].inputs.clone().unwrap();
        assert_eq!((p.ports, p.expandable), (alloc::vec![0], true));
        let p = chain(&s[1]).segments[0][0].outputs.clone().unwrap();
        assert_eq!(p.ports, [3]);
        let s = ok("a[0x10, 010] -> b");
        assert_eq!(
            chain(&s[0]).segments[0][0].outputs.clone().unwrap().ports,
            [16, 8]
        );
    }

    #[test]
    fn port_errors() {
        assert_eq!(
            errs("a[x] -> b;"),
            ["t:1:3: syntax error: port number should be integer"]
        );
        assert_eq!(
            errs("a[1;] -> b;")[0],
            "t:1:4: syntax error: expected ',' or ']' in port list, found ';'"
        );
        assert_eq!(
            errs("a[70000] -> b;"),
            ["t:1:3: port number too large (at most 65535)"]
        );
        assert_eq!(
            errs("a[0-65535]->b;"),
            ["t:1:2: port list too long (at most 4096 ports)"]
        );
        assert!(errs("a[,] -> b;")[0].contains("expected port number, found ','"));
    }

    #[test]
    fn implicit_ports_in_groups_and_compounds() {
        let s = ok("x -> ( -> y -> ) -> z; elementclass C { [1] -> a; a -> [2]; }");
        let c = chain(&s[0]);
        let Item::Group { body, .. } = &c.segments[1][0].item else {
            panic!()
        };
        let g = chain(&body[0]);
        assert!(matches!(
            g.segments[0][0].item,
            Item::Implicit { output: false, .. }
        ));
        assert!(matches!(
            g.segments[2][0].item,
            Item::Implicit { output: true, .. }
        ));
        let Stmt::ElementClass {
            def: ClassDef::Compound(d),
            ..
        } = &s[1]
        else {
            panic!()
        };
        let body = &d.alternatives[0].body;
        let first = &chain(&body[0]).segments[0][0];
        assert!(matches!(first.item, Item::Implicit { output: false, .. }));
        assert_eq!(first.outputs.as_ref().unwrap().ports, [1]);
        assert!(first.inputs.is_none());
        let last = &chain(&body[1]).segments[1][0];
        assert!(matches!(last.item, Item::Implicit { output: true, .. }));
        assert_eq!(last.inputs.as_ref().unwrap().ports, [2]);
    }

    #[test]
    fn top_level_arrow_start_is_an_error() {
        assert_eq!(
            errs("->Null;"),
            ["t:1:1: syntax error: expected an element, found '->'"]
        );
        assert_eq!(
            errs("a -> ;"),
            ["t:1:6: syntax error: expected an element after the arrow, found ';'"]
        );
    }

    #[test]
    fn compound_alternatives_and_formals() {
        let s = ok("elementclass T { input -> output || $f, KW $k, __REST__ $r | input -> Foo($f) || ... }");
        let Stmt::ElementClass {
            name,
            def: ClassDef::Compound(d),
        } = &s[0]
        else {
            panic!()
        };
        assert_eq!(name.as_ref().unwrap().name, "T");
        assert_eq!(d.alternatives.len(), 2);
        assert!(d.extension.is_some());
        let f = &d.alternatives[1].formals;
        assert_eq!(
            f.iter()
                .map(|f| (f.keyword.as_str(), f.name.as_str()))
                .collect::<Vec<_>>(),
            [("", "f"), ("KW", "k"), ("__REST__", "r")]
        );
    }

    #[test]
    fn synonym_and_anonymous_compound() {
        let s =
            ok("elementclass Sink Discard; a -> { $c | input -> Paint($c) -> output }(7) -> b;");
        assert!(
            matches!(&s[0], Stmt::ElementClass { def: ClassDef::Synonym(i), .. } if i.name == "Discard")
        );
        let c = chain(&s[1]);
        let Item::Compound { config, .. } = &c.segments[1][0].item else {
            panic!()
        };
        assert_eq!(config.as_ref().unwrap().text, "7");
    }

    #[test]
    fn require_and_define() {
        let s = ok("require(package foo); define($a 1, $b 2)");
        assert!(matches!(&s[0], Stmt::Require(c) if c.text == "package foo"));
        assert!(matches!(&s[1], Stmt::Define(c) if c.text == "$a 1, $b 2"));
        assert_eq!(
            errs("require package;")[0],
            "t:1:9: syntax error: expected '(' after 'require', found 'package'"
        );
    }

    #[test]
    fn statement_level_errors() {
        assert_eq!(
            errs("}"),
            ["t:1:1: syntax error: '}' outside an element class definition"]
        );
        assert_eq!(
            errs(")"),
            ["t:1:1: syntax error: expected a statement, found ')'"]
        );
        assert_eq!(
            errs("provide(x);")[0],
            "t:1:1: syntax error: expected a statement, found 'provide'"
        );
        assert_eq!(
            errs("a -> b :: C :: D;"),
            ["t:1:13: syntax error: expected '->', '=>' or ';', found '::'"]
        );
        assert_eq!(
            errs("a :: ;"),
            ["t:1:6: missing element type in declaration: expected a class name, found ';'"]
        );
        assert_eq!(
            errs("a -> b ]"),
            ["t:1:8: syntax error: expected '->', '=>', ',' or ';', found ']'"]
        );
    }

    #[test]
    fn unterminated_things() {
        assert_eq!(
            errs("a :: Foo(1, 2"),
            ["t:1:9: unterminated configuration string: expected ')' before end of file"]
        );
        assert_eq!(
            errs("elementclass A { a -> b"),
            ["t:1:24: syntax error: expected '}', found end of file"]
        );
        assert_eq!(
            errs("x -> (y"),
            ["t:1:8: syntax error: expected ')', found end of file"]
        );
        assert!(errs("a :: Foo(\"1)")
            .iter()
            .any(|e| e.contains("unterminated string")));
    }

    #[test]
    fn formal_errors() {
        assert!(
            errs("elementclass A { $a, b | x -> y }")[0].contains("expected variable, found '|'")
        );
        assert!(
            errs("elementclass A { $a $b | }")[0].contains("expected ',' or '|' after parameter")
        );
        assert!(errs("elementclass A { $ | }")[0].contains("expected variable name after '$'"));
    }

    #[test]
    fn ellipsis_must_be_last() {
        assert!(errs("elementclass A { ... }")[0].contains("'...' should occur last"));
        assert!(
            errs("elementclass A { x -> y || ... || z }")[0].contains("'...' should occur last")
        );
    }

    #[test]
    fn nesting_limit() {
        let mut s = String::from("x -> ");
        for _ in 0..(MAX_DEPTH + 10) {
            s.push('(');
        }
        for _ in 0..(MAX_DEPTH + 10) {
            s.push(')');
        }
        s.push_str(" -> y;");
        let e = errs(&s);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("maximum element group nesting depth exceeded"));
        let mut s = String::new();
        for _ in 0..(MAX_DEPTH + 10) {
            s.push_str("elementclass A { ");
        }
        let e = errs(&s);
        assert!(
            e[0].contains("maximum compound element nesting depth exceeded"),
            "{e:?}"
        );
    }

    #[test]
    fn config_on_group_rejected() {
        assert_eq!(
            errs("x -> (->)(1) -> y;"),
            ["t:1:10: configuration string ignored on element group"]
        );
    }

    #[test]
    fn describe_tokens() {
        assert!(errs("a -> b $v")[0].ends_with("found '$v'"));
        assert_eq!("x".to_string(), "x");
    }
}

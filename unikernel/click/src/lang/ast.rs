//! The syntax tree of a Click configuration, before any name resolution.
//!
//! Whether a bare identifier is an element or a class is decided later, in
//! source order, by [`super::build`]: Click's language is context dependent.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Span;

/// A name as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// The text.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A configuration string: the text between an element's `(` and `)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigStr {
    /// The text, comments included (they are removed when split).
    pub text: String,
    /// Where the text starts (just after the `(`).
    pub span: Span,
}

/// `->` or `=>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connector {
    /// `->`: one-to-one, one-to-many, many-to-one.
    Arrow,
    /// `=>`: also many-to-many.
    DoubleArrow,
}

/// A port list `[0]`, `[1-3]`, `[0, 2]`, `[]`, `[2,]`, `[2-]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ports {
    /// The listed ports in order (`[]` lists port 0).
    pub ports: Vec<u32>,
    /// Ends open (`[]`, `[n,]`, `[n-]`): continues as far as the other side needs.
    pub expandable: bool,
    /// Where the `[` is.
    pub span: Span,
}

/// What an element reference in a connection is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `name`, `name(config)`, `name :: Class`, `name :: Class(config)`.
    Named {
        /// The name (an element, or a class for an anonymous element).
        name: Ident,
        /// The class after `::`.
        class: Option<ClassSpec>,
        /// The configuration string.
        config: Option<ConfigStr>,
    },
    /// An anonymous compound class used in place: `{ ... }(config)`.
    Compound {
        /// The class.
        def: Box<CompoundDef>,
        /// Where the `{` is.
        span: Span,
        /// The configuration string.
        config: Option<ConfigStr>,
    },
    /// An element group `( ... )`.
    Group {
        /// The statements inside.
        body: Vec<Stmt>,
        /// Where the `(` is.
        span: Span,
        /// Where the `)` is.
        end: Span,
    },
    /// The `input` (false) or `output` (true) pseudo-element implied by an
    /// arrow at the start or end of a connection inside a group or compound.
    Implicit {
        /// `output` rather than `input`.
        output: bool,
        /// Where it is implied.
        span: Span,
    },
}

/// The class part of a declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassSpec {
    /// A class name.
    Name(Ident),
    /// An anonymous compound class `{ ... }`.
    Compound(Box<CompoundDef>, Span),
    /// Nothing usable after `::` (already reported).
    Missing(Span),
}

/// `[ports] element [ports]` in a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElementRef {
    /// Input ports written before the element.
    pub inputs: Option<Ports>,
    /// The element.
    pub item: Item,
    /// Output ports written after it.
    pub outputs: Option<Ports>,
}

/// `elements { connector elements }`; one segment is a comma-separated list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The element lists, in order.
    pub segments: Vec<Vec<ElementRef>>,
    /// The connector between segment `i` and `i + 1`.
    pub connectors: Vec<(Connector, Span)>,
}

/// One formal parameter: `$name`, `KEYWORD $name` or `__REST__ $name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formal {
    /// Empty for positional parameters, else the keyword (or `__REST__`).
    pub keyword: String,
    /// The variable name without `$`.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// One alternative of a compound class: `[formals |] statements`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alternative {
    /// Where it starts.
    pub span: Span,
    /// Its formal parameters.
    pub formals: Vec<Formal>,
    /// Its body.
    pub body: Vec<Stmt>,
}

/// A compound class `{ alt || alt || ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompoundDef {
    /// The alternatives in order.
    pub alternatives: Vec<Alternative>,
    /// `|| ...`: falls back to the class's previous definition.
    pub extension: Option<Span>,
}

/// The right-hand side of `elementclass NAME ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassDef {
    /// `elementclass A B;`
    Synonym(Ident),
    /// `elementclass A { ... }`
    Compound(Box<CompoundDef>),
    /// Unparseable (already reported).
    Invalid,
}

/// A statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stmt {
    /// A connection chain or declaration.
    Chain(Chain),
    /// `elementclass NAME ...`.
    ElementClass {
        /// The name (absent if it was malformed, already reported).
        name: Option<Ident>,
        /// The definition.
        def: ClassDef,
    },
    /// `require(...)`.
    Require(ConfigStr),
    /// `define(...)`.
    Define(ConfigStr),
}

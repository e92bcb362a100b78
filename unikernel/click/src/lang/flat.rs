//! The parser's output: a flat router graph, compounds expanded, variables
//! substituted. This is the contract between the language front end and the
//! router builder.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Span;

/// One primitive element of the flattened configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElementDecl {
    /// Full name with compound prefixes (`outer/inner`), or Click's
    /// anonymous name (`Class@N`, `outer/Class@N`).
    pub name: String,
    /// Primitive class name (compounds are gone).
    pub class: String,
    /// Configuration string, parameters substituted, not yet split.
    pub config: String,
    /// Where the element was declared (its name, or the class for
    /// anonymous elements).
    pub span: Span,
    /// Where its configuration string starts (after the `(`), for argument
    /// errors; equal to `span` when there is none.
    pub config_span: Span,
}

/// One connection `from[from_port] -> [to_port]to` between element indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// Index into [`FlatConfig::elements`] of the upstream element.
    pub from: usize,
    /// Its output port.
    pub from_port: usize,
    /// Index of the downstream element.
    pub to: usize,
    /// Its input port.
    pub to_port: usize,
    /// Where the connection was written (the arrow).
    pub span: Span,
}

/// A configuration after parsing and compound expansion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlatConfig {
    /// Elements in Click's router order: file-level elements in declaration
    /// order, then each compound's contents as it is expanded.
    pub elements: Vec<ElementDecl>,
    /// Connections, sorted by destination then source and without
    /// duplicates, as in Click's router.
    pub connections: Vec<Connection>,
    /// Arguments of `require(...)` statements, as written.
    pub requirements: Vec<(String, Span)>,
}

impl FlatConfig {
    /// Index of the element called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.elements.iter().position(|e| e.name == name)
    }
}

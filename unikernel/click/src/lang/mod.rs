//! Click's configuration language: lexer, parser, compound expansion.
//!
//! The entry point is [`parse`], which turns source text into a
//! [`FlatConfig`]; [`unparse`] prints one back. The language follows
//! `doc/click.5` and Click's `lib/lexer.cc`; see
//! `shared/reference/click-semantics.md` §1. The stages, one module each:
//!
//! * [`lexer`]: tokens with `file:line:col`, `# line` directives, and the
//!   configuration-string mode used after an element's `(`;
//! * [`parser`]: tokens to the syntax tree of [`ast`];
//! * [`build`]: names resolved in source order (declarations, anonymous
//!   `Class@N` names, connections and port lists, groups, compound classes);
//! * [`vars`]: `define`, parameters and `$var` substitution;
//! * [`expand`]: compounds expanded into `outer/inner` elements and
//!   connections spliced through group and compound ports;
//! * [`unparse`](mod@unparse): the flat configuration as Click source.
//!
//! # Where Click is ambiguous or odd, and what we do
//!
//! * Anonymous names are Click's: `Class@N` with N = 1 + the number of
//!   elements already in the scope (a group counts 3: itself, its input and
//!   output); anonymous compounds are `@N`. A clash with a declared name
//!   takes the next free number.
//! * Elements are listed in Click's router order (file-level elements first,
//!   compound contents appended as each compound is expanded), and
//!   connections are sorted by destination then source and deduplicated, as
//!   Click's router does, rather than kept in the order written.
//! * `|| ...` extends the class's definition visible before the
//!   `elementclass` statement, and inside any alternative the class's own
//!   name means that earlier definition (Click refers to the previous
//!   alternative there, and can loop).
//! * A configuration string is substituted once per element (Click does it
//!   twice for compound contents; the second pass changes nothing in
//!   practice because values are substituted recursively already).
//! * Click silently drops the token after a dangling `,` (`a, -> b`); we
//!   report "expected an element after ','".
//! * Click never reports unterminated comments, quotes or `\<` blobs; we do.
//! * `$` followed by no name lexes as a variable with an empty name, as in
//!   Click; as a formal parameter it is an error.
//! * `require(library F)` and `require(package P)` are recorded in
//!   [`FlatConfig::requirements`] as written; loading libraries is the
//!   caller's business.
//! * Limits that Click lacks, so hostile input cannot exhaust memory or
//!   stack: nesting of groups and compounds 50 (Click's own limit), port
//!   numbers up to 65535 and 4096 per list, 100000 elements after
//!   expansion, 2^20 connections, 64 KiB per variable substitution.

pub mod ast;
pub mod build;
pub mod expand;
pub mod flat;
pub mod lexer;
pub mod parser;
pub mod unparse;
pub mod vars;

#[cfg(test)]
mod tests;

use alloc::string::String;

pub use flat::{Connection, ElementDecl, FlatConfig};
pub use unparse::unparse;

use crate::error::Errors;

/// Parses a Click configuration into a flat element graph.
///
/// `file` names the source in diagnostics. `overrides` are command-line
/// `NAME=VALUE` definitions; they replace the file's top-level `define`s.
/// `is_class` says whether a name is a primitive element class of the
/// library; compound classes defined in the configuration are resolved
/// here. All errors found are returned together, each naming
/// `file:line:col`.
pub fn parse(
    source: &str,
    file: &str,
    overrides: &[(String, String)],
    is_class: &dyn Fn(&str) -> bool,
) -> Result<FlatConfig, Errors> {
    let (flat, errors) = parse_with(source, overrides, file, build::Builder::new(is_class));
    errors.into_result(flat)
}

/// Parses as [`parse`] does, but always returns the graph with every error:
/// an unknown class or undeclared element stays in it as an element of a
/// class by the name written (which no registry has), so that later checks
/// see the rest of the graph whole. Each such error carries `suggest`'s
/// proposal for the name.
pub fn parse_all(
    source: &str,
    file: &str,
    overrides: &[(String, String)],
    is_class: &dyn Fn(&str) -> bool,
    suggest: &dyn Fn(&str) -> Option<String>,
) -> (FlatConfig, Errors) {
    let builder = build::Builder::new(is_class).keep_unknown(suggest);
    parse_with(source, overrides, file, builder)
}

fn parse_with(
    source: &str,
    overrides: &[(String, String)],
    file: &str,
    builder: build::Builder<'_>,
) -> (FlatConfig, Errors) {
    let (stmts, mut errors) = parser::parse_file(source, file);
    let (top, requirements, build_errors) = builder.file(&stmts);
    errors.extend(build_errors);
    let (mut flat, expand_errors) = expand::flatten(top, overrides);
    errors.extend(expand_errors);
    flat.requirements = requirements;
    (flat, Errors(errors))
}

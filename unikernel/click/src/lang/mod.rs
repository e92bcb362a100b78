//! Click's configuration language: lexer, parser, compound expansion.
//!
//! The entry point is [`parse`], which turns source text into a
//! [`FlatConfig`]. The language follows `doc/click.5` and Click's
//! `lib/lexer.cc`; see `shared/reference/click-semantics.md` §1.

pub mod flat;

pub use flat::{unparse_flat, Connection, ElementDecl, FlatConfig};

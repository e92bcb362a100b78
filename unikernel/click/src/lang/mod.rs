//! Click's configuration language: lexer, parser, compound expansion.
//!
//! The entry point is [`parse`], which turns source text into a
//! [`FlatConfig`]. The language follows `doc/click.5` and Click's
//! `lib/lexer.cc`; see `shared/reference/click-semantics.md` §1.

pub mod ast;
pub mod flat;
pub mod lexer;
pub mod parser;

pub use flat::{Connection, ElementDecl, FlatConfig};

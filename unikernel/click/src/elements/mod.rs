//! The element library, one element per file, grouped like Click's
//! `elements/` tree. Each file opens with its documentation in one fixed
//! format (class and arguments, Ports, Processing, Keywords, Handlers,
//! Example) which `mbctl doc CLASS` prints.

use crate::element::ElementClass;

pub mod standard;

/// Every class of the engine's library.
pub static CLASSES: &[&ElementClass] = &[
    &standard::counter::CLASS,
    &standard::discard::CLASS,
    &standard::idle::CLASS,
];

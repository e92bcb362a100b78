//! Basic elements: counting, dropping, copying, painting, queueing,
//! scheduling, switching, sources, stripping.

use crate::element::ElementClass;

pub mod counter;
pub mod discard;
pub mod idle;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[&counter::CLASS, &discard::CLASS, &idle::CLASS];

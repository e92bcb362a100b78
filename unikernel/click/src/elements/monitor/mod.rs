//! Flow monitoring.
use crate::element::ElementClass;
/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[];

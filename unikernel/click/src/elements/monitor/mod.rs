//! Flow monitoring: passive per-flow and aggregate accounting.

use crate::element::ElementClass;

pub mod flow_monitor;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[&flow_monitor::CLASS];

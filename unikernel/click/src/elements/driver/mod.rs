//! Control elements: DriverManager and Script, which step through small
//! scripts of handler calls, prints and waits.

use crate::element::ElementClass;

mod arith;
pub mod drivermanager;
mod expand;
pub mod interp;
pub mod script;
mod text;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[&drivermanager::CLASS, &script::CLASS];

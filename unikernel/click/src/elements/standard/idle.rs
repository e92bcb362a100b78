//! `Idle`: a placeholder that never emits a packet.
//!
//! # Ports
//! Any number of inputs and outputs; agnostic.
//!
//! # Processing
//! Never pushes to an output and never pulls from an input; packets pushed
//! into it are dropped; pulls from it return nothing. Use it to fill ports
//! that must be connected.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! Idle -> ToDevice(0);
//! ```

use alloc::boxed::Box;

use crate::element::{Element, ElementClass};

/// The `Idle` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Idle",
    ports: "-/-",
    processing: "a/a",
    phase: 0,
    make: |_, _| Ok(Box::new(Idle)),
};

/// Emits nothing.
pub struct Idle;

impl Element for Idle {}

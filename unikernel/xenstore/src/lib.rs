#![no_std]
//! xenstore protocol (placeholder, filled by the xenstore work).
extern crate alloc;

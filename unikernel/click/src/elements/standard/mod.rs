//! Basic elements: counting, dropping, copying, queueing, scheduling.

pub mod counter;
pub mod discard;
pub mod idle;

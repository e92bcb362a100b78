//! The one definition of what a ClickOS guest and its host say to each
//! other through the store: where the config, status and handler requests
//! live ([`layout`]), and the counters the guest publishes under `data/mb/`
//! ([`stats`]). The guest writes relative paths ([`Home::Own`]), the host
//! absolute ones ([`Home::Domain`]); both build them here, so the two sides
//! cannot disagree.
//!
//! `no_std` + `alloc`: paths are built as `String`s.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;

pub mod layout;
pub mod stats;

pub use layout::{
    chunks, classify, is_path_safe, status, Event, Home, BEAT_TOKEN, CHUNK_MAX, PENDING,
    WATCH_TOKEN,
};
pub use stats::{parse_beat_ms, parse_counter, NicCounters, Stats};

//! A Click-compatible packet-processing engine.
//!
//! `no_std` + `alloc`: the same code runs in the guest unikernel and, with
//! the `std` feature, in the host toolstack. The layers, bottom up:
//!
//! * [`packet`]: packets with headroom/tailroom and Click's annotations;
//! * [`lang`]: the configuration language, parsed into a [`lang::FlatConfig`];
//! * [`confparse`]: element argument splitting and typed values;
//! * [`element`]: the [`element::Element`] trait and class metadata;
//! * [`router`]: the element graph: ports, push/pull, tasks, timers, handlers;
//! * [`elements`]: the element library, one file per element, grouped as in
//!   Click's `elements/` tree.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod confparse;
pub mod error;
pub mod lang;
pub mod packet;
pub mod time;

pub use error::{Error, Errors, Span};
pub use packet::Packet;
pub use time::Timestamp;

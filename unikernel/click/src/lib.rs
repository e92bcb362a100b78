//! A Click-compatible packet-processing engine.
//!
//! `no_std` + `alloc`: the same code runs in the guest unikernel and, with
//! the `std` feature, in the host toolstack. The layers, bottom up:
//!
//! * [`packet`], [`batch`]: packets with headroom/tailroom and Click's
//!   annotations, moved in inline batches;
//! * [`lang`]: the configuration language, parsed into a [`lang::FlatConfig`];
//! * [`confparse`]: element argument splitting and typed values;
//! * [`element`]: the [`element::Element`] trait and class metadata;
//! * [`router`]: the element graph: ports, push/pull, tasks, timers, handlers;
//! * [`net`]: header helpers (checksums, Ethernet, ARP, IPv4, ICMP);
//! * [`elements`]: the element library, one file per element, grouped as in
//!   Click's `elements/` tree; [`registry`] maps class names to them.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod batch;
pub mod confparse;
#[cfg(feature = "std")]
pub mod docs;
pub mod element;
pub mod elements;
pub mod error;
pub mod fallible;
pub mod host;
pub mod lang;
pub mod net;
pub mod packet;
pub mod registry;
pub mod router;
pub mod state;
pub mod suggest;
#[cfg(any(test, feature = "std"))]
pub mod testing;
pub mod time;

pub use batch::Batch;
pub use element::{Element, ElementClass, HandlerDecl};
pub use error::{ArgPos, ConfigError, Error, ErrorKind, Errors, Span};
pub use packet::Packet;
pub use registry::Registry;
pub use router::{ConfigCx, Ctx, Env, Router};
pub use time::Timestamp;

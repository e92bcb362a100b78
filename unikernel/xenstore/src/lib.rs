//! The xenstore protocol, for the guest and for the host store.
//!
//! `no_std` + `alloc`. The layers:
//!
//! * [`wire`]: the xs_wire framing (header, payload layouts, permissions text)
//!   and a streaming decoder;
//! * [`path`]: path rules and relative-path resolution;
//! * [`client`]: a sans-IO client state machine (request/reply matching,
//!   watch events, transactions, reconnection) and a blocking wrapper over
//!   any [`client::Transport`];
//! * [`ring`]: the Xen shared-page transport (`xenstore_domain_interface`),
//!   both ends;
//! * [`store`]: the store a server serves (tree, permissions, watches,
//!   transactions, domains, quotas), with no I/O of its own.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod client;
mod errno;
pub mod path;
pub mod ring;
pub mod store;
pub mod wire;

pub use errno::Errno;
pub use wire::{Message, MsgType};

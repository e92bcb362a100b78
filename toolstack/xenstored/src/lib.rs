//! The host's xenstore server.
//!
//! Serves the [`xenstore::store::Store`] on a privileged unix socket (every
//! connection is dom0) and on per-guest sockets (every connection acts as one
//! unprivileged domain), with a write-ahead log so a restart keeps the tree.
//!
//! One thread reads each connection and handles its requests under one lock,
//! so the store sees them in a single order and every connection receives
//! replies and watch events in that order; a second thread per connection
//! sends events that other connections caused.
#![warn(missing_docs)]

mod conn;
mod crc;
mod files;
mod guestwatch;
mod outbox;
mod persist;
mod server;

pub use files::bind_private;
pub use persist::Persist;
pub use server::{Config, Server, GUEST_CONNS_MAX};
pub use xenstore::store::Quota;

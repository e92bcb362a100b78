//! The guest side: a sans-IO client and a blocking wrapper over a [`Transport`].
//!
//! [`Client`] never touches I/O. The caller moves bytes: [`Client::output`] /
//! [`Client::consume_output`] towards the server and [`Client::input`] back.
//! Replies are matched to requests by `req_id`; watch events, which may arrive
//! between replies, queue up for [`Client::next_event`]. After a reconnection
//! ([`Client::reconnected`]) requests in flight fail with
//! [`ClientError::Disconnected`] and the watches are registered again.

mod blocking;
mod machine;
mod request;

#[cfg(feature = "std")]
pub use blocking::StreamTransport;
pub use blocking::{BlockingClient, Error, Transport, Txn};
pub use machine::{Client, ClientError, ReqId};
pub use request::{Reply, Request, WatchEvent};

//! The guest's side of the store: a non-blocking xenstore client over the
//! host byte stream ([`link`]) and the publisher of the monitoring
//! counters under `data/mb/` ([`stats`]). The layout itself (paths,
//! status values, the stats record) is `clickos_proto`'s, shared with the
//! host.
//!
//! All paths are relative ([`clickos_proto::Home::Own`]), so they resolve
//! under `/local/domain/<D>` for whatever domain id the store gave this
//! guest's connection.

pub mod link;
pub mod stats;

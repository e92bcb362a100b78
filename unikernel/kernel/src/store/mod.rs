//! The guest's side of the store: a non-blocking xenstore client over the
//! host byte stream ([`link`]), ClickOS's layout under the guest's home
//! ([`clickos`]) and the monitoring counters under `data/mb/` ([`stats`]).
//!
//! All paths are relative, so they resolve under `/local/domain/<D>` for
//! whatever domain id the store gave this guest's connection.

pub mod clickos;
pub mod link;
pub mod stats;

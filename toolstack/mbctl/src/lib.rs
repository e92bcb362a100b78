//! `mbctl`, the host toolstack: the CLI's commands, the agent, and the
//! shared store client. `main.rs` only parses and dispatches.
#![warn(missing_docs)]

pub mod agent;
pub mod chain;
pub mod cli;
pub mod cmd;
pub mod rundir;
pub mod store;

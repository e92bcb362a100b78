//! `mbctl`, the host toolstack: the CLI's commands, the agent, and the
//! shared store client. `main.rs` only parses and dispatches.
#![warn(missing_docs)]

pub mod agent;
pub mod backend;
pub mod chain;
pub mod cli;
pub mod clickos;
pub mod cmd;
pub mod install;
pub mod json;
pub mod net;
pub mod rundir;
pub mod store;
pub mod sys;
pub mod vm;

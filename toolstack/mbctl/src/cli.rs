//! The command line: one subcommand per concern, each defined in [`crate::cmd`].

use crate::cmd;
use clap::{Parser, Subcommand};

/// Run Click middleboxes as tiny VMs.
#[derive(Debug, Parser)]
#[command(name = "mbctl", version, about, after_help = cmd::EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the host agent (the store, later VM supervision) in the foreground, or stop it.
    #[command(
        after_help = "Examples:\n  mbctl agent &          # serve the store\n  mbctl agent stop"
    )]
    Agent(cmd::agent::AgentArgs),
    /// Print environment settings for store clients (`XENSTORED_PATH=...`).
    #[command(
        after_help = "Examples:\n  mbctl env\n  eval \"$(mbctl env --export)\"; xenstore-ls /"
    )]
    Env(cmd::env::EnvArgs),
    /// Run a Click configuration in this process (pcap files, Linux interfaces).
    Run(cmd::run::RunArgs),
    /// Check a configuration and report every error as file:line:col.
    Check(cmd::check::CheckArgs),
    /// Show element documentation (one class, or the list).
    Doc(cmd::doc::DocArgs),
}

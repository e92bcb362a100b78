//! The command line: one subcommand per concern, each defined in [`crate::cmd`].

use crate::cmd;
use clap::{Parser, Subcommand};

/// Run Click middleboxes as tiny VMs.
#[derive(Debug, Parser)]
#[command(
    name = "mbctl",
    version,
    about,
    after_help = cmd::EXAMPLES,
    after_long_help = cmd::tooling::after_long_help()
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Boot a middlebox VM from a Click configuration.
    Boot(cmd::boot::BootArgs),
    /// List middleboxes.
    Ls(cmd::ls::LsArgs),
    /// Show one middlebox in detail.
    Show(cmd::ls::ShowArgs),
    /// Read a Click handler of a middlebox (ELEMENT.HANDLER).
    Read(cmd::handler::ReadArgs),
    /// Write a Click handler of a middlebox.
    Write(cmd::handler::WriteArgs),
    /// List a middlebox's handlers.
    Handlers(cmd::handler::HandlersArgs),
    /// Hot-swap a middlebox's configuration.
    Reconfigure(cmd::reconfigure::ReconfigureArgs),
    /// Print a middlebox's serial output.
    Logs(cmd::logs::LogsArgs),
    /// Attach to a middlebox's serial console (Ctrl-] detaches).
    Console(cmd::console::ConsoleArgs),
    /// Stop a middlebox gracefully (Halted, then power-off).
    Stop(cmd::stop::StopArgs),
    /// Destroy a middlebox at once.
    Destroy(cmd::stop::DestroyArgs),
    /// Run the host agent (store, VM supervision) in the foreground, or stop it.
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
    /// Capture a middlebox NIC's frames into a pcap file (or stdout).
    Capture(cmd::capture::CaptureArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(cmd::tooling::CompletionsArgs),
    /// Write man pages into a directory (`make man`).
    #[command(hide = true)]
    Man(cmd::tooling::ManArgs),
    /// Chains of middleboxes wired through Open vSwitch (up, down, ls, show, check).
    Chain(cmd::chain::ChainArgs),
    /// Element state of running middleboxes (ls, get, put, delete, move, clone, merge, snapshot, restore, bench).
    State(cmd::state::StateArgs),
}

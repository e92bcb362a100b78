//! `mbctl`: the operator's command-line tool for Click middleboxes. Each
//! subcommand lives in its own module under `cmd/`.

mod cmd;

use clap::{Parser, Subcommand};

/// Click middleboxes as tiny VMs: run, check and document configurations.
#[derive(Parser)]
#[command(name = "mbctl", version, about, after_help = cmd::EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(cmd::run::Args),
    Check(cmd::check::Args),
    Doc(cmd::doc::Args),
}

fn main() {
    let status = match Cli::parse().command {
        Command::Run(a) => cmd::run::main(a),
        Command::Check(a) => cmd::check::main(a),
        Command::Doc(a) => cmd::doc::main(a),
    };
    std::process::exit(status);
}

//! `mbctl`: the operator's command-line tool for Click middleboxes. Parsing
//! and dispatch only; each subcommand lives in its own module under `cmd/`.

use clap::Parser;
use mbctl::cli::{Cli, Command};
use mbctl::cmd;

/// Exit status for a command that returns `anyhow::Result`.
fn status(r: anyhow::Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mbctl: {e:#}");
            1
        }
    }
}

fn main() {
    let cli = Cli::parse();
    mbctl::store::default_store_path();
    let code = match cli.command {
        Command::Run(a) => cmd::run::main(a),
        Command::Check(a) => cmd::check::main(a),
        Command::Doc(a) => cmd::doc::main(a),
        Command::Agent(a) => status(cmd::agent::run(a)),
        Command::Env(a) => status(cmd::env::run(a)),
    };
    std::process::exit(code);
}

use clap::Parser;
use mbctl::cli::{Cli, Command};
use mbctl::cmd;

fn main() {
    let cli = Cli::parse();
    mbctl::store::default_store_path();
    let result = match cli.command {
        Command::Agent(a) => cmd::agent::run(a),
        Command::Env(a) => cmd::env::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Check(a) => cmd::check::run(a),
        Command::Doc(a) => cmd::doc::run(a),
    };
    if let Err(e) = result {
        eprintln!("mbctl: {e:#}");
        std::process::exit(1);
    }
}

//! `mbctl`, the toolstack's command line: parses the command, resolves the
//! run directory and the store once, dispatches to the libraries
//! (`mb_agent`, `mb_vm`, `mb_chain`, `mb_store_client`, `mb_runner`) and
//! prints what they return.
#![warn(missing_docs)]

mod cli;
mod cmd;
mod json;

use clap::Parser;
use cli::{Cli, Command};
use mb_vm::rundir::RunDir;

fn main() {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Agent(_)) {
        // `mbctl ls | head` should end quietly, as other tools do.
        // SAFETY: restoring the default disposition before any thread starts.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    // Every agent this process runs or forks off runs the chain controller.
    mb_controller::register();
    let run = &RunDir::from_env();
    let result = match cli.command {
        Command::Boot(a) => cmd::boot::run(run, a),
        Command::Ls(a) => cmd::ls::ls(run, a),
        Command::Show(a) => cmd::ls::show(run, a),
        Command::Read(a) => cmd::handler::read(run, a),
        Command::Write(a) => cmd::handler::write(run, a),
        Command::Handlers(a) => cmd::handler::handlers(run, a),
        Command::Reconfigure(a) => cmd::reconfigure::run(run, a),
        Command::Logs(a) => cmd::logs::logs(run, a),
        Command::Console(a) => cmd::console::console(run, a),
        Command::Stop(a) => cmd::stop::stop(run, a),
        Command::Destroy(a) => cmd::stop::destroy(run, a),
        Command::Agent(a) => cmd::agent::run(run, a),
        Command::Env(a) => cmd::env::run(run, a),
        Command::Run(a) => cmd::run::run(a),
        Command::Check(a) => cmd::check::run(a),
        Command::Doc(a) => cmd::doc::run(a),
        Command::Chain(a) => cmd::chain::run(run, a),
        Command::Capture(a) => cmd::capture::run(run, a),
        Command::State(a) => cmd::state::run(run, a),
        Command::Completions(a) => cmd::tooling::completions(a),
        Command::Man(a) => cmd::tooling::man(a),
    };
    if let Err(e) = result {
        eprintln!("mbctl: {e:#}");
        std::process::exit(1);
    }
}

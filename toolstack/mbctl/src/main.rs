use clap::Parser;
use mbctl::cli::{Cli, Command};
use mbctl::cmd;

fn main() {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Agent(_)) {
        // `mbctl ls | head` should end quietly, as other tools do.
        // SAFETY: restoring the default disposition before any thread starts.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    mbctl::store::default_store_path();
    let result = match cli.command {
        Command::Boot(a) => cmd::boot::run(a),
        Command::Ls(a) => cmd::ls::ls(a),
        Command::Show(a) => cmd::ls::show(a),
        Command::Read(a) => cmd::handler::read(a),
        Command::Write(a) => cmd::handler::write(a),
        Command::Handlers(a) => cmd::handler::handlers(a),
        Command::Reconfigure(a) => cmd::reconfigure::run(a),
        Command::Logs(a) => cmd::logs::logs(a),
        Command::Console(a) => cmd::console::console(a),
        Command::Stop(a) => cmd::stop::stop(a),
        Command::Destroy(a) => cmd::stop::destroy(a),
        Command::Agent(a) => cmd::agent::run(a),
        Command::Env(a) => cmd::env::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Check(a) => cmd::check::run(a),
        Command::Doc(a) => cmd::doc::run(a),
        Command::Chain(a) => cmd::chain::run(a),
        Command::Capture(a) => cmd::capture::run(a),
        Command::Completions(a) => cmd::tooling::completions(a),
        Command::Man(a) => cmd::tooling::man(a),
    };
    if let Err(e) = result {
        eprintln!("mbctl: {e:#}");
        std::process::exit(1);
    }
}

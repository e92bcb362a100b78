//! `mbctl run`: runs a configuration in this process, like Click's
//! user-level `click` driver.

use anyhow::bail;
use clap::ArgAction;

use super::config;

/// Run a Click configuration on pcap files or Linux interfaces.
///
/// Parses CONFIG (a file, `-` for standard input, or `-e EXPR`), builds the
/// router, and runs it until a `stop` (a DriverManager script, or the first
/// driver stop event such as `FromDump(..., STOP true)` at the end of its
/// trace), until nothing is left to do, or until SIGINT/SIGTERM. Then it
/// prints the `-h` handlers. Errors go to standard error as
/// `file:line:col: message` (exit status 1); standard output carries only
/// what the configuration prints.
#[derive(clap::Args, Debug)]
#[command(disable_help_flag = true, after_help = EXAMPLES)]
pub struct RunArgs {
    /// Simulated time: starts at 1000000000 s and jumps to the next timer
    /// whenever nothing is runnable (deterministic, instant replays).
    #[arg(long)]
    simtime: bool,
    /// Use EXPR as the configuration instead of a file.
    #[arg(short = 'e', long = "expression", value_name = "EXPR")]
    expr: Option<String>,
    /// After the run, print read handler ELEMENT.H (repeatable; element
    /// globs and class names select several elements).
    #[arg(short = 'h', long = "handler", value_name = "ELEMENT.H", action = ArgAction::Append)]
    handlers: Vec<String>,
    /// Use handler ELEMENT.H's value (integer, or true/false) as the exit
    /// status.
    #[arg(short = 'x', long = "exit-handler", value_name = "ELEMENT.H")]
    exit_handler: Option<String>,
    /// Build and initialize the router, but do not run it.
    #[arg(short = 'q', long)]
    quit: bool,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// The configuration file (`-` = standard input), then NAME=VALUE
    /// definitions overriding its top-level `define`s.
    #[arg(value_name = "CONFIG [NAME=VALUE]...")]
    rest: Vec<String>,
}

const EXAMPLES: &str = "\
Examples:
  mbctl run --simtime click-configs/firewall.click IN=click-configs/demo.pcap
  mbctl run conf.click IN=trace.pcap OUT=/tmp/out -h c.count -h chk.drops
  mbctl run -e 'FromDump(t.pcap, STOP true) -> c :: Counter -> Discard' -h c.count
  cat conf.click | mbctl run - IN=trace.pcap
  sudo mbctl run bridge.click          # FromDevice/ToDevice need root";

/// Runs `mbctl run`; exits with the run's status when it is not 0.
pub fn run(a: RunArgs) -> anyhow::Result<()> {
    let (source, file, defs) = match &a.expr {
        Some(e) => (e.clone(), "<expr>".to_string(), &a.rest[..]),
        None => match a.rest.split_first() {
            Some((path, defs)) => {
                let (s, f) = config::read(path)?;
                (s, f, defs)
            }
            None => bail!("no configuration (give a file, '-' or -e EXPR)"),
        },
    };
    let overrides = config::overrides(defs)?;
    let status = mb_runner::run(&mb_runner::RunOptions {
        source,
        file,
        overrides,
        simtime: a.simtime,
        handlers: a.handlers,
        exit_handler: a.exit_handler,
        quit: a.quit,
    });
    if status != 0 {
        std::process::exit(status);
    }
    Ok(())
}

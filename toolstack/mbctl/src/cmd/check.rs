//! `mbctl check`: reports every error in a configuration without running
//! it.

use anyhow::Context;

use super::config;

/// Check a Click configuration without running it.
///
/// Parses CONFIG and checks it as `mbctl run` would (element classes,
/// arguments, port counts, push and pull, connections), without opening
/// files or devices. Prints every error, in file order, as
/// `file:line:col: message` with a "did you mean" suggestion for a
/// mistyped class, element or handler name (exit status 1), or a one-line
/// summary (exit status 0).
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct CheckArgs {
    /// The configuration file (`-` = standard input), then NAME=VALUE
    /// definitions.
    #[arg(value_name = "CONFIG [NAME=VALUE]...", required = true)]
    rest: Vec<String>,
}

const EXAMPLES: &str = "\
Examples:
  mbctl check click-configs/firewall.click
  mbctl check conf.click WEBPORT=80
  echo 'Idle -> Counter -> Discard' | mbctl check -";

/// Runs `mbctl check`; exits with status 1 when there are errors.
pub fn run(a: CheckArgs) -> anyhow::Result<()> {
    let (path, defs) = a.rest.split_first().context("no configuration")?;
    let (source, file) = config::read(path)?;
    let overrides = config::overrides(defs)?;
    match mb_runner::check(&source, &file, &overrides) {
        Ok((elements, connections)) => {
            println!("{file}: {elements} elements, {connections} connections, 0 errors");
            Ok(())
        }
        Err(errs) => {
            for e in &errs.0 {
                eprintln!("{e}");
            }
            let n = errs.0.len();
            eprintln!("{file}: {n} error{}", if n == 1 { "" } else { "s" });
            std::process::exit(1);
        }
    }
}

//! `mbctl check`: reports every error in a configuration without running
//! it.

/// Check a Click configuration without running it.
///
/// Parses CONFIG and checks it as `mbctl run` would (element classes,
/// arguments, port counts, push and pull, connections), without opening
/// files or devices. Prints every error as `file:line:col: message` (exit
/// status 1), or a one-line summary (exit status 0).
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
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

/// Runs `mbctl check`.
pub fn main(a: Args) -> i32 {
    let Some((path, defs)) = a.rest.split_first() else {
        return 1;
    };
    let (source, file) = match super::read_config(path) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("mbctl check: {e}");
            return 1;
        }
    };
    let overrides = match super::overrides(defs) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("mbctl check: {e}");
            return 1;
        }
    };
    match mb_runner::check(&source, &file, &overrides) {
        Ok((elements, connections)) => {
            println!("{file}: {elements} elements, {connections} connections, 0 errors");
            0
        }
        Err(errs) => {
            for e in &errs.0 {
                eprintln!("{e}");
            }
            let n = errs.0.len();
            eprintln!("{file}: {n} error{}", if n == 1 { "" } else { "s" });
            1
        }
    }
}

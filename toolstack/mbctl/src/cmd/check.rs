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
/// summary (exit status 0). With `--vm`, checks it against what a
/// middlebox VM can run, as `mbctl boot` does: no host-only classes
/// (FromDump, ToDump: a guest has no files) and, with `--nics N`, no
/// FromDevice/ToDevice naming a NIC beyond the VM's N. With `--json`, prints a JSON array of the
/// errors instead (empty when there are none), each with `file`, `line`,
/// `col`, `message` and `suggestion` (null when there is none).
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct CheckArgs {
    /// The configuration file (`-` = standard input), then NAME=VALUE
    /// definitions.
    #[arg(value_name = "CONFIG [NAME=VALUE]...", required = true)]
    rest: Vec<String>,
    /// Print the errors as a JSON array on standard output.
    #[arg(long)]
    json: bool,
    /// Check for a middlebox VM, as `mbctl boot` does.
    #[arg(long)]
    vm: bool,
    /// With --vm: the VM's NIC count (FromDevice/ToDevice 0 to N-1); not
    /// checked when absent.
    #[arg(long, value_name = "N", requires = "vm")]
    nics: Option<usize>,
}

/// An error in `check --json` (and `chain check --json`).
#[derive(serde::Serialize)]
pub struct ErrorJson<'a> {
    file: &'a str,
    line: u32,
    col: u32,
    message: &'a str,
    suggestion: Option<&'a str>,
}

impl<'a> From<&'a click::Error> for ErrorJson<'a> {
    fn from(e: &'a click::Error) -> Self {
        ErrorJson {
            file: &e.span.file,
            line: e.span.line,
            col: e.span.col,
            message: &e.message,
            suggestion: e.suggestion.as_deref(),
        }
    }
}

const EXAMPLES: &str = "\
Examples:
  mbctl check click-configs/firewall.click
  mbctl check conf.click WEBPORT=80
  mbctl check --vm --nics 2 click-configs/firewall-vm.click
  echo 'Idle -> Counter -> Discard' | mbctl check -
  mbctl check --json conf.click | jq '.[].message'";

/// "1 error", "N errors": the summary line's count.
pub fn errors(n: usize) -> String {
    format!("{n} error{}", if n == 1 { "" } else { "s" })
}

/// Runs `mbctl check`; exits with status 1 when there are errors.
pub fn run(a: CheckArgs) -> anyhow::Result<()> {
    let (path, defs) = a.rest.split_first().context("no configuration")?;
    let (source, file) = config::read(path)?;
    let overrides = config::overrides(defs)?;
    let result = if a.vm {
        let nics = a.nics.unwrap_or(usize::MAX);
        mb_vm::guest::check(&source, &file, &overrides, nics)
    } else {
        mb_runner::check(&source, &file, &overrides).map_err(|e| e.0)
    };
    if a.json {
        let errs = result.as_ref().err().map_or(&[][..], |e| &e[..]);
        crate::json::print(&errs.iter().map(ErrorJson::from).collect::<Vec<_>>())?;
        if !errs.is_empty() {
            std::process::exit(1);
        }
        return Ok(());
    }
    match result {
        Ok((elements, connections)) => {
            println!("{file}: {elements} elements, {connections} connections, 0 errors");
            Ok(())
        }
        Err(errs) => {
            for e in &errs {
                eprintln!("{e}");
            }
            let n = errs.len();
            eprintln!("{file}: {}", errors(n));
            std::process::exit(1);
        }
    }
}

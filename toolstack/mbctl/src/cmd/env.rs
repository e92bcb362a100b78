//! `mbctl env`: how store clients find the agent's store.

use clap::Args;
use mb_vm::rundir::RunDir;

/// Arguments of `mbctl env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Prefix each line with `export ` (for `eval "$(mbctl env --export)"`).
    #[arg(long)]
    pub export: bool,
}

/// The lines `mbctl env` prints.
pub fn lines(run: &RunDir, export: bool) -> Vec<String> {
    let prefix = if export { "export " } else { "" };
    vec![format!(
        "{prefix}XENSTORED_PATH={}",
        run.store_socket().display()
    )]
}

/// Prints the settings.
pub fn run(run: &RunDir, args: EnvArgs) -> anyhow::Result<()> {
    for l in lines(run, args.export) {
        println!("{l}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_socket() {
        let r = RunDir::new("/tmp/r");
        assert_eq!(lines(&r, false), ["XENSTORED_PATH=/tmp/r/xenstored.sock"]);
        assert_eq!(
            lines(&r, true),
            ["export XENSTORED_PATH=/tmp/r/xenstored.sock"]
        );
    }
}

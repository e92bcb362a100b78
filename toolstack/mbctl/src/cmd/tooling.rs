//! Installing mbctl as a tool: `mbctl completions SHELL`, `mbctl man DIR`
//! (hidden; `make man` runs it), and the environment and exit statuses
//! that `mbctl --help` and the man page document.

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::PathBuf;

use crate::cli::Cli;

/// Print a shell completion script.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  mbctl completions bash > /etc/bash_completion.d/mbctl
  mbctl completions zsh > \"${fpath[1]}/_mbctl\"
  mbctl completions fish > ~/.config/fish/completions/mbctl.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Write man pages (mbctl.1 and one per subcommand) into DIR.
#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// The directory (created if missing).
    dir: PathBuf,
}

/// The environment variables mbctl reads (`grep env::var` keeps this list honest).
pub const ENVIRONMENT: &str = "\
Environment:
  MBCTL_RUN_DIR   run directory: the agent, its store, VM files (default /run/mbctl)
  XENSTORED_PATH  store socket of clients (default $MBCTL_RUN_DIR/xenstored.sock;
                  on a Xen dom0, xenstored's)
  MB_IMAGE        guest image for boot (default: images/mb.elf here, in this
                  checkout, or PREFIX/share/mb/mb.elf of an installed mbctl)
  MB_QEMU         QEMU binary (default qemu-system-x86_64)
  MB_QEMU_USER    the unprivileged user QEMU runs as when the agent is root
                  (default mb-qemu, created on first use)
  MBCTL_OVS       'private': chains use a private Open vSwitch in the run
                  directory even when the system's runs
  OVS_RUNDIR      the Open vSwitch instance boot's bridge:BR NICs join
  MBCTL_METRICS   ADDR:PORT: the agent serves Prometheus metrics there
                  (as `mbctl agent --metrics`)
  MBCTL_FAULT     test hook, never set in use: OP:N[:fail] stops operation OP
                  (boot, destroy, chain-up...) after its step N, as a crash
                  there would (see toolstack/vm/src/fault.rs)";

/// What mbctl's exit status means.
pub const EXIT_STATUS: &str = "\
Exit status:
  0    success
  1    failure, said on standard error (including configuration errors)
  2    bad command line
  run: Click's: 1 if the configuration fails, else 0, or with -x HANDLER
       that handler's value (255 if it cannot be read)";

/// `mbctl --help`'s text after the subcommands: examples, environment,
/// exit statuses.
pub fn after_long_help() -> String {
    format!("{}\n\n{ENVIRONMENT}\n\n{EXIT_STATUS}", super::EXAMPLES)
}

/// Runs `mbctl completions`.
pub fn completions(a: CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "mbctl", &mut std::io::stdout());
    Ok(())
}

/// Runs `mbctl man`.
pub fn man(a: ManArgs) -> Result<()> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    clap_mangen::generate_to(Cli::command(), &a.dir)
        .with_context(|| format!("writing man pages into {}", a.dir.display()))?;
    eprintln!("mbctl: man pages in {}", a.dir.display());
    Ok(())
}

//! `mbctl chain`: chains of middleboxes wired through Open vSwitch.

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

use mb_chain::{self as chain, plan::Backend};
use mb_vm::rundir::RunDir;

/// Arguments of `mbctl chain`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ChainArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ChainAction,
}

/// The chain actions.
#[derive(Debug, Subcommand)]
pub enum ChainAction {
    /// Boot the chain FILE describes and wire it through Open vSwitch.
    Up {
        /// The chain file (TOML; see click-configs/chains/README.md).
        file: PathBuf,
        /// How hops run: `vm` (middlebox VMs, the default) or `runner`
        /// (`mbctl run` processes on the host); overrides the file's `backend`.
        #[arg(long)]
        backend: Option<String>,
    },
    /// Remove every VM, process, tap, bridge, rule and namespace of a chain.
    Down {
        /// The chain's name.
        name: String,
    },
    /// List the chains that are up.
    Ls,
    /// A chain's hops with live packet counters.
    Show {
        /// The chain's name.
        name: String,
    },
}

const EXAMPLES: &str = "\
Examples:
  sudo mbctl chain up click-configs/chains/fw-nat.toml
  mbctl chain show fwnat
  sudo mbctl chain down fwnat";

/// Runs the subcommand.
pub fn run(run: &RunDir, a: ChainArgs) -> Result<()> {
    match a.action {
        ChainAction::Up { file, backend } => {
            let b = match backend {
                Some(s) => Some(
                    Backend::parse(&s)
                        .ok_or_else(|| anyhow!("--backend '{s}': expected vm or runner"))?,
                ),
                None => None,
            };
            let plan = chain::up::up(run, &file, b)?;
            println!(
                "chain {} up: {} hop(s) on bridges {}",
                plan.name,
                plan.hops.len(),
                plan.bridges.join(", ")
            );
            for h in &plan.hops {
                println!(
                    "  {:<8} in {} {} ({})  out {} {} ({})",
                    h.name, h.inp.mac, h.inp.ip, h.inp.bridge, h.out.mac, h.out.ip, h.out.bridge
                );
            }
            Ok(())
        }
        ChainAction::Down { name } => {
            chain::down::down(run, &name)?;
            println!("chain {name} down");
            Ok(())
        }
        ChainAction::Ls => {
            print!("{}", chain::show::list(run)?);
            Ok(())
        }
        ChainAction::Show { name } => {
            let hops = chain::show::status(run, &name)?;
            print!("{}", chain::show::render(&name, &hops));
            Ok(())
        }
    }
}

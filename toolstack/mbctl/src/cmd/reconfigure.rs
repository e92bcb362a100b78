//! `mbctl reconfigure`: hot-swap a middlebox's config.

use anyhow::{bail, Result};
use mb_agent::client;
use mb_agent::vms::{self, Reconfigured};
use mb_vm::record::Record;
use mb_vm::rundir::RunDir;
use std::time::Duration;

use super::{config, vmcheck};

/// Replace a running middlebox's config.
///
/// Checks CONFIG on the host, writes it to the guest's store nodes and
/// sets `status` to `Running` again; the guest builds the new router and
/// moves the state of same-named elements over (Click's hotswap). Reports
/// the guest's error (file:line:col) if the new config does not load; the
/// store then keeps the previous config.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  mbctl reconfigure fw click-configs/firewall-strict.click")]
pub struct ReconfigureArgs {
    /// The middlebox.
    name: String,
    /// The new Click configuration.
    config: String,
    /// Seconds to wait for the guest.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

/// Runs `mbctl reconfigure`.
pub fn run(run: &RunDir, a: ReconfigureArgs) -> Result<()> {
    let (source, file) = config::read(&a.config)?;
    let mut st = client::store(run)?;
    let rec = Record::load_existing(&mut st, &a.name)?;
    vmcheck::check_or_exit(&source, &file, rec.nics.len());
    let timeout = Duration::from_secs(a.timeout);
    match vms::reconfigure(run, &mut st, &rec, &source, &file, timeout)? {
        Reconfigured::Unchanged => println!("{}: already running this config", rec.name),
        Reconfigured::Loaded { config_name } => println!("{}: now running {config_name}", rec.name),
        Reconfigured::Rejected { errors, kept } => {
            eprintln!("{errors}");
            bail!(
                "'{}' rejected {file}; it keeps its previous config ({kept})",
                rec.name
            )
        }
    }
    Ok(())
}

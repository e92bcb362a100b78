//! `mbctl reconfigure`: hot-swap a middlebox's config.

use anyhow::{bail, Result};
use mb_agent::client;
use mb_vm::record::Record;
use mb_vm::rundir::RunDir;
use std::path::Path;
use std::time::Duration;

use super::{config, vmcheck};
use mb_agent::vms;
use mb_store_client::clickos::{self, LoadOutcome};
use mb_vm::record as rec_paths;

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
    let be = vms::backend_of(&rec)?;
    if !be.alive(&rec) {
        bail!(
            "'{}' is not running (state {})",
            rec.name,
            rec.state.as_str()
        );
    }
    let name = Path::new(&file)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    let old = clickos::read_config(&mut st, rec.domid)?;
    if old == source {
        println!("{}: already running this config", rec.name);
        return Ok(());
    }
    let old_name = rec.config_name.clone();
    let before = clickos::read_u64(&mut st, &clickos::loads(rec.domid))?.unwrap_or(0);
    clickos::apply(&mut st, &clickos::load_ops(rec.domid, &source, &name))?;
    match vms::wait_load(
        &mut st,
        be.as_ref(),
        &rec,
        before,
        Duration::from_secs(a.timeout),
    )? {
        LoadOutcome::Loaded => {
            let b = rec_paths::path(&rec.name);
            st.write(&format!("{b}/config_name"), &name)?;
            st.write(&format!("{b}/config_file"), &file)?;
            println!("{}: now running {name}", rec.name);
            Ok(())
        }
        LoadOutcome::Rejected(msg) => {
            // Keep the config that runs in the store (for `handlers`),
            // without asking the guest to load anything.
            clickos::apply(&mut st, &clickos::config_ops(rec.domid, &old, &old_name))?;
            eprintln!("{}", mb_vm::guest::name_guest_errors(&msg, &file));
            bail!(
                "'{}' rejected {file}; it keeps its previous config ({old_name})",
                rec.name
            )
        }
    }
}

//! `mbctl stop` and `mbctl destroy`.

use anyhow::Result;

use mb_agent::{client, proto::Request};
use mb_vm::rundir::RunDir;

/// Stop a middlebox gracefully.
///
/// Writes `Halted` to its router's status (the guest stops its router and
/// powers off), waits for the VM to exit, then removes its taps, store
/// nodes and record. A VM still there after --timeout is destroyed.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  mbctl stop fw\n  mbctl stop fw --timeout 2")]
pub struct StopArgs {
    /// The middlebox.
    name: String,
    /// Seconds to wait for the guest to power off.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

/// Destroy a middlebox at once.
///
/// Ends the VM immediately (SIGTERM, then SIGKILL for QEMU; `xl destroy`
/// on Xen) and removes its taps, store nodes and record.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  mbctl destroy fw")]
pub struct DestroyArgs {
    /// The middlebox.
    name: String,
}

/// Runs `mbctl stop`.
pub fn stop(run: &RunDir, a: StopArgs) -> Result<()> {
    let req = Request::Stop {
        name: a.name,
        timeout_ms: a.timeout.saturating_mul(1000),
    };
    super::print_done(client::call(run, &req)?);
    Ok(())
}

/// Runs `mbctl destroy`.
pub fn destroy(run: &RunDir, a: DestroyArgs) -> Result<()> {
    super::print_done(client::call(run, &Request::Destroy { name: a.name })?);
    Ok(())
}

//! `mbctl chain down`: removes what a chain's journal lists, newest first.

use crate::error::{Error, Result};
use mb_ovs::{netdev, Ovs};
use mb_vm::error::report;

use super::journal::{self, Made};
use super::{dir, ovs_dir, runner};
use mb_agent::client;
use mb_vm::rundir::RunDir;

/// Takes chain `name` down: every process/VM, rule, port, device,
/// namespace and bridge it made; then its record.
pub fn down(run: &RunDir, name: &str) -> Result<()> {
    let d = dir(run, name);
    if !d.join("made").exists() {
        let up = super::names(run)?;
        return Err(Error::Invalid(format!(
            "no chain {name} is up{}",
            if up.is_empty() {
                String::new()
            } else {
                format!(" (up: {})", up.join(", "))
            }
        )));
    }
    let made = journal::read(&d.join("made"))?;
    undo(run, name, &made)?;
    std::fs::remove_dir_all(&d)?;
    Ok(())
}

/// Removes `made` (newest first), going on past errors; fails with all of
/// them at the end (the caller then keeps the journal, so a later `down`
/// tries again). Removing what is already gone is not an error.
pub fn undo(run: &RunDir, owner: &str, made: &[Made]) -> Result<()> {
    let mut errors: Vec<String> = Vec::new();
    let ovs =
        || -> Option<Ovs> { Ovs::system().or_else(|| Ovs::private_if_running(&ovs_dir(run))) };
    let mut note = |r: Result<()>| {
        if let Err(e) = r {
            errors.push(report(&e));
        }
    };
    // Replicated hops first: the controller stops acting on them, and
    // their replicas (some of which the journal never saw) go.
    if made.iter().any(|m| matches!(m, Made::Vm(_))) {
        note(super::replica::forget_all(run, owner));
    }
    mb_vm::fault::begin("chain-undo");
    for m in made.iter().rev() {
        if let Err(e) = mb_vm::fault::step() {
            note(Err(e.into()));
            continue;
        }
        match m {
            Made::Proc(pid, start, _) => runner::stop(*pid, *start),
            Made::Vm(vm) => note(destroy_vm(run, vm)),
            Made::Flows(b) => {
                if let Some(o) = ovs() {
                    if o.bridge_exists(b).unwrap_or(false) {
                        note(o.del_flows(b, owner).map_err(Error::from));
                    }
                }
            }
            Made::Port(b, p) => {
                if let Some(o) = ovs() {
                    note(o.del_port(b, p).map_err(Error::from));
                }
            }
            Made::Link(l) => note(netdev::del_link(l, None).map_err(Error::from)),
            Made::Netns(n) => {
                if netdev::netns_exists(n) {
                    // Whatever still runs in it (a hop the journal missed
                    // because we crashed right after starting it).
                    if n.starts_with("mbc-") {
                        kill_in(n);
                    }
                    note(
                        netdev::ip(None, &["netns", "del", n])
                            .map(drop)
                            .map_err(Error::from),
                    );
                }
            }
            Made::Bridge(b) => {
                if let Some(o) = ovs() {
                    note(o.del_bridge(b).map_err(Error::from));
                }
            }
            Made::Ovs(d) => {
                if let Some(o) = Ovs::private_if_running(d) {
                    // Shared by every chain: stop it only when no bridge is left.
                    if o.bridges().map(|b| b.is_empty()).unwrap_or(false) {
                        note(o.stop().map_err(Error::from));
                    }
                }
            }
            Made::Face(..) => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Undo(errors))
    }
}

fn kill_in(ns: &str) {
    let pids = netdev::ip(None, &["netns", "pids", ns]).unwrap_or_default();
    for p in pids
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
    {
        if let Some(t) = runner::start_time(p) {
            runner::stop(p, t);
        }
    }
}

/// Destroys middlebox VM `vm` through the agent (which removes its taps
/// from whichever switch they were added to); one already gone is fine.
pub fn destroy_vm(run: &RunDir, vm: &str) -> Result<()> {
    super::replica::destroy(vm, &|r| client::call(run, r))
}

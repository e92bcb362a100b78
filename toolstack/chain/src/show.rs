//! `mbctl chain show` and `ls`: a chain's hops and their live counters.

use crate::error::{Error, Result};
use mb_ovs::{Ovs, PortStats};
use std::fmt::Write;

use super::journal::{self, Made};
use super::{dir, ovs_dir, runner};
use mb_vm::rundir::RunDir;

/// One hop as `show` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HopStatus {
    /// Its name.
    pub name: String,
    /// `running`, `exited` or `vm`.
    pub state: String,
    /// The switch ports of its faces.
    pub in_port: String,
    /// See `in_port`.
    pub out_port: String,
    /// Counters of the switch's port towards its `in` face.
    pub inp: PortStats,
    /// Counters of the switch's port towards its `out` face.
    pub out: PortStats,
}

impl HopStatus {
    /// Packets the switch delivered to the hop from the left.
    pub fn l2r_in(&self) -> u64 {
        self.inp.tx_packets
    }
    /// Packets the hop sent on to the right.
    pub fn l2r_out(&self) -> u64 {
        self.out.rx_packets
    }
    /// Packets delivered to the hop from the right.
    pub fn r2l_in(&self) -> u64 {
        self.out.tx_packets
    }
    /// Packets the hop sent back to the left.
    pub fn r2l_out(&self) -> u64 {
        self.inp.rx_packets
    }
    /// Packets the switch could not hand to the hop (its device was full).
    pub fn dropped(&self) -> u64 {
        self.inp.tx_dropped + self.out.tx_dropped
    }
}

/// The hops of chain `name`, in order, with live counters.
pub fn status(run: &RunDir, name: &str) -> Result<Vec<HopStatus>> {
    let made = journal::read(&dir(run, name).join("made"))?;
    if made.is_empty() {
        return Err(Error::Invalid(format!("no chain {name} is up")));
    }
    let ovs = Ovs::system()
        .or_else(|| Ovs::private_if_running(&ovs_dir(run)))
        .ok_or_else(|| {
            Error::Invalid("Open vSwitch is not running (was the host restarted?)".into())
        })?;
    let mut hops: Vec<HopStatus> = Vec::new();
    for m in &made {
        match m {
            Made::Face(h, side, br, port) => {
                let i = match hops.iter().position(|x| &x.name == h) {
                    Some(i) => i,
                    None => {
                        hops.push(HopStatus {
                            name: h.clone(),
                            ..Default::default()
                        });
                        hops.len() - 1
                    }
                };
                let st = ovs.port_stats(br, port).unwrap_or_default();
                if side == "in" {
                    hops[i].in_port = port.clone();
                    hops[i].inp = st;
                } else {
                    hops[i].out_port = port.clone();
                    hops[i].out = st;
                }
            }
            Made::Proc(pid, start, h) => {
                if let Some(x) = hops.iter_mut().find(|x| &x.name == h) {
                    x.state = if runner::alive(*pid, *start) {
                        format!("running (pid {pid})")
                    } else {
                        "exited".into()
                    };
                }
            }
            _ => {}
        }
    }
    // A VM is recorded before its faces, so its hop is known only now.
    for m in &made {
        if let Made::Vm(vm) = m {
            if let Some(x) = hops
                .iter_mut()
                .find(|x| vm.ends_with(&format!("-{}", x.name)))
            {
                x.state = format!("vm {vm}");
            }
        }
    }
    Ok(hops)
}

/// `show`'s table.
pub fn render(name: &str, hops: &[HopStatus]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "chain {name}: {} hop(s), left to right; packets counted at the switch",
        hops.len()
    );
    let _ = writeln!(
        s,
        "{:<10} {:<22} {:>10} {:>10} {:>10} {:>10} {:>8}  ports",
        "hop", "state", "l->r in", "l->r out", "r->l in", "r->l out", "dropped"
    );
    for h in hops {
        let _ = writeln!(
            s,
            "{:<10} {:<22} {:>10} {:>10} {:>10} {:>10} {:>8}  {} {}",
            h.name,
            h.state,
            h.l2r_in(),
            h.l2r_out(),
            h.r2l_in(),
            h.r2l_out(),
            h.dropped(),
            h.in_port,
            h.out_port
        );
    }
    s
}

/// One chain as `ls` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSummary {
    /// Its name.
    pub name: String,
    /// How its hops run (`vm` or `runner`).
    pub backend: String,
    /// How many hops it has.
    pub hops: usize,
    /// False when a runner hop has exited.
    pub up: bool,
}

/// The chains that are up (or half up), sorted by name.
pub fn summaries(run: &RunDir) -> Result<Vec<ChainSummary>> {
    let mut v = Vec::new();
    for name in super::names(run)? {
        let d = dir(run, &name);
        let made = journal::read(&d.join("made"))?;
        let backend = std::fs::read_to_string(d.join("backend")).unwrap_or_default();
        let procs: Vec<bool> = made
            .iter()
            .filter_map(|m| match m {
                Made::Proc(p, t, _) => Some(runner::alive(*p, *t)),
                _ => None,
            })
            .collect();
        let vms = made.iter().filter(|m| matches!(m, Made::Vm(_))).count();
        v.push(ChainSummary {
            name,
            backend: backend.trim().to_string(),
            hops: procs.len() + vms,
            up: procs.iter().all(|a| *a),
        });
    }
    Ok(v)
}

/// `ls`'s lines: name, backend, hops, state.
pub fn render_list(chains: &[ChainSummary]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{:<10} {:<8} {:>4}  state", "chain", "backend", "hops");
    for c in chains {
        let state = if c.up {
            "up"
        } else {
            "degraded (a hop exited)"
        };
        let _ = writeln!(s, "{:<10} {:<8} {:>4}  {state}", c.name, c.backend, c.hops);
    }
    s
}

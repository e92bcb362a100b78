//! `mbctl chain show` and `ls`: a chain's hops and their live counters.

use crate::error::{Error, Result};
use mb_ovs::{Ovs, PortStats};
use std::fmt::Write;

use super::journal::{self, Made};
use super::{dir, ovs_dir, runner};
use mb_vm::rundir::RunDir;

/// One hop as `show` reports it.
#[derive(Clone, Debug, Default, PartialEq)]
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
    /// Its replicas (one for a hop without a policy).
    pub replicas: Vec<ReplicaStatus>,
    /// Its policy, for a replicated hop.
    pub policy: Option<String>,
}

/// One replica as `show` reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplicaStatus {
    /// Its VM (or process) name.
    pub name: String,
    /// `booting`, `warm`, `running`, `draining` or `failed`.
    pub state: String,
    /// Packets it received, over its NICs.
    pub pkts_in: u64,
    /// Packets it sent, over its NICs.
    pub pkts_out: u64,
    /// Its last sample of the hop's scaling metric.
    pub metric: Option<f64>,
}

fn add(a: &mut PortStats, b: &PortStats) {
    a.rx_packets += b.rx_packets;
    a.tx_packets += b.tx_packets;
    a.tx_dropped += b.tx_dropped;
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
    for h in hops.iter_mut() {
        // The switch's view of the hop's one middlebox.
        h.replicas = vec![ReplicaStatus {
            name: h
                .state
                .strip_prefix("vm ")
                .unwrap_or(h.name.as_str())
                .to_string(),
            state: if h.state == "exited" {
                "failed"
            } else {
                "running"
            }
            .into(),
            pkts_in: h.inp.tx_packets + h.out.tx_packets,
            pkts_out: h.inp.rx_packets + h.out.rx_packets,
            metric: None,
        }];
    }
    if let Ok(mut st) = run.connect_store() {
        for r in super::replica::load_chain(&mut st, name)? {
            let at = r.index.min(hops.len());
            hops.insert(at, replicated(&ovs, &mut st, &r));
        }
    }
    Ok(hops)
}

/// A replicated hop: its replicas with the guests' own counters, and the
/// switch's counters summed over them.
fn replicated(
    ovs: &Ovs,
    st: &mut mb_store_client::Store,
    h: &super::replica::HopState,
) -> HopStatus {
    let mut s = HopStatus {
        name: h.hop.clone(),
        state: format!(
            "{} of {}..{} serving",
            h.count(super::replica::RState::Running),
            h.policy.min,
            h.policy.max
        ),
        policy: Some(h.policy.describe()),
        ..Default::default()
    };
    for r in &h.replicas {
        let (mut pin, mut pout) = (0, 0);
        if let Some(d) = r.domid {
            for i in 0..crate::vm::HOP_NICS {
                if let Ok(c) = mb_store_client::clickos::nic_counters(st, d, i) {
                    pin += c.rx_packets;
                    pout += c.tx_packets;
                }
            }
        }
        if let (Some(i), Some(o)) = (&r.inp, &r.out) {
            add(
                &mut s.inp,
                &ovs.port_stats(&h.left.bridge, &i.dev).unwrap_or_default(),
            );
            add(
                &mut s.out,
                &ovs.port_stats(&h.right.bridge, &o.dev).unwrap_or_default(),
            );
        }
        s.replicas.push(ReplicaStatus {
            name: r.vm.clone(),
            state: r.state.as_str().into(),
            pkts_in: pin,
            pkts_out: pout,
            metric: r.metric,
        });
    }
    s.in_port = h.left.bridge.clone();
    s.out_port = h.right.bridge.clone();
    s
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
        if let Some(p) = &h.policy {
            let _ = writeln!(s, "  policy: {p}");
            for r in &h.replicas {
                let _ = writeln!(
                    s,
                    "  {:<20} {:<9} in {:>10}  out {:>10}  metric {}",
                    r.name,
                    r.state,
                    r.pkts_in,
                    r.pkts_out,
                    r.metric.map_or("-".into(), |m| format!("{m:.1}"))
                );
            }
        }
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
        let faces = made
            .iter()
            .filter(|m| matches!(m, Made::Face(_, side, ..) if side == "in"))
            .count();
        let replicated = run
            .connect_store()
            .ok()
            .and_then(|mut st| super::replica::load_chain(&mut st, &name).ok())
            .map_or(0, |v| v.len());
        v.push(ChainSummary {
            name,
            backend: backend.trim().to_string(),
            hops: faces + replicated,
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

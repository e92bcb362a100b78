//! `mbctl chain up`: makes what the plan lists, recording each thing
//! before making it; on any failure removes everything made so far.

use crate::error::{Context, Error, Result};
use mb_ovs::{netdev, Ovs};
use mb_vm::bail;
use mb_vm::error::WithContext;
use std::path::Path;
use std::time::{Duration, Instant};

use super::journal::{Journal, Made};
use super::plan::{self, Backend, EndPlan, Face, HopPlan, Plan};
use super::policy;
use super::replica::{self, HopState, Port, RState, Side};
use super::spec::{self, Chain};
use super::{dir, down, events, ovs_dir, runner, split, vm};
use mb_vm::rundir::RunDir;

/// A step of `up` that takes time, reported as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Hop `hop`'s VM `vm` is booting.
    Booting {
        /// The hop.
        hop: &'a str,
        /// Its middlebox VM.
        vm: &'a str,
    },
    /// Hop `hop`'s VM runs its configuration.
    Running {
        /// The hop.
        hop: &'a str,
        /// How long the boot took.
        took: Duration,
        /// The agent's notes on the boot (e.g. the accelerator's fallback).
        notes: &'a [String],
    },
    /// Hop `hop`'s runner process started.
    Started {
        /// The hop.
        hop: &'a str,
        /// Its process.
        pid: i32,
    },
    /// Hop `hop`'s runner process opened its devices.
    Ready {
        /// The hop.
        hop: &'a str,
        /// How long since it started.
        took: Duration,
    },
    /// Hop `hop`'s faces are switch ports: (bridge, port) towards the left
    /// end, then towards the right.
    Wired {
        /// The hop.
        hop: &'a str,
        /// Its `in` face's bridge and port.
        inp: (&'a str, &'a str),
        /// Its `out` face's bridge and port.
        out: (&'a str, &'a str),
    },
}

/// Brings chain file `file` up with `backend` (else the file's, else
/// VMs), telling `progress` of each hop as it boots and is wired; returns
/// its plan.
pub fn up(
    run: &RunDir,
    file: &Path,
    backend: Option<Backend>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Plan> {
    let chain = spec::load(file)?;
    let backend = backend
        .or_else(|| chain.backend.as_deref().and_then(Backend::parse))
        .unwrap_or(Backend::Vm);
    let plan = plan::derive(&chain, backend);
    let devices = check_configs(&chain, &plan)?;
    check_replicated(&chain, backend)?;
    if dir(run, &chain.name).join("made").exists() {
        bail!(
            "chain {} is already up (or half up): `mbctl chain down {}` first",
            chain.name,
            chain.name
        );
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("chain up needs root (network namespaces, devices, Open vSwitch)");
    }
    let d = dir(run, &chain.name);
    run.prepare()
        .with_context(|| format!("creating {}", run.root().display()))?;
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    private_file(&d.join("chain.toml"), &absolute(&chain, file)?)?;
    private_file(&d.join("backend"), backend.as_str())?;
    let mut j = Journal::open(&d.join("made"))?;
    mb_vm::fault::begin("chain-up");
    let made = make(run, &chain, &plan, &devices, &mut j, progress)
        .and_then(|()| Ok(mb_vm::fault::step()?));
    match made {
        Ok(()) => Ok(plan),
        Err(e) => match down::undo(run, &chain.name, j.entries()) {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(&d);
                Err(Error::wrap(
                    format!(
                        "chain {} not started; everything it made was removed",
                        chain.name
                    ),
                    e,
                ))
            }
            // The journal stays: it is what `chain down` removes later.
            Err(u) => Err(Error::wrap(
                format!(
                    "chain {} not started, and removing what it made failed too ({u}); \
                     what is left is recorded: remove it with `mbctl chain down {}`",
                    chain.name, chain.name
                ),
                e,
            )),
        },
    }
}

/// Writes `text` to a new file only root reads (0600).
pub(crate) fn private_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// The chain file with hop configs made absolute, so `show`/`down` and a
/// later `up` from the record do not depend on the caller's directory.
fn absolute(chain: &Chain, file: &Path) -> Result<String> {
    let mut text = std::fs::read_to_string(file)?;
    text.push_str("\n# hop configurations as resolved by `chain up`:\n");
    for h in &chain.hops {
        let p = h.config.canonicalize().unwrap_or_else(|_| h.config.clone());
        text.push_str(&format!("#   {} = {}\n", h.name, p.display()));
    }
    Ok(text)
}

/// Every hop's configuration must load with the definitions it will get
/// before anything is made. Returns how many devices (FromDevice and
/// ToDevice elements, one packet socket each) each hop opens.
fn check_configs(chain: &Chain, plan: &Plan) -> Result<Vec<usize>> {
    let reg = mb_runner::registry();
    let mut devices = Vec::new();
    for (h, hp) in chain.hops.iter().zip(&plan.hops) {
        let src = std::fs::read_to_string(&h.config)
            .with_context(|| format!("reading {}", h.config.display()))?;
        let file = h.config.display().to_string();
        if let Err(e) = mb_runner::check(&src, &file, &hp.defines) {
            return Err(Error::Hop {
                hop: h.name.clone(),
                message: e.to_string(),
            });
        }
        let flat =
            click::lang::parse(&src, &file, &hp.defines, &|c| reg.contains(c)).map_err(|e| {
                Error::Hop {
                    hop: h.name.clone(),
                    message: e.to_string(),
                }
            })?;
        if let Some(s) = &h.policy.scale {
            policy::check_handler(&s.trigger, &src, &file, &hp.defines)?;
        }
        for i in h.distinct_replicas() {
            if let Err(e) = mb_runner::check(&src, &file, &hp.defines_for(h, i)) {
                return Err(Error::Hop {
                    hop: format!("{}, {}", h.name, h.replica_label(i)),
                    message: e.to_string(),
                });
            }
        }
        devices.push(
            flat.elements
                .iter()
                .filter(|e| e.class == "FromDevice" || e.class == "ToDevice")
                .count(),
        );
    }
    Ok(devices)
}

/// Replicated hops run as VMs, each between bridges it does not share
/// with another replicated hop or with a bridge the chain does not own.
fn check_replicated(chain: &Chain, backend: Backend) -> Result<()> {
    let n = chain.hops.len();
    for (i, h) in chain.hops.iter().enumerate() {
        if !replicated(h) {
            continue;
        }
        if backend != Backend::Vm {
            bail!("hop {}: replicas need the vm backend", h.name);
        }
        if i > 0 && replicated(&chain.hops[i - 1]) {
            bail!(
                "hops {} and {} are next to each other and both replicated: put a hop between them",
                chain.hops[i - 1].name,
                h.name
            );
        }
        let ends = [(i == 0, &chain.left), (i + 1 == n, &chain.right)];
        for (at, e) in ends {
            if at && matches!(e.kind, spec::EndKind::Bridge(_)) {
                bail!(
                    "hop {}: a replicated hop cannot face a `bridge =` end (its rules take the whole bridge)",
                    h.name
                );
            }
        }
    }
    Ok(())
}

/// Whether the controller manages hop `h`: its file gives it a policy
/// (replicas, health checks, scaling or a split) other than the default.
pub fn replicated(h: &spec::Hop) -> bool {
    h.policy != policy::Policy::default()
}

fn make(
    run: &RunDir,
    chain: &Chain,
    plan: &Plan,
    devices: &[usize],
    j: &mut Journal,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<()> {
    let odir = ovs_dir(run);
    let ovs = Ovs::open(&odir)?;
    if ovs.is_private() {
        j.record(Made::Ovs(odir))?;
    }
    let owner = &plan.name;
    for b in &plan.bridges {
        j.record(Made::Bridge(b.clone()))?;
        ovs.add_bridge(b, owner)?;
    }
    for e in [&plan.left, &plan.right] {
        end(&ovs, owner, e, j)?;
    }
    if plan.backend == Backend::Runner {
        j.record(Made::Netns(plan.netns.clone()))?;
        netdev::ip(None, &["netns", "add", &plan.netns])
            .with_context(|| format!("creating namespace {}", plan.netns))?;
        for s in [
            "net.ipv4.ip_forward=0",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ] {
            let _ = mb_ovs::tool::run(
                "ip",
                &["netns", "exec", &plan.netns, "sysctl", "-qw", s],
                &[],
            );
        }
        for h in &plan.hops {
            for (side, f) in [("in", &h.inp), ("out", &h.out)] {
                let port = f.port.clone().expect("runner faces have ports");
                j.record(Made::Link(port.clone()))?;
                netdev::veth_pair(&port, &f.dev, Some(&plan.netns))?;
                netdev::ip(
                    Some(&plan.netns),
                    &["link", "set", &f.dev, "address", &f.mac],
                )?;
                j.record(Made::Port(f.bridge.clone(), port.clone()))?;
                ovs.add_port(&f.bridge, &port, owner)?;
                j.record(Made::Face(
                    h.name.clone(),
                    side.into(),
                    f.bridge.clone(),
                    port,
                ))?;
            }
            progress(wired(h));
        }
        rules(&ovs, plan, j)?;
        let d = dir(run, &plan.name);
        let mut started = Vec::new();
        let t0 = Instant::now();
        for (h, hp) in chain.hops.iter().zip(&plan.hops) {
            let log = d.join(format!("{}.log", h.name));
            let (pid, start) = runner::spawn(&plan.netns, &h.config, &hp.defines, &log)?;
            j.record(Made::Proc(pid, start, h.name.clone()))?;
            progress(Progress::Started { hop: &h.name, pid });
            started.push((pid, start, h.name.clone(), log));
        }
        for ((pid, start, name, log), n) in started.iter().zip(devices) {
            runner::wait_ready(*pid, *start, name, log, *n)?;
            progress(Progress::Ready {
                hop: name,
                took: t0.elapsed(),
            });
        }
    } else {
        let d = dir(run, &plan.name);
        let mut known: Vec<String> = Vec::new();
        for e in [&plan.left, &plan.right] {
            known.extend(e.hosts.iter().map(|h| h.port.clone()));
            known.extend(e.iface.iter().cloned());
        }
        let mut plan = plan.clone();
        let mut managed = Vec::new();
        for (i, (h, hp)) in chain.hops.iter().zip(plan.hops.iter_mut()).enumerate() {
            if replicated(h) {
                let p = replica::Policy::from(&h.policy);
                managed.push(boot_replicas(run, &ovs, chain, i, hp, &p, j, progress)?);
                continue;
            }
            let cfg = vm::flatten(&h.config, hp, &d)?;
            j.record(Made::Vm(hp.vm.clone()))?;
            progress(Progress::Booting {
                hop: &hp.name,
                vm: &hp.vm,
            });
            let t0 = Instant::now();
            let notes = vm::boot(run, &ovs, hp, &cfg, h.memory.as_deref())?;
            progress(Progress::Running {
                hop: &hp.name,
                took: t0.elapsed(),
                notes: &notes,
            });
            for (side, f) in [("in", &mut hp.inp), ("out", &mut hp.out)] {
                let tap = vm::new_port(&ovs, &f.bridge, &known)?;
                mb_ovs::netdev::offloads_off(&tap, None);
                known.push(tap.clone());
                j.record(Made::Face(
                    hp.name.clone(),
                    side.into(),
                    f.bridge.clone(),
                    tap.clone(),
                ))?;
                f.port = Some(tap);
            }
            progress(wired(hp));
        }
        rules(&ovs, &plan, j)?;
        let mut st = mb_agent::client::store(run)?;
        for mut h in managed {
            h.left.others = neighbours(&ovs, &plan, &h.left.bridge, &h.hop)?;
            h.right.others = neighbours(&ovs, &plan, &h.right.bridge, &h.hop)?;
            j.record(Made::Flows(h.left.bridge.clone()))?;
            j.record(Made::Flows(h.right.bridge.clone()))?;
            // The record first: from here on the controller manages the hop.
            replica::save(&mut st, &h, None)?;
            split::apply(&ovs, &h, split::Write::Create, &[])?;
            for r in &h.replicas {
                events::log(
                    run,
                    &h.chain,
                    &h.hop,
                    Some(&r.vm),
                    r.state.as_str(),
                    "at chain up",
                );
            }
        }
    }
    Ok(())
}

/// Boots a replicated hop's `min` serving replicas and its spares
/// (`CHAIN-HOP-N`); returns its state for the controller (its bridges'
/// other ports are filled in once every hop is wired).
#[allow(clippy::too_many_arguments)]
fn boot_replicas(
    run: &RunDir,
    ovs: &Ovs,
    chain: &Chain,
    index: usize,
    hp: &mut HopPlan,
    p: &replica::Policy,
    j: &mut Journal,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<HopState> {
    let h = &chain.hops[index];
    let mut state = HopState {
        chain: chain.name.clone(),
        hop: h.name.clone(),
        index,
        policy: p.clone(),
        config: h.config.canonicalize().unwrap_or_else(|_| h.config.clone()),
        defines: (0..p.max + p.warm())
            .map(|i| hp.defines_for(h, i))
            .collect(),
        memory: h.memory.clone(),
        ovs_rundir: ovs.rundir().to_path_buf(),
        ovs_private: ovs.is_private(),
        left: Side {
            bridge: hp.inp.bridge.clone(),
            others: Vec::new(),
        },
        right: Side {
            bridge: hp.out.bridge.clone(),
            others: Vec::new(),
        },
        replicas: Vec::new(),
        target: p.min,
        last_scale_ms: 0,
        counters: Default::default(),
    };
    let call = |r: &mb_agent::proto::Request| mb_agent::client::call(run, r);
    let goals = std::iter::repeat_n(RState::Running, p.min as usize)
        .chain(std::iter::repeat_n(RState::Warm, p.warm() as usize));
    for goal in goals {
        let r = state
            .add_replica(goal, events::now_ms())
            .expect("max + warm indexes have settings");
        j.record(Made::Vm(r.vm.clone()))?;
        progress(Progress::Booting {
            hop: &hp.name,
            vm: &r.vm,
        });
        let t0 = Instant::now();
        let mut booted = replica::boot(run, &state, &r, &call)?;
        progress(Progress::Running {
            hop: &hp.name,
            took: t0.elapsed(),
            notes: &[],
        });
        booted.state = goal;
        booted.since_ms = events::now_ms();
        state.counters.boots += 1;
        let (i, o) = (booted.inp.clone(), booted.out.clone());
        *state.replica_mut(&r.vm).expect("just added") = booted;
        hp.inp.port = i.map(|p| p.dev);
        hp.out.port = o.map(|p| p.dev);
        progress(wired(hp));
    }
    // Its faces are the split's, not a port each.
    hp.inp.port = None;
    hp.out.port = None;
    Ok(state)
}

/// The ports on `bridge` that are not hop `hop`'s: an end's hosts (with
/// their MACs) or interface, or the neighbouring hop's face.
fn neighbours(ovs: &Ovs, plan: &Plan, bridge: &str, hop: &str) -> Result<Vec<Port>> {
    let mut v = Vec::new();
    for e in [&plan.left, &plan.right] {
        if e.bridge == bridge {
            for h in &e.hosts {
                v.push(Port {
                    dev: h.port.clone(),
                    ofport: ovs.ofport(&h.port)?,
                    mac: Some(h.mac.clone()),
                });
            }
            if let Some(i) = &e.iface {
                v.push(Port {
                    dev: i.clone(),
                    ofport: ovs.ofport(i)?,
                    mac: None,
                });
            }
        }
    }
    for h in plan.hops.iter().filter(|h| h.name != hop) {
        for f in [&h.inp, &h.out] {
            if let (true, Some(p)) = (f.bridge == bridge, &f.port) {
                v.push(Port {
                    dev: p.clone(),
                    ofport: ovs.ofport(p)?,
                    mac: None,
                });
            }
        }
    }
    Ok(v)
}

/// The `Wired` step of a hop whose faces have their ports.
fn wired(hp: &HopPlan) -> Progress<'_> {
    fn face(f: &Face) -> (&str, &str) {
        (f.bridge.as_str(), f.port.as_deref().unwrap_or("-"))
    }
    Progress::Wired {
        hop: &hp.name,
        inp: face(&hp.inp),
        out: face(&hp.out),
    }
}

/// Puts an end on its bridge: namespace hosts through veth pairs (the
/// namespace made if missing), or an existing interface.
fn end(ovs: &Ovs, owner: &str, e: &EndPlan, j: &mut Journal) -> Result<()> {
    for h in &e.hosts {
        if !netdev::netns_exists(&h.netns) {
            j.record(Made::Netns(h.netns.clone()))?;
            netdev::ip(None, &["netns", "add", &h.netns])
                .with_context(|| format!("creating namespace {}", h.netns))?;
            // Our own namespace: IPv4 only, so IPv6 autoconfiguration
            // chatter does not cross the chain.
            for k in ["all", "default"] {
                let key = format!("net.ipv6.conf.{k}.disable_ipv6=1");
                let _ = mb_ovs::tool::run(
                    "ip",
                    &["netns", "exec", &h.netns, "sysctl", "-qw", &key],
                    &[],
                );
            }
        }
        j.record(Made::Link(h.port.clone()))?;
        netdev::veth_pair(&h.port, &h.ifname, Some(&h.netns))
            .with_context(|| format!("is {} already used in namespace {}?", h.ifname, h.netns))?;
        let ns = Some(h.netns.as_str());
        netdev::ip(ns, &["link", "set", &h.ifname, "address", &h.mac])?;
        netdev::ip(
            ns,
            &["addr", "add", &h.address.to_string(), "dev", &h.ifname],
        )?;
        netdev::ip(ns, &["link", "set", "lo", "up"])?;
        if e.route {
            let has_default = netdev::ip(ns, &["route", "show", "default"])
                .map(|s| !s.trim().is_empty())
                .unwrap_or(false);
            if !has_default {
                netdev::ip(
                    ns,
                    &[
                        "route",
                        "add",
                        "default",
                        "via",
                        &e.gateway.addr.to_string(),
                    ],
                )?;
            }
        }
        j.record(Made::Port(e.bridge.clone(), h.port.clone()))?;
        ovs.add_port(&e.bridge, &h.port, owner)?;
    }
    if let Some(i) = &e.iface {
        if !netdev::link_exists(i) {
            bail!("no interface {i} on this host");
        }
        j.record(Made::Port(e.bridge.clone(), i.clone()))?;
        ovs.add_port(&e.bridge, i, owner)?;
    }
    Ok(())
}

/// OpenFlow rules of the chain's own bridges: a bridge with two ports
/// crosses them directly (no learning, one rule per direction, whose
/// counters `show` reads); a bridge with more (an end of several hosts)
/// switches normally.
pub fn rules(ovs: &Ovs, plan: &Plan, j: &mut Journal) -> Result<()> {
    for b in &plan.bridges {
        // A replicated hop's bridges get the split's rules instead.
        let split = plan
            .hops
            .iter()
            .any(|h| h.inp.port.is_none() && (h.inp.bridge == *b || h.out.bridge == *b));
        if split && plan.backend == Backend::Vm {
            continue;
        }
        let ports = plan.ports_on(b);
        j.record(Made::Flows(b.clone()))?;
        if let [a, z] = ports.as_slice() {
            let (pa, pz) = (ovs.ofport(a)?, ovs.ofport(z)?);
            ovs.add_flow(
                b,
                &plan.name,
                &format!("priority=10,in_port={pa},actions=output:{pz}"),
            )?;
            ovs.add_flow(
                b,
                &plan.name,
                &format!("priority=10,in_port={pz},actions=output:{pa}"),
            )?;
        } else {
            ovs.add_flow(b, &plan.name, "priority=0,actions=NORMAL")?;
        }
    }
    Ok(())
}

//! `mbctl chain`: chains of middleboxes wired through Open vSwitch.

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

use mb_chain::show::{ChainSummary, HopStatus};
use mb_chain::up::Progress;
use mb_chain::{self as chain, plan::Backend};
use mb_vm::rundir::RunDir;
use serde::Serialize;

use super::check::ErrorJson;

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
    ///
    /// Each hop's progress (booting, running, wired, the boot's notes)
    /// goes to standard error as it happens; the chain's addresses to
    /// standard output when it is up.
    Up {
        /// The chain file (TOML; see click-configs/chains/README.md).
        file: PathBuf,
        /// How hops run: `vm` (middlebox VMs, the default) or `runner`
        /// (`mbctl run` processes on the host); overrides the file's `backend`.
        #[arg(long)]
        backend: Option<String>,
    },
    /// Check a chain file and every hop's configuration, without root,
    /// booting or touching Open vSwitch.
    ///
    /// Reports every error in the chain file and in each hop's config
    /// (with the definitions the chain gives it, and for VM hops what a
    /// guest with two NICs can run, as `mbctl check --vm --nics 2`) as
    /// file:line:col; exit status 1 when there are any.
    Check {
        /// The chain file.
        file: PathBuf,
        /// Check hops as `vm` or `runner` hops; overrides the file's
        /// `backend`.
        #[arg(long)]
        backend: Option<String>,
        /// Print the errors as a JSON array (file, line, col, message,
        /// suggestion, hop).
        #[arg(long)]
        json: bool,
    },
    /// Remove every VM, process, tap, bridge, rule and namespace of a chain.
    Down {
        /// The chain's name.
        name: String,
    },
    /// List the chains that are up.
    Ls {
        /// Print a JSON array (name, backend, hops, state).
        #[arg(long)]
        json: bool,
    },
    /// A chain's hops with live packet counters, and each replicated
    /// hop's policy and replicas.
    Show {
        /// The chain's name.
        name: String,
        /// Print a JSON object (the chain's name and its hops, each with
        /// its replicas: name, state, pkts_in, pkts_out, metric).
        #[arg(long)]
        json: bool,
    },
    /// A chain's events: replicas booting, running, forwarding, failing,
    /// replaced, draining, removed; thresholds crossed; polls missed.
    Events {
        /// The chain's name.
        name: String,
        /// Keep printing new events until the chain goes down (or ^C).
        #[arg(short, long)]
        follow: bool,
        /// One JSON object per line (t_ms, hop, replica, kind, detail).
        #[arg(long)]
        json: bool,
    },
}

const EXAMPLES: &str = "\
Examples:
  mbctl chain check click-configs/chains/fw-nat.toml
  sudo mbctl chain up click-configs/chains/fw-nat.toml
  mbctl chain show fwnat
  mbctl chain show fwnat --json | jq '.hops[].l2r_in'
  mbctl chain events natscale -f
  sudo mbctl chain down fwnat";

/// Runs the subcommand.
pub fn run(run: &RunDir, a: ChainArgs) -> Result<()> {
    match a.action {
        ChainAction::Check {
            file,
            backend,
            json,
        } => check(&file, parse_backend(backend)?, json),
        ChainAction::Up { file, backend } => {
            let backend = parse_backend(backend)?;
            // A boot's line stays open until it ends, so an error that
            // cuts it short goes on a line of its own.
            let mut open_line = false;
            let result =
                chain::up::up(run, &file, backend, &mut |p| open_line = print_progress(&p));
            if open_line {
                eprintln!();
            }
            let plan = result?;
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
        ChainAction::Ls { json } => {
            let chains = chain::show::summaries(run)?;
            if json {
                let v: Vec<ChainJson> = chains.iter().map(ChainJson::from).collect();
                return crate::json::print(&v);
            }
            print!("{}", chain::show::render_list(&chains));
            Ok(())
        }
        ChainAction::Show { name, json } => {
            let hops = chain::show::status(run, &name)?;
            if json {
                return crate::json::print(&ShowJson {
                    name: &name,
                    hops: hops.iter().map(HopJson::from).collect(),
                });
            }
            print!("{}", chain::show::render(&name, &hops));
            Ok(())
        }
        ChainAction::Events { name, follow, json } => events(run, &name, follow, json),
    }
}

/// Prints chain `name`'s events; with `follow`, new ones as they come,
/// until the chain is taken down.
fn events(run: &RunDir, name: &str, follow: bool, json: bool) -> Result<()> {
    if !chain::dir(run, name).join("made").exists() {
        return Err(anyhow!("no chain {name} is up"));
    }
    let mut at = 0;
    loop {
        let (evs, next) = chain::events::read_from(run, name, at)?;
        at = next;
        for e in &evs {
            if json {
                println!("{}", serde_json::to_string(e)?);
            } else {
                println!("{}", chain::events::render(e));
            }
        }
        if !follow || !chain::dir(run, name).exists() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Prints a step of `chain up` on standard error (standard output is for
/// the result); returns whether its line is left open for the next step.
fn print_progress(p: &Progress) -> bool {
    match p {
        Progress::Booting { hop, vm } => {
            eprint!("hop {hop}: booting {vm} ... ");
            return true;
        }
        Progress::Running { hop, took, notes } => {
            eprintln!("running ({} ms)", took.as_millis());
            for n in notes.iter() {
                eprintln!("hop {hop}: {n}");
            }
        }
        Progress::Started { hop, pid } => eprintln!("hop {hop}: started (pid {pid})"),
        Progress::Ready { hop, took } => {
            eprintln!("hop {hop}: running ({} ms)", took.as_millis())
        }
        Progress::Wired { hop, inp, out } => eprintln!(
            "hop {hop}: wired to {} on {} (left) and {} on {} (right)",
            inp.1, inp.0, out.1, out.0
        ),
    }
    false
}

fn parse_backend(b: Option<String>) -> Result<Option<Backend>> {
    b.map(|s| Backend::parse(&s).ok_or_else(|| anyhow!("--backend '{s}': expected vm or runner")))
        .transpose()
}

/// Runs `chain check`; exits with status 1 when there are errors.
fn check(file: &std::path::Path, backend: Option<Backend>, json: bool) -> Result<()> {
    let r = chain::check::check(file, backend)?;
    if json {
        let v: Vec<ProblemJson> = r
            .problems
            .iter()
            .map(|p| ProblemJson {
                error: ErrorJson::from(&p.error),
                hop: p.hop.as_deref(),
            })
            .collect();
        crate::json::print(&v)?;
    } else {
        for p in &r.problems {
            eprintln!("{}", p.error);
        }
    }
    let n = r.problems.len();
    match (&r.chain, n) {
        (Some(c), 0) => {
            if !json {
                println!(
                    "{}: chain {}, {} {} hop(s), 0 errors",
                    file.display(),
                    c.name,
                    c.hops.len(),
                    r.backend.as_str()
                );
            }
            Ok(())
        }
        _ => {
            if !json {
                eprintln!("{}: {}", file.display(), super::check::errors(n));
            }
            std::process::exit(1);
        }
    }
}

/// An error in `chain check --json`: `check --json`'s, with the hop whose
/// configuration it is in (null for the chain file's own).
#[derive(Serialize)]
struct ProblemJson<'a> {
    #[serde(flatten)]
    error: ErrorJson<'a>,
    hop: Option<&'a str>,
}

/// A chain in `chain ls --json`.
#[derive(Serialize)]
struct ChainJson<'a> {
    name: &'a str,
    backend: &'a str,
    hops: usize,
    /// `up`, or `degraded` when a runner hop has exited.
    state: &'static str,
}

impl<'a> From<&'a ChainSummary> for ChainJson<'a> {
    fn from(c: &'a ChainSummary) -> Self {
        ChainJson {
            name: &c.name,
            backend: &c.backend,
            hops: c.hops,
            state: if c.up { "up" } else { "degraded" },
        }
    }
}

/// `chain show --json`.
#[derive(Serialize)]
struct ShowJson<'a> {
    name: &'a str,
    hops: Vec<HopJson<'a>>,
}

/// A hop in `chain show --json`: packets counted at the switch, per
/// direction, as the table shows them; its replicas (one for a hop
/// without a policy) with the guests' own counters.
#[derive(Serialize)]
struct HopJson<'a> {
    name: &'a str,
    state: &'a str,
    policy: Option<&'a str>,
    replicas: Vec<ReplicaJson<'a>>,
    in_port: &'a str,
    out_port: &'a str,
    l2r_in: u64,
    l2r_out: u64,
    r2l_in: u64,
    r2l_out: u64,
    dropped: u64,
}

impl<'a> From<&'a HopStatus> for HopJson<'a> {
    fn from(h: &'a HopStatus) -> Self {
        HopJson {
            name: &h.name,
            state: &h.state,
            policy: h.policy.as_deref(),
            replicas: h
                .replicas
                .iter()
                .map(|r| ReplicaJson {
                    name: &r.name,
                    state: &r.state,
                    pkts_in: r.pkts_in,
                    pkts_out: r.pkts_out,
                    metric: r.metric,
                })
                .collect(),
            in_port: &h.in_port,
            out_port: &h.out_port,
            l2r_in: h.l2r_in(),
            l2r_out: h.l2r_out(),
            r2l_in: h.r2l_in(),
            r2l_out: h.r2l_out(),
            dropped: h.dropped(),
        }
    }
}

/// A replica in `chain show --json` (the contract).
#[derive(Serialize)]
struct ReplicaJson<'a> {
    name: &'a str,
    state: &'a str,
    pkts_in: u64,
    pkts_out: u64,
    metric: Option<f64>,
}

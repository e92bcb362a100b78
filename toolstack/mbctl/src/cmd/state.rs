//! `mbctl state`: element state of running middleboxes (list, get, put,
//! delete, and the channel's throughput), through `mb_state`.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;

use click::state::{Chunks, Parts};
use mb_agent::client::store;
use mb_chain::replica::{self, HopState, Replica};
use mb_chain::split;
use mb_state::Channel;
use mb_vm::record::Record;
use mb_vm::rundir::RunDir;

/// Element state of running middleboxes.
///
/// Stateful elements (the rewriters, NAT64, SourceLimiter, ARPQuerier,
/// FlowMonitor, Counter) keep per-flow state, selected by a filter in
/// IPFilter's language, and shared state; `mbctl state ls NAME` says which.
/// State travels on the middlebox's state channel (a second
/// virtio-console), not through the store.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  mbctl state ls nat\n  mbctl state get nat rw --filter 'src net 10.0.1.0/25 && tcp' --json\n  mbctl state get nat rw -o rw.state && mbctl state put nat2 rw rw.state\n  mbctl state delete nat rw --filter 'dst port 53'\n  mbctl state move nat nat2 --filter 'src net 10.0.1.0/25'"
)]
pub struct StateArgs {
    #[command(subcommand)]
    cmd: StateCmd,
}

#[derive(clap::Subcommand, Debug)]
enum StateCmd {
    /// List a middlebox's stateful elements and what they keep.
    Ls {
        /// The middlebox.
        name: String,
    },
    /// Print (or save) an element's state.
    Get {
        /// The middlebox.
        name: String,
        /// The element.
        element: String,
        /// Per-flow state of the flows matching EXPR (IPFilter's language).
        #[arg(long, value_name = "EXPR", default_value = "-")]
        filter: String,
        /// One JSON object per flow, then one for the shared state.
        #[arg(long)]
        json: bool,
        /// Save the chunks to FILE (for `mbctl state put`).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Install saved state into an element (shared state merges).
    Put {
        /// The middlebox.
        name: String,
        /// The element.
        element: String,
        /// Chunks saved by `mbctl state get -o`.
        file: PathBuf,
    },
    /// Delete an element's per-flow state by filter.
    Delete {
        /// The middlebox.
        name: String,
        /// The element.
        element: String,
        /// The flows to delete (IPFilter's language; `-` for all).
        #[arg(long, value_name = "EXPR", required = true)]
        filter: String,
    },
    /// Move per-flow state from SRC to DST, loss-free and order-preserving.
    ///
    /// SRC holds the flows' packets while their state moves, DST processes
    /// them, in order, once it has the state. When both are replicas of
    /// one chain hop, Open vSwitch rules send the moved TCP and UDP flows
    /// to DST both ways (until they end); otherwise their packets must
    /// reach DST by other means.
    Move {
        /// The middlebox the flows leave.
        src: String,
        /// The middlebox that takes them.
        dst: String,
        /// Elements to move (default: every element of SRC that can hold
        /// packets).
        #[arg(long = "element", value_name = "E")]
        elements: Vec<String>,
        /// The flows to move (IPFilter's language; `-` for all).
        #[arg(long, value_name = "EXPR", default_value = "-")]
        filter: String,
    },
    /// Copy shared supporting state (an ARP table, port cursors) from SRC
    /// into DST, where it merges; statistics are not copied.
    Clone {
        /// The middlebox copied.
        src: String,
        /// The middlebox that gets a copy.
        dst: String,
    },
    /// Move all per-flow state from SRC to DST and merge SRC's shared
    /// state into DST's (scale-in: stop SRC after); replicas of one chain
    /// hop get their flows rerouted as by `move`.
    Merge {
        /// The middlebox emptied.
        src: String,
        /// The middlebox that takes everything.
        dst: String,
    },
    /// Save every stateful element's state to FILE.
    Snapshot {
        /// The middlebox.
        name: String,
        /// Where to write it.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Put a snapshot back (into a middlebox running the same config).
    Restore {
        /// The middlebox.
        name: String,
        /// A file `mbctl state snapshot` wrote.
        file: PathBuf,
    },
    /// Measure the state channel's throughput (MB/s both ways).
    Bench {
        /// The middlebox.
        name: String,
        /// Megabytes to send (and get back).
        #[arg(long, default_value_t = 16)]
        mb: usize,
    },
}

/// Opens `name`'s state channel once its record says it exists.
fn open(run: &RunDir, name: &str) -> Result<Channel> {
    let mut st = store(run)?;
    let rec = Record::load_existing(&mut st, name)?;
    if rec.backend == "xl" {
        anyhow::bail!("'{name}' runs on Xen, which has no state channel yet");
    }
    Channel::open(run, name)
}

/// The chain hop whose replicas `src` and `dst` are, with `dst`'s
/// record, if they are.
fn hop_of(run: &RunDir, src: &str, dst: &str) -> Result<Option<(HopState, Replica)>> {
    let mut st = store(run)?;
    for chain in replica::chains(&mut st)? {
        for h in replica::load_chain(&mut st, &chain)? {
            let d = h.replicas.iter().find(|r| r.vm == dst).cloned();
            if let (true, Some(d)) = (h.replicas.iter().any(|r| r.vm == src), d) {
                return Ok(Some((h, d)));
            }
        }
    }
    Ok(None)
}

/// What sends moved flows to DST: switch rules when SRC and DST are
/// replicas of one hop, nothing otherwise.
fn rerouter(run: &RunDir, src: &str, dst: &str) -> Result<impl FnMut(&Chunks) -> Result<()>> {
    let hop = match hop_of(run, src, dst)? {
        Some((h, d)) => Some((h.ovs()?, h, d)),
        None => None,
    };
    Ok(move |c: &Chunks| {
        let Some((ovs, h, d)) = &hop else {
            return Ok(());
        };
        split::reroute(ovs, h, d, &split::moved(c)?)?;
        Ok(())
    })
}

/// One line about `c`.
fn summary(name: &str, element: &str, c: &Chunks) -> String {
    format!(
        "{name} {element} ({} v{}): {} flow(s) in {} bytes; shared supporting {} bytes, reporting {} bytes",
        c.class,
        c.version,
        c.flow_count(),
        c.flows.len(),
        c.supporting.len(),
        c.reporting.len()
    )
}

/// Runs `mbctl state`.
pub fn run(run: &RunDir, a: StateArgs) -> Result<()> {
    match a.cmd {
        StateCmd::Ls { name } => {
            for e in mb_state::list(&mut open(run, &name)?)? {
                let ev = if e.events { "; movable loss-free" } else { "" };
                println!("{} ({}): {}{ev}", e.name, e.class, e.keeps);
            }
        }
        StateCmd::Get {
            name,
            element,
            filter,
            json,
            output,
        } => {
            let c = mb_state::get(&mut open(run, &name)?, &element, &filter, Parts::ALL)?;
            if let Some(path) = output {
                std::fs::write(&path, c.to_bytes())
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("mbctl: {}", summary(&name, &element, &c));
            } else if json {
                let (flows, shared) = click::state::json::to_json(&c)?;
                for f in flows {
                    println!("{}", serde_json::json!({ "flow": f }));
                }
                println!(
                    "{}",
                    serde_json::json!({ "class": c.class, "version": c.version, "shared": shared })
                );
            } else {
                println!("{}", summary(&name, &element, &c));
            }
        }
        StateCmd::Put {
            name,
            element,
            file,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let c = Chunks::from_bytes(&bytes).with_context(|| format!("{}", file.display()))?;
            let n = mb_state::put(&mut open(run, &name)?, &element, &c)?;
            println!(
                "{name} {element}: {} flow(s) installed, {} shared part(s) merged",
                n.flows, n.shared
            );
        }
        StateCmd::Delete {
            name,
            element,
            filter,
        } => {
            let n = mb_state::delete(&mut open(run, &name)?, &element, &filter)?;
            println!("{name} {element}: {n} flow(s) deleted");
        }
        StateCmd::Move {
            src,
            dst,
            elements,
            filter,
        } => {
            let (mut s, mut d) = (open(run, &src)?, open(run, &dst)?);
            let mut reroute = rerouter(run, &src, &dst)?;
            for e in mb_state::moving::plan(&mut s, &mut d, &elements)? {
                let m = mb_state::moving::move_flows(&mut s, &mut d, &e, &filter, &mut reroute)?;
                println!(
                    "{src} -> {dst} {e}: {} flow(s), {} bytes, {} packet(s) re-processed, {:.1} ms",
                    m.flows,
                    m.bytes,
                    m.reprocessed,
                    m.took.as_secs_f64() * 1000.0
                );
            }
        }
        StateCmd::Clone { src, dst } => {
            let (mut s, mut d) = (open(run, &src)?, open(run, &dst)?);
            let done = mb_state::whole::clone_shared(&mut s, &mut d)?;
            println!("{src} -> {dst}: shared state of {} cloned", done.join(", "));
        }
        StateCmd::Merge { src, dst } => {
            let (mut s, mut d) = (open(run, &src)?, open(run, &dst)?);
            let mut reroute = rerouter(run, &src, &dst)?;
            for m in mb_state::whole::merge(&mut s, &mut d, &mut reroute)? {
                println!(
                    "{src} -> {dst} {}: {} flow(s), {} bytes with shared state",
                    m.element, m.flows, m.bytes
                );
            }
        }
        StateCmd::Snapshot { name, output } => {
            let snap = mb_state::whole::snapshot(&mut open(run, &name)?)?;
            std::fs::write(&output, snap.to_bytes())
                .with_context(|| format!("writing {}", output.display()))?;
            println!(
                "{name}: {} element(s) saved to {}",
                snap.elements.len(),
                output.display()
            );
        }
        StateCmd::Restore { name, file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let snap = mb_state::whole::Snapshot::from_bytes(&bytes)
                .with_context(|| format!("{}", file.display()))?;
            let n = mb_state::whole::restore(&mut open(run, &name)?, &snap)?;
            println!(
                "{name}: {} flow(s) and {} shared part(s) restored",
                n.flows, n.shared
            );
        }
        StateCmd::Bench { name, mb } => {
            let mut ch = open(run, &name)?;
            let piece = 1 << 20;
            let t = Instant::now();
            for _ in 0..mb {
                ch.echo(vec![0x5a; piece])?;
            }
            let s = t.elapsed().as_secs_f64();
            // Each megabyte crosses twice: in and back out.
            println!(
                "{name}: {:.1} MB/s ({} MB each way in {:.3} s, 1 MiB requests)",
                (2 * mb) as f64 / s,
                mb,
                s
            );
        }
    }
    Ok(())
}

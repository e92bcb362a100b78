//! `mbctl capture`: a pcap of what crosses a middlebox NIC's host side.

use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use mb_agent::client::store;
use mb_capture::{Filter, Options};
use mb_vm::record::Record;
use mb_vm::rundir::RunDir;

/// Capture the frames of a middlebox's NIC into a pcap file.
///
/// Reads the NIC's host interface (its tap on QEMU, its vif on Xen) with
/// a packet socket, both directions, and writes a pcap file that tcpdump,
/// Wireshark and `mbctl run`'s FromDump read. Without `-w`, or with
/// `-w -`, the pcap goes to standard output (which must not be a
/// terminal). Stops after `-c` frames, or at Ctrl-C, and then prints how
/// many frames it kept. Chain hops are middleboxes named CHAIN-HOP.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  mbctl capture fw 0 -w fw0.pcap -c 100\n  mbctl capture fw 1 --filter 'icmp or tcp dst port 80' | tcpdump -nr -\n  mbctl capture web-fw 0 -w - | wireshark -k -i -"
)]
pub struct CaptureArgs {
    /// The middlebox (`mbctl ls`).
    name: String,
    /// NIC number, in `--nic` order from 0.
    nic: usize,
    /// Write to FILE (`-` for standard output).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    write: Option<PathBuf>,
    /// Stop after COUNT frames.
    #[arg(short = 'c', long, value_name = "COUNT")]
    count: Option<u64>,
    /// Keep only frames matching EXPR, in IPClassifier's language, IPv4
    /// or IPv6 (`icmp`, `tcp dst port 80`, `src net 10.0.0.0/8 and not
    /// udp`, `icmp6 type echo`, `ip6 and src net fd00::/8`...).
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Bytes kept of each frame (0: all, up to 262144).
    #[arg(short = 's', long, default_value_t = 0)]
    snaplen: u32,
}

/// Runs `mbctl capture`.
pub fn run(run: &RunDir, a: CaptureArgs) -> Result<()> {
    let filter = a
        .filter
        .as_deref()
        .map(Filter::compile)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let ifname = {
        let mut st = store(run)?;
        let rec = Record::load_existing(&mut st, &a.name)?;
        let Some(nic) = rec.nics.get(a.nic) else {
            bail!(
                "'{}' has {} NIC(s), numbered from 0; there is no NIC {}",
                a.name,
                rec.nics.len(),
                a.nic
            );
        };
        match &nic.ifname {
            Some(i) => i.clone(),
            None => bail!(
                "NIC {} of '{}' ({}) has no host interface to capture on",
                a.nic,
                a.name,
                nic.spec
            ),
        }
    };
    let to_stdout = match &a.write {
        Some(p) => p.as_os_str() == "-",
        None => true,
    };
    if to_stdout && std::io::stdout().is_terminal() {
        bail!(
            "standard output is a terminal: write to a file (-w FILE) or pipe into `tcpdump -r -`"
        );
    }
    let sock = mb_capture::open(&ifname).with_context(|| {
        format!("opening a packet socket on {ifname} (capturing needs root or CAP_NET_RAW)")
    })?;
    // Created only once the socket is open, so a failure leaves no file.
    let mut out: Box<dyn Write> = match &a.write {
        Some(p) if !to_stdout => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        _ => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    eprintln!(
        "mbctl: capturing on {ifname} ({} NIC {}), Ethernet; Ctrl-C stops",
        a.name, a.nic
    );
    mb_runner::driver::catch_signals();
    let opts = Options {
        count: a.count,
        snaplen: a.snaplen,
        filter,
        flush_each: to_stdout,
    };
    let s = mb_capture::capture(&sock, &opts, &mut out, &mb_runner::driver::interrupted)
        .with_context(|| format!("capturing on {ifname}"))?;
    eprintln!(
        "mbctl: {} frame(s) captured, {} seen, {} dropped by the kernel",
        s.captured, s.seen, s.dropped
    );
    Ok(())
}

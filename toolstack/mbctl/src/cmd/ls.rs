//! `mbctl ls` and `mbctl show`.

use anyhow::Result;
use mb_agent::client;
use mb_vm::rundir::RunDir;

use super::vm::uptime;
use crate::json;
use mb_store_client::clickos::{self, NicCounters, StoreOps};
use mb_vm::record::Record;
use serde::Serialize;

/// List middleboxes.
///
/// One line each: name, domain id, backend, state, uptime, NICs, packets
/// received and sent (summed over NICs, as the guest last published
/// them), and the config's name.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  mbctl ls\n  mbctl ls --json | jq '.[].name'")]
pub struct LsArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

/// Show one middlebox in detail.
///
/// Its record (backend, pid, memory, accelerator, image, config), the
/// guest's status and error, and each NIC with its host interface and
/// counters.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  mbctl show fw\n  mbctl show fw --json")]
pub struct ShowArgs {
    /// The middlebox.
    name: String,
    /// Print a JSON object.
    #[arg(long)]
    json: bool,
}

struct Live {
    rec: Record,
    nics: Vec<NicCounters>,
    status: Option<String>,
    error: Option<String>,
    busy: Option<u64>,
    loads: Option<u64>,
    crash_log: Option<String>,
}

fn live(st: &mut dyn StoreOps, rec: Record) -> Result<Live> {
    let mut nics = Vec::new();
    for i in 0..rec.nics.len() {
        nics.push(clickos::nic_counters(st, rec.domid, i)?);
    }
    let d = rec.domid;
    Ok(Live {
        status: st.read(&clickos::status(d))?,
        error: st.read(&clickos::error(d))?,
        busy: clickos::read_u64(st, &clickos_proto::Home::Domain(d).busy())?,
        loads: clickos::read_u64(st, &clickos::loads(d))?,
        crash_log: mb_vm::record::crash_log(st, &rec.name)?,
        rec,
        nics,
    })
}

impl Live {
    fn up(&self) -> u64 {
        mb_vm::sys::now_secs().saturating_sub(self.rec.started)
    }

    fn packets(&self) -> (u64, u64) {
        self.nics
            .iter()
            .fold((0, 0), |(i, o), n| (i + n.rx_packets, o + n.tx_packets))
    }

    fn json(&self) -> VmJson<'_> {
        let r = &self.rec;
        let (packets_in, packets_out) = self.packets();
        VmJson {
            name: &r.name,
            domid: r.domid,
            backend: &r.backend,
            state: r.state.as_str(),
            uptime_s: self.up(),
            pid: r.pid,
            accel: &r.accel,
            memory: &r.memory,
            image: &r.image,
            config_name: &r.config_name,
            config_file: &r.config_file,
            status: self.status.as_deref(),
            error: self.error.as_deref(),
            busy_permille: self.busy,
            loads: self.loads,
            packets_in,
            packets_out,
            nics: r
                .nics
                .iter()
                .zip(&self.nics)
                .map(|(n, c)| NicJson {
                    spec: &n.spec,
                    mac: &n.mac,
                    ifname: n.ifname.as_deref(),
                    rx_packets: c.rx_packets,
                    rx_bytes: c.rx_bytes,
                    tx_packets: c.tx_packets,
                    tx_bytes: c.tx_bytes,
                    drops: c.drops,
                })
                .collect(),
            crash_log: self.crash_log.as_deref(),
        }
    }
}

/// A middlebox in `ls --json` and `show --json`.
#[derive(Serialize)]
struct VmJson<'a> {
    name: &'a str,
    domid: u32,
    backend: &'a str,
    state: &'a str,
    uptime_s: u64,
    pid: Option<i32>,
    accel: &'a str,
    memory: &'a str,
    image: &'a str,
    config_name: &'a str,
    config_file: &'a str,
    status: Option<&'a str>,
    error: Option<&'a str>,
    busy_permille: Option<u64>,
    loads: Option<u64>,
    packets_in: u64,
    packets_out: u64,
    nics: Vec<NicJson<'a>>,
    /// The guest's last console lines, once its VM crashed.
    crash_log: Option<&'a str>,
}

/// One NIC of a [`VmJson`], with the guest's counters.
#[derive(Serialize)]
struct NicJson<'a> {
    spec: &'a str,
    mac: &'a str,
    ifname: Option<&'a str>,
    rx_packets: u64,
    rx_bytes: u64,
    tx_packets: u64,
    tx_bytes: u64,
    drops: u64,
}

/// Runs `mbctl ls`.
pub fn ls(run: &RunDir, a: LsArgs) -> Result<()> {
    let mut st = client::store(run)?;
    let mut all = Vec::new();
    for r in Record::load_all(&mut st)? {
        all.push(live(&mut st, r)?);
    }
    if a.json {
        return json::print(&all.iter().map(Live::json).collect::<Vec<_>>());
    }
    let rows: Vec<[String; 9]> = all
        .iter()
        .map(|l| {
            let r = &l.rec;
            let (pin, pout) = l.packets();
            let nics: Vec<&str> = r.nics.iter().map(|n| n.spec.as_str()).collect();
            [
                r.name.clone(),
                r.domid.to_string(),
                r.backend.clone(),
                r.state.as_str().into(),
                uptime(l.up()),
                if nics.is_empty() {
                    "-".into()
                } else {
                    nics.join(",")
                },
                pin.to_string(),
                pout.to_string(),
                r.config_name.clone(),
            ]
        })
        .collect();
    let head = [
        "NAME", "DOMID", "BACKEND", "STATE", "UPTIME", "NICS", "PKTS-IN", "PKTS-OUT", "CONFIG",
    ];
    let mut w = head.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect();
        println!("{}", s.join("  ").trim_end());
    };
    line(head.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    Ok(())
}

/// Runs `mbctl show`.
pub fn show(run: &RunDir, a: ShowArgs) -> Result<()> {
    let mut st = client::store(run)?;
    let rec = Record::load_existing(&mut st, &a.name)?;
    let l = live(&mut st, rec)?;
    if a.json {
        return json::print(&l.json());
    }
    let r = &l.rec;
    let files = mb_vm::files::VmFiles::new(run, &r.name);
    println!("name:        {}", r.name);
    println!("domain:      {} ({})", r.domid, r.backend);
    println!("state:       {} (up {})", r.state.as_str(), uptime(l.up()));
    if let Some(p) = r.pid {
        println!("pid:         {p}");
    }
    println!("accelerator: {}", r.accel);
    println!("memory:      {}", r.memory);
    println!("image:       {}", r.image);
    println!("config:      {} ({})", r.config_name, r.config_file);
    println!("status:      {}", l.status.as_deref().unwrap_or("-"));
    if let Some(e) = &l.error {
        println!("error:       {e}");
    }
    if let Some(b) = l.busy {
        println!("busy:        {}.{}%", b / 10, b % 10);
    }
    println!("store:       {}", clickos::router(r.domid));
    println!("console:     {}", files.console_log().display());
    if r.backend == "qemu" && files.console_socket().exists() {
        println!(
            "serial:      {} (mbctl console {})",
            files.console_socket().display(),
            r.name
        );
    }
    for (i, (n, c)) in r.nics.iter().zip(&l.nics).enumerate() {
        println!(
            "nic {i}:       {} mac {}{}  rx {} pkts/{} B  tx {} pkts/{} B  drops {}",
            n.spec,
            n.mac,
            n.ifname
                .as_ref()
                .map(|i| format!(" on {i}"))
                .unwrap_or_default(),
            c.rx_packets,
            c.rx_bytes,
            c.tx_packets,
            c.tx_bytes,
            c.drops
        );
    }
    if let Some(t) = &l.crash_log {
        println!("the guest's last console lines:\n{t}");
    }
    Ok(())
}

//! The agent's Prometheus endpoint (`mbctl agent --metrics ADDR:PORT`,
//! or `MBCTL_METRICS` for an agent a command starts): what the store says
//! about each middlebox, rendered by [`mb_metrics`] on every scrape.
//!
//! Per middlebox: info, state, uptime, memory, busy share, configs loaded;
//! per NIC: packets, bytes and drops as the guest last published them
//! (about once a second); per element: its read handlers that are
//! counters ([`COUNTER_HANDLERS`]). Which elements have which is asked of
//! the guest once per loaded config (each element's `handlers`, in one
//! pipelined batch) and remembered; a scrape then reads all of them in
//! one more batch.

use crate::error::Context;
use crate::Result;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use mb_metrics::{family, render, sanitize_name, Family, Kind, Server};

use mb_store_client::clickos::{self, NicCounters, Op};
use mb_store_client::{Error as StoreError, Store};
use mb_vm::record::{Record, State};
use mb_vm::rundir::RunDir;

/// The environment variable that turns the endpoint on.
pub const ENV: &str = "MBCTL_METRICS";

/// Read handlers exported as element counters (`mb_element_<name>_total`).
pub const COUNTER_HANDLERS: &[&str] = &[
    "count",
    "byte_count",
    "drops",
    "kernel_drops",
    "nomem_drops",
    "table_drops",
    "mapping_failures",
];

/// How long a scrape waits for a guest's handler answers.
const HANDLER_TIMEOUT: Duration = Duration::from_secs(3);

/// Starts the endpoint on `addr`, or on `$MBCTL_METRICS` when `addr` is
/// `None`; `Ok(None)` when neither asks for one. Scrapes read the store of
/// `run`.
pub fn start(run: &RunDir, addr: Option<&str>) -> Result<Option<Server>> {
    let addr = match addr {
        Some(a) => a.to_string(),
        None => match std::env::var(ENV) {
            Ok(a) if !a.trim().is_empty() => a.trim().to_string(),
            _ => return Ok(None),
        },
    };
    let mut c = Collector {
        run: run.clone(),
        known: HashMap::new(),
    };
    let srv = Server::start(
        &addr,
        Box::new(move || c.scrape().map_err(|e| mb_vm::error::report(&e))),
    )
    .with_context(|| format!("serving metrics on {addr} (--metrics / {ENV})"))?;
    eprintln!("mbctl agent: metrics on http://{}/metrics", srv.addr());
    Ok(Some(srv))
}

/// A middlebox's element counters: found once per (domain, configs loaded).
struct Known {
    domid: u32,
    loads: Option<u64>,
    handlers: Vec<(String, String)>,
}

/// Scrapes, remembering each middlebox's counter handlers.
struct Collector {
    run: RunDir,
    known: HashMap<String, Known>,
}

impl Collector {
    fn scrape(&mut self) -> Result<String> {
        let mut st = self
            .run
            .connect_store()
            .context("connecting to the store")?;
        let recs = Record::load_all(&mut st)?;
        let now = mb_vm::sys::now_secs();
        let mut fams = Vec::new();
        for r in &recs {
            let mut nics = Vec::new();
            for i in 0..r.nics.len() {
                nics.push(clickos::nic_counters(&mut st, r.domid, i)?);
            }
            let d = r.domid;
            let busy = clickos::read_u64(&mut st, &clickos_proto::Home::Domain(d).busy())?;
            let loads = clickos::read_u64(&mut st, &clickos::loads(d))?;
            vm_families(&mut fams, r, &nics, busy, loads, now);
            if r.state == State::Running {
                let hs = self.counter_handlers(&mut st, r, loads);
                let vals = read_handlers(&mut st, d, &hs, HANDLER_TIMEOUT)?;
                element_families(&mut fams, &r.name, &hs, &vals);
            }
        }
        self.known.retain(|n, _| recs.iter().any(|r| &r.name == n));
        Ok(render(&fams))
    }

    /// The counter handlers of `r`'s elements, asked of the guest when its
    /// config changed; none if it does not answer (asked again next time).
    fn counter_handlers(
        &mut self,
        st: &mut Store,
        r: &Record,
        loads: Option<u64>,
    ) -> Vec<(String, String)> {
        if let Some(k) = self.known.get(&r.name) {
            if k.domid == r.domid && k.loads == loads {
                return k.handlers.clone();
            }
        }
        let Ok(handlers) = discover(st, r) else {
            return Vec::new();
        };
        self.known.insert(
            r.name.clone(),
            Known {
                domid: r.domid,
                loads,
                handlers: handlers.clone(),
            },
        );
        handlers
    }
}

/// Asks the guest for its elements and their handlers; keeps the
/// readable counters.
fn discover(st: &mut Store, r: &Record) -> Result<Vec<(String, String)>> {
    let names = mb_vm::guest::config_elements(st, r.domid, &r.config_name)?;
    let names: Vec<String> = names
        .into_iter()
        .filter(|e| clickos::split_handler(&format!("{e}.handlers")).is_ok())
        .collect();
    let asks: Vec<(String, String)> = names
        .iter()
        .map(|e| (e.clone(), "handlers".to_string()))
        .collect();
    let lists = read_handlers(st, r.domid, &asks, HANDLER_TIMEOUT)?;
    if lists.iter().all(Option::is_none) && !names.is_empty() {
        return Err(StoreError::Handler(format!("{}: no answer from the guest", r.name)).into());
    }
    let mut out = Vec::new();
    for (e, list) in names.iter().zip(lists) {
        for line in list.unwrap_or_default().lines() {
            let mut f = line.split_whitespace();
            let (Some(h), mode) = (f.next(), f.next().unwrap_or("")) else {
                continue;
            };
            if mode.contains('r') && COUNTER_HANDLERS.contains(&h) {
                out.push((e.clone(), h.to_string()));
            }
        }
    }
    Ok(out)
}

/// Reads many handlers of domain `domid` at once: every request (and a
/// watch on each answer) goes in one pipelined batch, then the answers
/// are collected as they come, until `timeout`. `None` where the guest
/// did not answer in time or answered with an error.
fn read_handlers(
    st: &mut Store,
    domid: u32,
    hs: &[(String, String)],
    timeout: Duration,
) -> Result<Vec<Option<String>>> {
    if hs.is_empty() {
        return Ok(Vec::new());
    }
    let token = format!("mbctl-metrics-{}", std::process::id());
    let watched: Vec<String> = hs
        .iter()
        .map(|(e, h)| clickos::element_path(domid, e, h))
        .collect();
    let ops: Vec<Op> = hs
        .iter()
        .flat_map(|(e, h)| clickos::read_request_ops(domid, e, h))
        .collect();
    mb_store_client::handler::post(st, &watched, &token, &ops)?;
    let mut out: Vec<Option<Option<String>>> = vec![None; hs.len()];
    let deadline = Instant::now() + timeout;
    loop {
        for (i, (e, h)) in hs.iter().enumerate() {
            if out[i].is_none() {
                if let Some(a) = clickos::handler_answer(st, domid, e, h)? {
                    out[i] = Some(a.ok());
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if out.iter().all(Option::is_some) || left.is_zero() {
            return Ok(out.into_iter().map(Option::flatten).collect());
        }
        st.wait_event_for(left)?;
    }
}

/// Reads one counter of a NIC.
type NicField = fn(&NicCounters) -> u64;

/// The per-middlebox and per-NIC families of one record.
fn vm_families(
    fams: &mut Vec<Family>,
    r: &Record,
    nics: &[NicCounters],
    busy: Option<u64>,
    loads: Option<u64>,
    now: u64,
) {
    let vm = r.name.as_str();
    let domid = r.domid.to_string();
    family(
        fams,
        "mb_vm_info",
        Kind::Gauge,
        "A middlebox (always 1): its domain, backend, accelerator and config.",
    )
    .add(
        &[
            ("vm", vm),
            ("domid", &domid),
            ("backend", &r.backend),
            ("accel", &r.accel),
            ("config", &r.config_name),
        ],
        1.0,
    );
    let states = family(
        fams,
        "mb_vm_state",
        Kind::Gauge,
        "1 for the state a middlebox is in, 0 for the others.",
    );
    for s in [
        State::Booting,
        State::Running,
        State::Stopping,
        State::Crashed,
    ] {
        let v = if s == r.state { 1.0 } else { 0.0 };
        states.add(&[("vm", vm), ("state", s.as_str())], v);
    }
    family(
        fams,
        "mb_vm_uptime_seconds",
        Kind::Gauge,
        "Seconds since the middlebox was started.",
    )
    .add(&[("vm", vm)], now.saturating_sub(r.started) as f64);
    if let Ok(mib) = mb_vm::backend::xl::memory_mib(&r.memory) {
        family(
            fams,
            "mb_vm_memory_bytes",
            Kind::Gauge,
            "Guest memory given to the middlebox.",
        )
        .add(&[("vm", vm)], (mib << 20) as f64);
    }
    if let Some(b) = busy {
        family(
            fams,
            "mb_vm_busy_ratio",
            Kind::Gauge,
            "Share of the guest's last second spent moving packets.",
        )
        .add(&[("vm", vm)], b as f64 / 1000.0);
    }
    if let Some(l) = loads {
        family(
            fams,
            "mb_vm_config_loads_total",
            Kind::Counter,
            "Configurations the guest has loaded since it booted.",
        )
        .add(&[("vm", vm)], l as f64);
    }
    let per_nic: [(&str, &str, NicField); 5] = [
        (
            "mb_nic_rx_packets_total",
            "Frames the guest received on the NIC.",
            |c| c.rx_packets,
        ),
        (
            "mb_nic_rx_bytes_total",
            "Bytes the guest received on the NIC.",
            |c| c.rx_bytes,
        ),
        (
            "mb_nic_tx_packets_total",
            "Frames the guest sent on the NIC.",
            |c| c.tx_packets,
        ),
        (
            "mb_nic_tx_bytes_total",
            "Bytes the guest sent on the NIC.",
            |c| c.tx_bytes,
        ),
        (
            "mb_nic_drops_total",
            "Frames lost in the guest at the NIC (unread input, full output queue, no buffer).",
            |c| c.drops,
        ),
    ];
    for (name, help, get) in per_nic {
        let f = family(fams, name, Kind::Counter, help);
        for (i, c) in nics.iter().enumerate() {
            f.add(&[("vm", vm), ("nic", &i.to_string())], get(c) as f64);
        }
    }
}

/// `mb_element_<handler>_total{vm, element}` for each counter read.
fn element_families(
    fams: &mut Vec<Family>,
    vm: &str,
    hs: &[(String, String)],
    vals: &[Option<String>],
) {
    for ((e, h), v) in hs.iter().zip(vals) {
        let Some(v) = v.as_deref().and_then(|v| v.trim().parse::<u64>().ok()) else {
            continue;
        };
        let name = format!("mb_element_{}_total", sanitize_name(h));
        let help = format!("The elements' `{h}` read handler.");
        family(fams, &name, Kind::Counter, &help).add(&[("vm", vm), ("element", e)], v as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_and_its_counters_render() {
        let r = mb_vm::record::sample();
        let nics = [
            NicCounters {
                rx_packets: 5,
                rx_bytes: 500,
                tx_packets: 4,
                tx_bytes: 400,
                drops: 1,
            },
            NicCounters::default(),
        ];
        let mut fams = Vec::new();
        vm_families(&mut fams, &r, &nics, Some(125), Some(2), r.started + 61);
        element_families(
            &mut fams,
            "fw",
            &[
                ("allowed".into(), "count".into()),
                ("allowed".into(), "byte_count".into()),
                ("q".into(), "drops".into()),
            ],
            &[Some("7\n".into()), None, Some("not a number".into())],
        );
        let text = render(&fams);
        for line in [
            "mb_vm_info{vm=\"fw\",domid=\"3\",backend=\"qemu\",accel=\"tcg\",config=\"firewall.click\"} 1",
            "mb_vm_state{vm=\"fw\",state=\"running\"} 1",
            "mb_vm_state{vm=\"fw\",state=\"crashed\"} 0",
            "mb_vm_uptime_seconds{vm=\"fw\"} 61",
            "mb_vm_memory_bytes{vm=\"fw\"} 33554432",
            "mb_vm_busy_ratio{vm=\"fw\"} 0.125",
            "mb_vm_config_loads_total{vm=\"fw\"} 2",
            "# TYPE mb_nic_rx_packets_total counter",
            "mb_nic_rx_packets_total{vm=\"fw\",nic=\"0\"} 5",
            "mb_nic_tx_bytes_total{vm=\"fw\",nic=\"0\"} 400",
            "mb_nic_drops_total{vm=\"fw\",nic=\"1\"} 0",
            "# TYPE mb_element_count_total counter",
            "mb_element_count_total{vm=\"fw\",element=\"allowed\"} 7",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
        // Unanswered and non-numeric handlers are left out.
        assert!(!text.contains("byte_count"), "{text}");
        assert!(!text.contains("mb_element_drops"), "{text}");
        // The sample dashboard asks only for metrics that exist.
        let dash = include_str!("../../metrics/grafana-dashboard.json");
        for (i, _) in dash.match_indices("mb_") {
            let name: String = dash[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.starts_with("mb_element_") {
                continue;
            }
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "dashboard: {name}"
            );
        }
    }
}

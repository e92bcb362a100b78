//! Helpers for the controller tests: events and `chain show` read back
//! through `mbctl`.
#![warn(missing_docs)]

pub use mb_tests_chains::*;
use std::time::{Duration, Instant};

/// Chain `c`'s events, as `mbctl chain events --json` prints them.
pub fn events(c: &Chain) -> Vec<serde_json::Value> {
    let o = c.mbctl(&["chain", "events", &c.name, "--json"]);
    assert!(o.status.success(), "chain events: {}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Waits (up to `secs`) for an event of `kind` (about `replica`, if
/// given) after the first `skip` events; returns it and its position.
pub fn wait_event(
    c: &Chain,
    skip: usize,
    kind: &str,
    replica: Option<&str>,
    secs: u64,
) -> (serde_json::Value, usize) {
    let t = Instant::now();
    loop {
        let evs = events(c);
        if let Some((i, e)) = evs
            .iter()
            .enumerate()
            .skip(skip)
            .find(|(_, e)| e["kind"] == kind && replica.is_none_or(|r| e["replica"] == r))
        {
            return (e.clone(), i);
        }
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "no {kind} event for {replica:?} within {secs} s; events:\n{}",
            evs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The replicas of hop `hop` from `chain show --json`: (name, state,
/// pkts_in, pkts_out).
pub fn replicas(c: &Chain, hop: &str) -> Vec<(String, String, u64, u64)> {
    let o = c.mbctl(&["chain", "show", &c.name, "--json"]);
    assert!(o.status.success(), "chain show: {}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("chain show --json");
    let h = v["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .find(|h| h["name"] == hop)
        .unwrap_or_else(|| panic!("no hop {hop}: {v}"));
    h["replicas"]
        .as_array()
        .expect("replicas")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_string(),
                r["state"].as_str().expect("state").to_string(),
                r["pkts_in"].as_u64().expect("pkts_in"),
                r["pkts_out"].as_u64().expect("pkts_out"),
            )
        })
        .collect()
}

/// The QEMU pid of middlebox `vm`, from `mbctl show --json`.
pub fn pid_of(c: &Chain, vm: &str) -> i32 {
    let o = c.mbctl(&["show", vm, "--json"]);
    assert!(o.status.success(), "show {vm}: {}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("show --json");
    v["pid"].as_i64().unwrap_or_else(|| panic!("no pid: {v}")) as i32
}

/// An iperf3 `--json` result's bytes sent and received (TCP), or
/// panics with its output.
pub fn iperf_bytes(out: &str) -> (u64, u64) {
    let v: serde_json::Value =
        serde_json::from_str(out).unwrap_or_else(|e| panic!("iperf3 --json: {e}: {out}"));
    let end = &v["end"];
    let sent = end["sum_sent"]["bytes"].as_u64();
    let recv = end["sum_received"]["bytes"].as_u64();
    match (sent, recv) {
        (Some(s), Some(r)) => (s, r),
        _ => panic!("iperf3 did not finish: {out}"),
    }
}

/// A chain file: clients `clients` (10.NET.1.11, .12, ...) on the left,
/// server `server` (10.NET.2.2) on the right, and a NAT hop whose replica
/// N has public address 10.NET.2.1N, with `policy` (TOML lines after the
/// hop's own).
pub fn chain_file(name: &str, net: u8, clients: &[String], server: &str, policy: &str) -> String {
    let ns: Vec<String> = clients.iter().map(|c| format!("\"{c}\"")).collect();
    let addrs: Vec<String> = (0..clients.len())
        .map(|i| format!("\"10.{net}.1.{}/24\"", 11 + i))
        .collect();
    format!(
        r#"name = "{name}"
[left]
netns = [{}]
address = [{}]
gateway = "10.{net}.1.1"
[right]
netns = "{server}"
address = "10.{net}.2.2/24"
gateway = "10.{net}.2.1"
route = false
[[hop]]
name = "nat"
config = "{nat}"
defines = {{ PUBLIC = "10.{net}.2.1$REPLICA" }}
{policy}"#,
        ns.join(", "),
        addrs.join(", "),
        nat = config("nat.click")
    )
}

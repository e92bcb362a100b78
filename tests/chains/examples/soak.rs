//! `make soak`: many boot/destroy cycles of one middlebox (a tap and veth
//! into a namespace, and a socket NIC) and many `chain up`/`down` cycles of
//! a one-hop VM chain on a private Open vSwitch, then a leak check (QEMU
//! processes, taps and veths, the chain's devices, namespaces, switch
//! daemons and OVS ports, records and guest store nodes) and the agents'
//! resident memory after the first cycle and at the end. Not part of CI.
//!
//! `cargo run --release -p mb-tests-chains --example soak -- BOOTS CHAINS`
//! (defaults 1000 and 100). Needs root, QEMU and Open vSwitch. Exits 1 on
//! a failed cycle or a leak.

use mb_tests_chains::{config, leftovers, mbctl, skip, text, Chain};
use mb_tests_mbctl::{Host, Netns};
use std::path::Path;
use std::time::Instant;

/// The resident memory (KiB) of the agent serving `run`.
fn agent_rss_kib(run: &Path) -> u64 {
    let pid = std::fs::read_to_string(run.join("agent.pid")).expect("agent pid file");
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).expect("the agent runs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

fn arg(n: usize, default: u32) -> u32 {
    std::env::args()
        .nth(n)
        .map(|a| a.parse().expect("a number of cycles"))
        .unwrap_or(default)
}

fn main() {
    if skip("soak") {
        return;
    }
    let (boots, chains) = (arg(1, 1000), arg(2, 100));
    // Built now, so the first cycle's time is not cargo's.
    mbctl();
    let mut leaks: Vec<String> = Vec::new();

    let h = Host::new();
    let ns = format!("mbsk{}", std::process::id() % 100_000);
    let _ns = Netns::new(&[&ns]);
    let cfg = h.file(
        "wire.click",
        "FromDevice(0) -> Queue(64) -> ToDevice(1);\nFromDevice(1) -> Queue(64) -> ToDevice(0);\n",
    );
    let peer = h.scratch.join("peer");
    let boot = [
        "boot",
        cfg.to_str().unwrap(),
        "--name",
        "soak",
        "--accel",
        "tcg",
        "--nic",
        &format!("netns:{ns}"),
        "--nic",
        &format!("socket:{}", peer.display()),
    ];
    let start = Instant::now();
    let mut rss = (0, 0);
    for i in 0..boots {
        h.ok(&boot);
        h.ok(&["destroy", "soak"]);
        if i == 0 {
            rss.0 = agent_rss_kib(&h.run);
        }
        if (i + 1) % 100 == 0 {
            println!(
                "  after {} boot cycles: agent RSS {} KiB",
                i + 1,
                agent_rss_kib(&h.run)
            );
        }
    }
    if boots > 0 {
        rss.1 = agent_rss_kib(&h.run);
    }
    let boot_time = start.elapsed();
    for (what, left) in [
        ("QEMU processes", format!("{:?}", h.qemu_pids())),
        ("taps/veths", format!("{:?}", h.devices())),
        ("records", format!("{:?}", h.store_list("/mbctl/vm"))),
        ("domain ids", format!("{:?}", h.store_list("/mbctl/domid"))),
        (
            "guest store nodes",
            format!("{:?}", h.store_list("/local/domain")),
        ),
    ] {
        if left != "[]" {
            leaks.push(format!("boot/destroy: {what} left: {left}"));
        }
    }
    println!(
        "boot/destroy: {boots} cycles in {:.1} s ({:.0} ms each); agent RSS {} KiB after the first, {} KiB at the end",
        boot_time.as_secs_f64(),
        boot_time.as_secs_f64() * 1000.0 / boots.max(1) as f64,
        rss.0,
        rss.1
    );

    let id = std::process::id() % 100_000;
    let (client, server) = (format!("mbsc{id}"), format!("mbss{id}"));
    let mut c = Chain::new(&format!("sk{id}"));
    let toml = format!(
        "name = \"{}\"\n[left]\nnetns = \"{client}\"\naddress = \"10.43.1.2/24\"\ngateway = \"10.43.1.1\"\n\
         [right]\nnetns = \"{server}\"\naddress = \"10.43.2.2/24\"\ngateway = \"10.43.2.1\"\n\
         [[hop]]\nname = \"fw\"\nconfig = \"{}\"\n",
        c.name,
        config("firewall.click")
    );
    let start = Instant::now();
    let mut crss = (0, 0);
    for i in 0..chains {
        let o = c.up(&toml);
        assert!(o.status.success(), "chain up {i}: {}", text(&o));
        if i == 0 {
            crss.0 = agent_rss_kib(&c.run.0);
        }
        let o = c.down();
        assert!(o.status.success(), "chain down {i}: {}", text(&o));
    }
    if chains > 0 {
        crss.1 = agent_rss_kib(&c.run.0);
    }
    let chain_time = start.elapsed();
    let left = leftovers(&c, &[&client, &server]);
    if !left.is_empty() {
        leaks.push(format!("chain up/down: left {left:?}"));
    }
    let vms = text(&c.mbctl(&["ls", "--json"]));
    if vms.trim() != "[]" {
        leaks.push(format!("chain up/down: middleboxes left: {vms}"));
    }
    println!(
        "chain up/down: {chains} cycles in {:.1} s ({:.0} ms each); agent RSS {} KiB after the first, {} KiB at the end",
        chain_time.as_secs_f64(),
        chain_time.as_secs_f64() * 1000.0 / chains.max(1) as f64,
        crss.0,
        crss.1
    );
    if leaks.is_empty() {
        println!("leak check: nothing left (QEMU, taps, veths, chain devices, namespaces, OVS, records, store nodes)");
    } else {
        for l in &leaks {
            println!("LEAK {l}");
        }
        std::process::exit(1);
    }
}

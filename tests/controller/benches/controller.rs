//! `make bench` (as root): the controller's own cost. An agent (`mbctl
//! agent`, which runs the controller) serves a scratch run directory
//! whose store holds one replicated hop of 100 replicas polled every
//! 100 ms: each poll is the real one (one pipelined store round trip for
//! the hop: each replica's heartbeat and what the policy's metric needs,
//! here nothing more). The replicas are records without VMs, so this
//! measures the poll loop against store entries, as the figure asks (the
//! guests' side, beating, is theirs, not the controller's); their beats
//! stand still, so every poll is a miss, which the loop must bear too. The
//! agent's CPU time is read from /proc over a window, with and without
//! the hop; the difference is the controller's. Targets are reported,
//! never asserted.

use mb_chain::replica::{self, Counters, HopState, Policy, Port, RState, Replica, Side, Split};
use mb_tests_controller::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REPLICAS: u32 = 100;
const INTERVAL_MS: u64 = 100;
const WINDOW: Duration = Duration::from_secs(10);

fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("agent stat");
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Percent of one core the agent used over the window.
fn agent_cpu(pid: u32) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    std::thread::sleep(WINDOW);
    let (dt, dc) = (t0.elapsed().as_secs_f64(), cpu_ticks(pid) - c0);
    dc as f64 / hz / dt * 100.0
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("controller bench: SKIP (needs root: the agent serves a run directory)");
        return;
    }
    let run = Scratch::new("controller-bench");
    let mut agent = Command::new(mbctl())
        .arg("agent")
        .env("MBCTL_RUN_DIR", &run.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mbctl agent");
    let t = Instant::now();
    while !run.join("agent.pid").exists() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the agent did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = agent.id();
    let idle = agent_cpu(pid);

    let mut st = mb_store_client::Store::connect(&run.join("xenstored.sock")).expect("store");
    let port = |dev: String, ofport: u32| Port {
        dev,
        ofport,
        mac: None,
    };
    let replicas: Vec<Replica> = (0..REPLICAS)
        .map(|n| Replica {
            n,
            vm: format!("bench-nat-{n}"),
            state: RState::Running,
            goal: RState::Running,
            inp: Some(port(format!("t{n}i"), 10 + n)),
            out: Some(port(format!("t{n}o"), 200 + n)),
            domid: Some(1000 + n),
            pid: None,
            since_ms: 0,
            metric: None,
        })
        .collect();
    // Each poll reads a beat that is there, as of a live guest.
    for r in &replicas {
        let d = r.domid.unwrap();
        st.write(&format!("/local/domain/{d}/data/mb/beat"), "1000")
            .expect("beat");
    }
    let hop = HopState {
        chain: "bench".into(),
        hop: "nat".into(),
        index: 0,
        policy: Policy {
            min: REPLICAS,
            max: REPLICAS,
            interval_ms: INTERVAL_MS,
            misses: 1000,
            scale: None,
            split: Split::SrcIp,
        },
        config: "/nonexistent.click".into(),
        defines: vec![],
        memory: None,
        // No switch: the bench measures the polls, not rule changes.
        ovs_rundir: run.join("no-ovs"),
        ovs_private: true,
        left: Side {
            bridge: "bench-l0".into(),
            others: vec![],
        },
        right: Side {
            bridge: "bench-l1".into(),
            others: vec![],
        },
        replicas,
        target: REPLICAS,
        last_scale_ms: 0,
        counters: Counters::default(),
    };
    replica::save(&mut st, &hop, None).expect("hop record");
    // The controller finds it within its scan period.
    std::thread::sleep(Duration::from_secs(2));
    let busy = agent_cpu(pid);
    // The controller asked the first replica for a heartbeat.
    let asked = st
        .read("/local/domain/1000/data/mb/beat_ms")
        .ok()
        .flatten()
        .is_some_and(|v| v == (INTERVAL_MS / 2).to_string());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "controller poll cost ({REPLICAS} replicas, {INTERVAL_MS} ms interval, {} s windows)",
        WINDOW.as_secs()
    );
    println!(
        "{:<34} {:>10}",
        "agent, no replicated hop",
        format!("{idle:.2} %")
    );
    println!(
        "{:<34} {:>10}",
        "agent, 100 replicas polled",
        format!("{busy:.2} %")
    );
    println!(
        "{:<34} {:>10}   (target < 2 % of one core)",
        "controller's share",
        format!("{:.2} %", busy - idle)
    );
    println!(
        "heartbeats asked of the replicas: {asked}; load average: {}",
        load.trim()
    );
    // SAFETY: our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = agent.wait();
}

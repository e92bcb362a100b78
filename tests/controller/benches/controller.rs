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
//! the hop; the difference is the controller's.
//!
//! Then the reaction and failure times, with real QEMU guests: a NAT hop
//! split on the 5-tuple, and a probe stream of UDP datagrams, each from a
//! new source port (so each is a new flow the split may give to a new
//! replica), captured with tcpdump at the server. Each replica has its own
//! public address, so the first datagram from the new replica's address
//! is the first packet it forwarded, timestamped by the capture (µs), not
//! at poll granularity. Reaction: from the controller's `threshold` event
//! (its ms timestamp) to that packet, with a warm spare and with a boot;
//! failure: from `kill -9` of a serving replica's QEMU to the first packet
//! from its replacement. The part of a reaction until the controller's
//! `running` event (logged once the switch's rules are in; for a boot, its
//! detail says how long the boot took) is shown apart: the rest is the
//! switch's and the guest's. Targets are reported, never asserted.

use mb_chain::replica::{self, Counters, HopState, Policy, Port, RState, Replica, Side, Split};
use mb_tests_controller::*;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    drop(run);
    reaction();
}

/// Wall-clock ms, as the controller's events carry.
fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Sends UDP datagrams from namespace `ns` to `dst`, each from a new
/// socket (a new source port, so a new flow), `rate` per second, until
/// `stop`.
fn udp_stream(
    ns: &str,
    dst: &str,
    rate: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("namespace");
    let dst = dst.to_string();
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid namespace fd; only this thread moves.
        let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
        while !stop.load(Ordering::Relaxed) {
            if let Ok(s) = std::net::UdpSocket::bind("0.0.0.0:0") {
                let _ = s.send_to(b"mb-probe", &dst);
            }
            let pps = rate.load(Ordering::Relaxed).max(1);
            std::thread::sleep(Duration::from_micros(1_000_000 / pps as u64));
        }
    })
}

/// The capture's packets: (ms since the epoch, source address).
fn captured(log: &std::path::Path) -> Vec<(f64, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let ts: f64 = w.next()?.parse().ok()?;
            let src = w.skip_while(|x| *x != "IP").nth(1)?;
            let addr = src.rsplit_once('.')?.0;
            Some((ts * 1000.0, addr.to_string()))
        })
        .collect()
}

/// The first packet from `addr` at or after `after` (ms), in ms after it.
fn first_from(log: &std::path::Path, addr: &str, after: f64) -> Option<f64> {
    captured(log)
        .into_iter()
        .find(|(t, a)| a == addr && *t >= after)
        .map(|(t, _)| t - after)
}

/// One chain, `warm` spares: the reaction time of its scale-out, and
/// (with a spare) the failure time after a `kill -9`.
/// What one scale-out showed: the reaction, of which the part until
/// the controller's `running` event (the switch's rules in) with its
/// detail (a boot's duration), and the failure time.
struct Times {
    reaction: Option<f64>,
    rules_in: Option<(f64, String)>,
    failure: Option<f64>,
}

fn scale_out(warm: u32, net: u8) -> Times {
    let id = std::process::id() % 100_000;
    let (client, server) = (format!("mbq{id}c{warm}"), format!("mbq{id}s{warm}"));
    let mut c = Chain::new(&format!("b{id}{warm}"));
    let policy = format!(
        r#"replicas = {{ min = 1, max = 2 }}
split = "5-tuple"
[hop.health]
interval = "100ms"
misses = 3
[hop.scale]
metric = "pps"
above = 400
below = 1
for = "300ms"
cooldown = "1s"
warm = {warm}
"#
    );
    let toml = chain_file(
        &c.name,
        net,
        std::slice::from_ref(&client),
        &server,
        &policy,
    );
    let o = c.up(&toml);
    assert!(o.status.success(), "chain up: {}", text(&o));
    let nat = |n: u32| format!("{}-nat-{n}", c.name);
    let (_, mut at) = wait_event(&c, 0, "resumed", None, 60);
    let cap = c.run.join("capture.log");
    let _tcpdump = spawn_in(
        &server,
        &[
            "tcpdump",
            "-i",
            "any",
            "-n",
            "-l",
            "-tt",
            "--time-stamp-precision=micro",
            "udp",
            "and",
            "dst",
            "port",
            "9",
        ],
        &cap,
    );
    let rate = Arc::new(AtomicU32::new(50));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = udp_stream(
        &client,
        &format!("10.{net}.2.2:9"),
        rate.clone(),
        stop.clone(),
    );
    // The stream flows through replica 0, below the threshold.
    let t = Instant::now();
    while first_from(&cap, &format!("10.{net}.2.10"), 0.0).is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no probe reached the server"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    rate.store(1000, Ordering::Relaxed);
    let (ev, i) = wait_event(&c, at, "threshold", None, 60);
    at = i;
    let crossed = ev["t_ms"].as_f64().expect("event t_ms");
    let new_addr = format!("10.{net}.2.11");
    let t = Instant::now();
    let mut reaction = None;
    while reaction.is_none() && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
        reaction = first_from(&cap, &new_addr, crossed);
    }
    let rules_in = events(&c)
        .into_iter()
        .skip(at)
        .find(|e| e["kind"] == "running" && e["replica"] == nat(1).as_str())
        .map(|e| {
            let t = e["t_ms"].as_f64().expect("event t_ms") - crossed;
            (t, e["detail"].as_str().unwrap_or("").to_string())
        });
    let mut failure = None;
    if warm > 0 {
        // The pool refills (replica 2), then replica 0 is killed: its
        // replacement is replica 2.
        wait_event(&c, at, "warm", Some(&nat(2)), 60);
        let pid = pid_of(&c, &nat(0));
        let killed = now_ms();
        // SAFETY: a QEMU process of this chain.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let t = Instant::now();
        let addr = format!("10.{net}.2.12");
        while failure.is_none() && t.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(200));
            failure = first_from(&cap, &addr, killed);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = sender.join();
    let o = c.down();
    assert!(o.status.success(), "chain down: {}", text(&o));
    Times {
        reaction,
        rules_in,
        failure,
    }
}

fn reaction() {
    if skip("controller bench (reaction)") {
        return;
    }
    if Command::new("tcpdump").arg("--version").output().is_err() {
        println!("controller bench (reaction): SKIP (needs tcpdump)");
        return;
    }
    let cold = scale_out(0, 76);
    let warm = scale_out(1, 77);
    let show = |v: Option<f64>| v.map_or("none seen".to_string(), |v| format!("{v:.1} ms"));
    println!("controller reaction (NAT hop, 100 ms interval, misses 3, QEMU/TCG guests)");
    for (t, what, target) in [
        (&cold, "cold", "< 150 ms under TCG"),
        (&warm, "warm", "< 20 ms"),
    ] {
        println!(
            "{:<52} {:>12}   (target {target})",
            format!("threshold crossed -> new replica forwards, {what}"),
            show(t.reaction)
        );
        if let Some((ms, detail)) = &t.rules_in {
            println!(
                "{:<52} {:>12}   ({detail})",
                "  of which until its rules are in (`running`)",
                format!("{ms:.1} ms")
            );
        }
    }
    println!(
        "{:<52} {:>12}   (target < 350 ms: misses x interval + 50)",
        "kill -9 -> replacement (warm) forwards",
        show(warm.failure)
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average: {}", load.trim());
}

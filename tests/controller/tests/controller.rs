//! The chain controller end to end: a replicated NAT hop (middlebox VMs
//! under QEMU) between client namespaces and a server, on the private
//! Open vSwitch, with iperf3 and ping as real clients. Needs root, Open
//! vSwitch, QEMU and iperf3 (SKIP otherwise, never under CI). The two
//! tests run one at a time: each boots three VMs.

use mb_tests_controller::*;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn id() -> u32 {
    std::process::id() % 100_000
}

fn clients(tag: char, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("mbk{}{tag}{i}", id())).collect()
}

/// Which NAT replica's public address (10.NET.2.1N) the server's log shows.
fn replicas_seen(log: &str, net: u8) -> Vec<u32> {
    let mut v: Vec<u32> = (0..4)
        .filter(|n| {
            log.contains(&format!("10.{net}.2.1{n} ")) || log.contains(&format!("10.{net}.2.1{n},"))
        })
        .collect();
    v.dedup();
    v
}

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Takes the chain down and returns what it left behind.
fn down(c: &mut Chain, clients: &[String], server: &str) -> Vec<String> {
    let o = c.down();
    assert!(o.status.success(), "chain down: {}", text(&o));
    let mut ns: Vec<&str> = clients.iter().map(String::as_str).collect();
    ns.push(server);
    leftovers(c, &ns)
}

#[test]
fn nat_scales_out_and_in_keeping_connections() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    if skip("nat_scales_out_and_in_keeping_connections") {
        return;
    }
    let net = 78;
    let cl = clients('a', 6);
    let server = format!("mbk{}as", id());
    let mut c = Chain::new(&format!("cs{}", id()));
    let policy = r#"replicas = { min = 1, max = 2 }
split = "5-tuple"
[hop.health]
interval = "200ms"
misses = 10
[hop.scale]
metric = "pps"
above = 400
below = 100
for = "1s"
cooldown = "3s"
warm = 1
"#;
    let o = c.up(&chain_file(&c.name, net, &cl, &server, policy));
    assert!(o.status.success(), "chain up: {}", text(&o));
    let nat = |n: u32| format!("{}-nat-{n}", c.name);
    let (_, at) = wait_event(&c, 0, "resumed", None, 30);
    let r = replicas(&c, "nat");
    assert_eq!(
        r.iter()
            .map(|x| (x.0.as_str(), x.1.as_str()))
            .collect::<Vec<_>>(),
        [(nat(0).as_str(), "running"), (nat(1).as_str(), "warm")],
        "{r:?}"
    );
    // Replica names work with every mbctl command.
    let h = c.mbctl(&["read", &nat(0), "rw.name"]);
    assert!(h.status.success(), "mbctl read {}: {}", nat(0), text(&h));

    let mut servers = Vec::new();
    for i in 0..cl.len() {
        let port = (5201 + i).to_string();
        servers.push(spawn_in(
            &server,
            &[
                "iperf3",
                "-s",
                "-p",
                &port,
                "-B",
                &format!("10.{net}.2.2"),
                "--forceflush",
            ],
            &c.run.join(&format!("server{i}.log")),
        ));
    }
    for i in 0..cl.len() {
        wait_listening(&server, 5201 + i as u16);
    }
    // UDP load from two clients, about 500 packets/s each, past `above`.
    let mut load = Vec::new();
    for (i, client) in cl.iter().enumerate().take(2) {
        let port = (5201 + i).to_string();
        load.push(spawn_in(
            client,
            &[
                "iperf3",
                "-c",
                &format!("10.{net}.2.2"),
                "-p",
                &port,
                "-u",
                "-b",
                "400k",
                "-l",
                "100",
                "-t",
                "120",
            ],
            &c.run.join(&format!("load{i}.log")),
        ));
    }
    let (th, at) = wait_event(&c, at, "threshold", None, 90);
    assert!(
        th["detail"].as_str().unwrap().contains("scaling out to 2"),
        "{th}"
    );
    let (promoted, _) = wait_event(&c, at, "running", Some(&nat(1)), 60);
    assert!(
        promoted["detail"].as_str().unwrap().contains("warm pool"),
        "{promoted}"
    );

    // New flows: TCP transfers of four connections each from four more
    // clients, which the split spreads over both replicas; slow enough to
    // keep the metric low.
    let t_tcp = Instant::now();
    let mut tcp = Vec::new();
    for (i, client) in cl.iter().enumerate().skip(2) {
        let port = (5201 + i).to_string();
        tcp.push(spawn_in(
            client,
            &[
                "iperf3",
                "-c",
                &format!("10.{net}.2.2"),
                "-p",
                &port,
                "-t",
                "30",
                "-P",
                "4",
                "-b",
                "10k",
                "-l",
                "1000",
                "--json",
            ],
            &c.run.join(&format!("tcp{i}.json")),
        ));
    }
    // The `running` event follows the switch's rules, so every connection
    // opened from now on is split on its 5-tuple: each client's five
    // (iperf3's control connection and four streams) spread over both
    // replicas. They are up within a few round trips.
    let seen_by = |i: usize| replicas_seen(&read(&c.run.join(&format!("server{i}.log"))), net);
    let split = || (2..cl.len()).filter(|&i| seen_by(i) == [0, 1]).count();
    let t_seen = Instant::now();
    while split() == 0 && t_seen.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let new: Vec<Vec<u32>> = (2..cl.len()).map(seen_by).collect();
    let logs: String = (0..cl.len())
        .map(|i| read(&c.run.join(&format!("server{i}.log"))))
        .collect();
    assert!(
        new.iter().any(|s| s.contains(&1)),
        "no TCP connection went to the new replica ({new:?}):\n{logs}\nevents: {:?}",
        events(&c)
    );
    assert!(
        new.iter().any(|s| s == &[0, 1]),
        "no client's connections were split over both replicas ({new:?}):\n{logs}"
    );
    let (_, _) = wait_event(&c, at, "forwarding", Some(&nat(1)), 30);
    let before = replicas(&c, "nat");
    std::thread::sleep(Duration::from_secs(2));
    let after = replicas(&c, "nat");
    for n in [0, 1] {
        let b = before.iter().find(|x| x.0 == nat(n)).expect("replica");
        let a = after.iter().find(|x| x.0 == nat(n)).expect("replica");
        assert!(
            a.2 > b.2 && a.3 > b.3,
            "replica {n}'s counters did not grow: {b:?} -> {a:?}"
        );
    }

    // Load removed: the hop drains the new replica while its TCP
    // transfers still run; they complete in full through it (and so do
    // their control connections, idle until the end, on either replica).
    drop(load);
    let (_, at) = wait_event(&c, at, "draining", Some(&nat(1)), 90);
    let draining_at = t_tcp.elapsed();
    assert!(
        draining_at < Duration::from_secs(28),
        "drained only after the transfers ended ({draining_at:?}); the test shows nothing"
    );
    for (k, mut t) in tcp.into_iter().enumerate() {
        let st = t.0.wait().expect("iperf3 client");
        let i = k + 2;
        let out = read(&c.run.join(&format!("tcp{i}.json")));
        assert!(st.success(), "TCP transfer {i} failed: {out}");
        let (sent, received) = iperf_bytes(&out);
        assert!(
            sent > 0 && sent == received,
            "transfer {i}: sent {sent}, received {received}"
        );
    }
    let (_, _) = wait_event(&c, at, "removed", Some(&nat(1)), 90);
    let r = replicas(&c, "nat");
    let serving: Vec<&str> = r
        .iter()
        .filter(|x| x.1 == "running")
        .map(|x| x.0.as_str())
        .collect();
    assert_eq!(serving, [nat(0).as_str()], "{r:?}");
    drop(servers);
    let left = down(&mut c, &cl, &server);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn failed_replica_is_replaced_across_an_agent_restart() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    if skip("failed_replica_is_replaced_across_an_agent_restart") {
        return;
    }
    let net = 79;
    let cl = clients('b', 4);
    let server = format!("mbk{}bs", id());
    let mut c = Chain::new(&format!("cf{}", id()));
    let policy = r#"replicas = 2
[hop.health]
interval = "100ms"
misses = 5
[hop.scale]
metric = "pps"
above = 1000000
below = 0
warm = 1
"#;
    let o = c.up(&chain_file(&c.name, net, &cl, &server, policy));
    assert!(o.status.success(), "chain up: {}", text(&o));
    let nat = |n: u32| format!("{}-nat-{n}", c.name);
    let (_, at) = wait_event(&c, 0, "resumed", None, 30);
    let pids: Vec<i32> = (0..3).map(|n| pid_of(&c, &nat(n))).collect();

    // The agent restarts: nothing is rebooted, the controller resumes.
    let o = c.mbctl(&["agent", "stop"]);
    assert!(o.status.success(), "agent stop: {}", text(&o));
    let o = c.mbctl(&["ls"]);
    assert!(o.status.success(), "ls: {}", text(&o));
    let (resumed, at) = wait_event(&c, at + 1, "resumed", None, 30);
    assert!(
        resumed["detail"].as_str().unwrap().contains("3 replica(s)"),
        "{resumed}"
    );
    let again: Vec<i32> = (0..3).map(|n| pid_of(&c, &nat(n))).collect();
    assert_eq!(pids, again, "a replica was rebooted by the agent's restart");

    let _srv = spawn_in(
        &server,
        &[
            "iperf3",
            "-s",
            "-p",
            "5201",
            "-B",
            &format!("10.{net}.2.2"),
            "--forceflush",
        ],
        &c.run.join("server.log"),
    );
    wait_listening(&server, 5201);
    let mut transfer = spawn_in(
        &cl[0],
        &[
            "iperf3",
            "-c",
            &format!("10.{net}.2.2"),
            "-t",
            "20",
            "-b",
            "2M",
            "--json",
        ],
        &c.run.join("tcp.json"),
    );
    let t = Instant::now();
    let carrying = loop {
        if let [n] = replicas_seen(&read(&c.run.join("server.log")), net)[..] {
            break n;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "server log: {}",
            read(&c.run.join("server.log"))
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let victim = 1 - carrying;
    let mut pings = Vec::new();
    for (i, client) in cl.iter().enumerate() {
        pings.push(spawn_in(
            client,
            &[
                "ping",
                "-i",
                "0.05",
                "-c",
                "300",
                "-W",
                "1",
                &format!("10.{net}.2.2"),
            ],
            &c.run.join(&format!("ping{i}.log")),
        ));
    }
    std::thread::sleep(Duration::from_secs(3));
    let killed = Instant::now();
    // SAFETY: the QEMU of this test's replica, its pid from its record.
    assert_eq!(
        unsafe { libc::kill(pids[victim as usize], libc::SIGKILL) },
        0
    );
    let (failed, at) = wait_event(&c, at, "failed", Some(&nat(victim)), 30);
    let (replaced, _) = wait_event(&c, at, "running", Some(&nat(2)), 30);
    assert!(
        replaced["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("replaces {}", nat(victim))),
        "{replaced}"
    );
    let (gone, _) = wait_event(&c, at, "replaced", Some(&nat(victim)), 5);
    assert_eq!(gone["detail"], format!("by {}", nat(2)), "{gone}");
    let detect_ms = failed["t_ms"].as_u64().unwrap();
    eprintln!(
        "failure detected {} ms after the kill ({}); replaced from the warm pool at +{} ms",
        killed.elapsed().as_millis(),
        failed["detail"],
        replaced["t_ms"].as_u64().unwrap() - detect_ms
    );
    wait_event(&c, at, "removed", Some(&nat(victim)), 60);

    let st = transfer.0.wait().expect("iperf3");
    let out = read(&c.run.join("tcp.json"));
    assert!(
        st.success(),
        "the transfer through the other replica broke: {out}"
    );
    let (sent, received) = iperf_bytes(&out);
    assert!(
        sent > 0 && sent == received,
        "sent {sent}, received {received}"
    );
    for (i, mut p) in pings.into_iter().enumerate() {
        let _ = p.0.wait();
        let log = read(&c.run.join(&format!("ping{i}.log")));
        let line = log
            .lines()
            .find(|l| l.contains("packets transmitted"))
            .unwrap_or("(no summary)");
        eprintln!("ping stream from client {i} across the failure: {line}");
        assert!(line.contains(" received"), "{log}");
    }
    // Every client gets through afterwards, and a new spare was booted.
    for client in &cl {
        let p = in_ns(
            client,
            &[
                "ping",
                "-c",
                "2",
                "-i",
                "0.2",
                "-w",
                "20",
                &format!("10.{net}.2.2"),
            ],
        );
        assert!(p.status.success(), "ping from {client}: {}", text(&p));
    }
    wait_event(&c, at, "warm", None, 60);
    let r = replicas(&c, "nat");
    assert_eq!(r.iter().filter(|x| x.1 == "running").count(), 2, "{r:?}");
    assert_eq!(r.iter().filter(|x| x.1 == "warm").count(), 1, "{r:?}");
    let left = down(&mut c, &cl, &server);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn rate_limiting_firewall_scales_on_cpu() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    if skip("rate_limiting_firewall_scales_on_cpu") {
        return;
    }
    let cl = clients('c', 2);
    let server = format!("mbk{}cs", id());
    let mut c = Chain::new(&format!("cr{}", id()));
    // An idle replica's QEMU uses well under 5 % of a core here; one
    // taking 2,500 packets/s under TCG a quarter of one. No spare: the
    // scale-out boots its replica.
    let file = format!(
        r#"name = "{name}"
[left]
netns = ["{c0}", "{c1}"]
address = ["10.80.1.11/24", "10.80.1.12/24"]
gateway = "10.80.1.1"
[right]
netns = "{server}"
address = "10.80.2.2/24"
gateway = "10.80.2.1"
[[hop]]
name = "fw"
config = "{fw}"
defines = {{ RATE = "1000" }}
replicas = {{ min = 1, max = 2 }}
[hop.health]
interval = "200ms"
misses = 10
[hop.scale]
metric = "cpu"
above = 12
below = 4
for = "1s"
cooldown = "3s"
"#,
        name = c.name,
        c0 = cl[0],
        c1 = cl[1],
        fw = config("ratelimit.click")
    );
    let o = c.up(&file);
    assert!(o.status.success(), "chain up: {}", text(&o));
    let fw = |n: u32| format!("{}-fw-{n}", c.name);
    let (_, at) = wait_event(&c, 0, "resumed", None, 30);
    let _srv = spawn_in(
        &server,
        &["iperf3", "-s", "-p", "5201", "-B", "10.80.2.2"],
        &c.run.join("server.log"),
    );
    wait_listening(&server, 5201);
    // 2,500 packets/s offered; the firewall passes 1,000.
    let mut load = spawn_in(
        &cl[0],
        &[
            "iperf3",
            "-c",
            "10.80.2.2",
            "-u",
            "-b",
            "2M",
            "-l",
            "100",
            "-t",
            "20",
            "--json",
        ],
        &c.run.join("load.json"),
    );
    let (th, at) = wait_event(&c, at, "threshold", None, 60);
    assert!(th["detail"].as_str().unwrap().starts_with("cpu "), "{th}");
    let (booted, at) = wait_event(&c, at, "running", Some(&fw(1)), 90);
    assert!(
        booted["detail"].as_str().unwrap().starts_with("booted in"),
        "{booted}"
    );
    let st = load.0.wait().expect("iperf3");
    let out = read(&c.run.join("load.json"));
    assert!(st.success(), "iperf3: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("iperf3 --json");
    let lost = v["end"]["sum"]["lost_percent"]
        .as_f64()
        .expect("lost_percent");
    assert!(
        lost > 30.0,
        "the firewall did not limit the rate: {lost} % lost"
    );
    let passed = c.mbctl(&["read", &fw(0), "passed.count"]);
    let over = c.mbctl(&["read", &fw(0), "over.count"]);
    let n = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse::<u64>()
            .unwrap_or(0)
    };
    assert!(
        n(&passed) > 0 && n(&over) > 0,
        "passed {} over {}",
        text(&passed),
        text(&over)
    );
    // Idle again: back to one replica.
    let (_, _) = wait_event(&c, at, "removed", Some(&fw(1)), 120);
    let evs = events(&c);
    let left = down(&mut c, &cl, &server);
    assert!(left.is_empty(), "left behind: {left:?}; events: {evs:#?}");
}

//! `make bench`: throughput and packet rate through chains of 1 to 8
//! forwarding middleboxes (`click-configs/chains/forward.click`) between
//! two network namespaces, for 64- and 800-byte frames: iperf3 UDP at an
//! unlimited offered rate, counted at the receiver (median of three). Prints a table, writes
//! `target/chains-bench/{results.csv,results.md,chains.png}`. Needs root
//! and Open vSwitch (SKIP otherwise). `MB_CHAIN_BENCH_HOPS=4` and
//! `MB_CHAIN_BENCH_SECONDS=3` shorten a run.

use mb_tests_chains::*;
use std::fmt::Write;

const FRAMES: [usize; 2] = [64, 800];
/// Ethernet + IPv4 + UDP headers: a frame of F bytes carries F - 42.
const HEADERS: usize = 42;

/// Number `key` of section `section` (`sum_sent`, `sum_received`) of
/// iperf3's top-level `end` object.
fn field(json: &str, section: &str, key: &str) -> Option<f64> {
    // The top-level "end" is the one that opens an object; interval
    // entries have numeric "end"s.
    let mut from = 0;
    let end = loop {
        let at = from + json[from..].find("\"end\":")?;
        let rest = json[at + 6..].trim_start();
        if rest.starts_with('{') {
            break rest;
        }
        from = at + 6;
    };
    let sec = &end[end.find(&format!("\"{section}\":"))?..];
    let sec = &sec[..sec.find('}')?];
    let at = sec.find(&format!("\"{key}\":"))? + key.len() + 3;
    let v: String = sec[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '-' | '+'))
        .collect();
    v.parse().ok()
}

/// One iperf3 UDP run's outcome, per second.
struct Measure {
    sent_pps: f64,
    recv_pps: f64,
    loss_pct: f64,
}

/// iperf3 UDP from `client` with `payload`-byte datagrams at `bps` bits/s
/// of payload (0: as fast as it can) for `secs` seconds. `None` when
/// iperf3 gave up (its control connection shares the flooded path).
fn udp(client: &str, payload: usize, bps: u64, secs: u32) -> Option<Measure> {
    let r = in_ns(
        client,
        &[
            "iperf3",
            "-c",
            "10.40.2.2",
            "-u",
            "-b",
            &bps.to_string(),
            "-l",
            &payload.to_string(),
            "-t",
            &secs.to_string(),
            "-J",
        ],
    );
    let j = String::from_utf8_lossy(&r.stdout).into_owned();
    if !r.status.success() {
        return None;
    }
    let f = |sec: &str, k: &str| field(&j, sec, k);
    let (sent, lost, s) = (
        f("sum_received", "packets")?,
        f("sum_received", "lost_packets")?,
        f("sum_received", "seconds")?.max(1e-3),
    );
    Some(Measure {
        sent_pps: f("sum_sent", "packets")? / f("sum_sent", "seconds")?.max(1e-3),
        recv_pps: (sent - lost).max(0.0) / s,
        loss_pct: if sent > 0.0 {
            100.0 * lost / sent
        } else {
            100.0
        },
    })
}

fn chain_file(name: &str, hops: usize, client: &str, server: &str) -> String {
    let mut t = format!(
        "name = \"{name}\"\n[left]\nnetns = \"{client}\"\naddress = \"10.40.1.2/24\"\ngateway = \"10.40.1.1\"\n\
         [right]\nnetns = \"{server}\"\naddress = \"10.40.2.2/24\"\ngateway = \"10.40.2.1\"\n"
    );
    for i in 0..hops {
        t.push_str(&format!(
            "[[hop]]\nname = \"f{i}\"\nconfig = \"{}\"\n",
            config("forward.click")
        ));
    }
    t
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if skip("chains bench") {
        return;
    }
    let max_hops: usize = std::env::var("MB_CHAIN_BENCH_HOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let secs: u32 = std::env::var("MB_CHAIN_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let id = std::process::id() % 100_000;
    let (client, server) = (format!("mbbc{id}"), format!("mbbs{id}"));
    let out = repo().join("target/chains-bench");
    std::fs::create_dir_all(&out).expect("target/chains-bench");
    let mut csv = String::from("hops,frame,mbps,kpps,spread_kpps,offered_kpps,loss_pct\n");
    println!("chain bench: iperf3 UDP; Mb/s and kpps = highest rate received with < 1% loss;");
    println!(
        "overload = received when the sender goes flat out ({secs} s), at the offered rate shown"
    );
    println!(
        "{:>4} {:>6} {:>10} {:>10} {:>14} {:>10}",
        "hops", "frame", "Mb/s", "kpps", "overload kpps", "offered"
    );
    for hops in 1..=max_hops {
        let mut c = Chain::new(&format!("bn{hops}"));
        let o = c.up(&chain_file(&c.name, hops, &client, &server));
        assert!(o.status.success(), "chain up ({hops} hops): {}", text(&o));
        let log = c.run.join("iperf3-server.log");
        let _srv = spawn_in(&server, &["iperf3", "-s", "-B", "10.40.2.2"], &log);
        wait_listening(&server, 5201);
        // Resolve every hop's next hop before measuring.
        let p = in_ns(
            &client,
            &["ping", "-c", "2", "-i", "0.2", "-w", "10", "10.40.2.2"],
        );
        assert!(p.status.success(), "ping through {hops} hops: {}", text(&p));
        for frame in FRAMES {
            let payload = frame - HEADERS;
            // The sender goes flat out; what the server receives is the
            // chain's forwarding rate. Median of three runs.
            let mut runs: Vec<Measure> = (0..3)
                .filter_map(|_| (0..3).find_map(|_| udp(&client, payload, 0, secs)))
                .collect();
            assert!(
                !runs.is_empty(),
                "iperf3 kept failing ({hops} hops, {frame} B)"
            );
            runs.sort_by(|a, b| a.recv_pps.total_cmp(&b.recv_pps));
            let m = &runs[runs.len() / 2];
            let kpps = m.recv_pps / 1e3;
            let mbps = m.recv_pps * frame as f64 * 8.0 / 1e6;
            let spread = (runs[runs.len() - 1].recv_pps - runs[0].recv_pps) / 1e3;
            println!(
                "{hops:>4} {frame:>6} {mbps:>10.1} {kpps:>10.1} {spread:>10.1} {:>10.1} {:>7.1}",
                m.sent_pps / 1e3,
                m.loss_pct
            );
            let _ = writeln!(
                csv,
                "{hops},{frame},{mbps:.1},{kpps:.1},{spread:.1},{:.1},{:.1}",
                m.sent_pps / 1e3,
                m.loss_pct
            );
        }
        let d = c.down();
        assert!(d.status.success(), "chain down: {}", text(&d));
    }
    std::fs::write(out.join("results.csv"), &csv).expect("results.csv");
    let mut md = String::from("| hops | 64 B Mb/s | 64 B kpps | 800 B Mb/s | 800 B kpps |\n| ---: | ---: | ---: | ---: | ---: |\n");
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    for hops in 1..=max_hops {
        let get = |frame: usize| {
            rows.iter()
                .find(|r| r[0] == hops.to_string() && r[1] == frame.to_string())
                .map(|r| (r[2], r[3]))
                .unwrap_or(("-", "-"))
        };
        let (a, b) = (get(64), get(800));
        let _ = writeln!(md, "| {hops} | {} | {} | {} | {} |", a.0, a.1, b.0, b.1);
    }
    std::fs::write(out.join("results.md"), &md).expect("results.md");
    let plot = repo().join("tests/chains/benches/plot.py");
    let png = out.join("chains.png");
    // Debian's python3 (with python3-matplotlib), not a user's pyenv.
    let py = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    match std::process::Command::new(py)
        .arg(&plot)
        .arg(out.join("results.csv"))
        .arg(&png)
        .status()
    {
        Ok(s) if s.success() => println!("plot: {}", png.display()),
        _ => println!(
            "no plot (python3-matplotlib missing?); table in {}",
            out.join("results.md").display()
        ),
    }
}

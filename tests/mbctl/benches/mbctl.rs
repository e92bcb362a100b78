//! Harness-free bench of `mbctl` with real guests: how long `mbctl boot`
//! takes to return (router running), how long `mbctl read` takes, and how
//! many idle middleboxes one host holds (RSS per QEMU process, measured
//! on `MB_BENCH_VMS` VMs, default 50, at `MB_BENCH_MEM`, default 8M,
//! extrapolated to the host's memory). `MB_BENCH_ACCEL` (default tcg;
//! `kvm` to measure KVM too), `MB_BENCH_BOOTS` (default 10).
//!
//! `cargo bench` builds and times the release `mbctl` (target/release;
//! the agent is the same binary); the load average is printed with the
//! figures, which depend on it.

use mb_tests_mbctl::{can_run, Host};
use std::time::{Duration, Instant};

fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn mem_total_kib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next()?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Prints one table row: min, median and max of `v`.
fn row(what: &str, v: &mut [Duration]) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (a, b, c) = (ms(v[0]), ms(v[v.len() / 2]), ms(v[v.len() - 1]));
    println!("{what:<34} {a:>8.1}ms {b:>8.1}ms {c:>8.1}ms");
}

/// Times `n` runs of `f`.
fn timed<T>(n: usize, mut f: impl FnMut(usize) -> T) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect()
}

const WIRE: &str = "FromDevice(0) -> c :: Counter -> Queue(64) -> ToDevice(1);\nFromDevice(1) -> Queue(64) -> ToDevice(0);\n";

fn main() {
    if !can_run("mbctl bench", false) {
        return;
    }
    let accels: Vec<String> = std::env::var("MB_BENCH_ACCEL")
        .unwrap_or_else(|_| "tcg".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let nvms: usize = std::env::var("MB_BENCH_VMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let mem = std::env::var("MB_BENCH_MEM").unwrap_or_else(|_| "8M".into());
    let h = Host::new();
    let cfg = h.file("wire.click", WIRE);
    let cfg = cfg.to_str().unwrap();
    let nic =
        |n: &str, i: usize| format!("socket:{}", h.scratch.join(format!("{n}-{i}")).display());
    // `mbctl boot` of the wire config as NAME, two socket NICs.
    let boot = |name: &str, accel: &str| {
        let (n0, n1) = (nic(name, 0), nic(name, 1));
        h.mbctl(&[
            "boot",
            cfg,
            "--name",
            name,
            "--accel",
            accel,
            "--memory",
            &mem,
            "--nic",
            &n0,
            "--nic",
            &n1,
            "--timeout",
            "120",
        ])
    };
    let boots_n: usize = std::env::var("MB_BENCH_BOOTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    h.ok(&["ls"]); // agent up before timing
    println!(
        "mbctl: {} (agent: the same binary); load average {}",
        mb_tests_mbctl::mbctl().display(),
        loadavg()
    );
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "what", "min", "median", "max"
    );
    for accel in &accels {
        let (mut boots, mut stops) = (Vec::new(), Vec::new());
        for i in 0..boots_n {
            let name = format!("b{i}");
            let t = Instant::now();
            let o = boot(&name, accel);
            boots.push(t.elapsed());
            assert!(
                o.status.success(),
                "boot {name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let t = Instant::now();
            h.ok(&["stop", &name]);
            stops.push(t.elapsed());
        }
        row(&format!("mbctl boot ({accel}, {mem})"), &mut boots);
        row(&format!("mbctl stop ({accel})"), &mut stops);
        let o = boot("r", accel);
        assert!(
            o.status.success(),
            "boot r: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut reads = timed(50, |_| {
            h.ok(&["read", "r", "c.count"]);
        });
        row(&format!("mbctl read c.count ({accel})"), &mut reads);
        let mut reads = timed(20, |_| {
            h.ok(&["read", "r", "config"]);
        });
        row(&format!("mbctl read config ({accel})"), &mut reads);
        println!("load average after: {}", loadavg());
        h.ok(&["destroy", "r"]);
    }

    // Density: idle middleboxes side by side.
    let t = Instant::now();
    let mut booted = 0;
    for i in 0..nvms {
        let o = boot(&format!("d{i}"), "tcg");
        if !o.status.success() {
            println!("boot {i} failed: {}", String::from_utf8_lossy(&o.stderr));
            break;
        }
        booted += 1;
    }
    let boot_all = t.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let pids = h.qemu_pids();
    let rss: Vec<u64> = pids.iter().map(|&p| rss_kib(p)).collect();
    let total: u64 = rss.iter().sum();
    let avg = total / rss.len().max(1) as u64;
    let (mn, mx) = (
        rss.iter().min().copied().unwrap_or(0),
        rss.iter().max().copied().unwrap_or(0),
    );
    let host = mem_total_kib();
    println!();
    println!(
        "idle middleboxes booted:  {booted} (tcg, -m {mem}) in {:.1} s",
        boot_all.as_secs_f64()
    );
    println!(
        "QEMU RSS per VM:          avg {} KiB (min {mn}, max {mx})",
        avg
    );
    println!(
        "agent RSS:                {} KiB",
        std::fs::read_to_string(h.run.join("agent.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .map(rss_kib)
            .unwrap_or(0)
    );
    if let Some(n) = host.checked_div(avg) {
        println!(
            "extrapolated:             {n} idle VMs in {:.1} GiB of host memory (RSS only; measured {booted})",
            host as f64 / (1 << 20) as f64
        );
    }
    let t = Instant::now();
    for i in 0..booted {
        h.ok(&["destroy", &format!("d{i}")]);
    }
    println!(
        "destroy all:              {:.1} s",
        t.elapsed().as_secs_f64()
    );
    h.assert_clean();
}

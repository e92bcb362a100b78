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

fn stats(v: &mut [Duration]) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[0]), ms(v[v.len() / 2]), ms(v[v.len() - 1]))
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
        let mut boots = Vec::new();
        let mut stops = Vec::new();
        for i in 0..boots_n {
            let name = format!("b{i}");
            let (n0, n1) = (nic(&name, 0), nic(&name, 1));
            let t = Instant::now();
            h.ok(&[
                "boot",
                cfg,
                "--name",
                &name,
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
            ]);
            boots.push(t.elapsed());
            let t = Instant::now();
            h.ok(&["stop", &name]);
            stops.push(t.elapsed());
        }
        let (a, b, c) = stats(&mut boots);
        println!(
            "{:<34} {a:>8.1}ms {b:>8.1}ms {c:>8.1}ms",
            format!("mbctl boot ({accel}, {mem})")
        );
        let (a, b, c) = stats(&mut stops);
        println!(
            "{:<34} {a:>8.1}ms {b:>8.1}ms {c:>8.1}ms",
            format!("mbctl stop ({accel})")
        );
        let (n0, n1) = (nic("r", 0), nic("r", 1));
        h.ok(&[
            "boot",
            cfg,
            "--name",
            "r",
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
        ]);
        let mut reads = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            h.ok(&["read", "r", "c.count"]);
            reads.push(t.elapsed());
        }
        let (a, b, c) = stats(&mut reads);
        println!(
            "{:<34} {a:>8.1}ms {b:>8.1}ms {c:>8.1}ms",
            format!("mbctl read c.count ({accel})")
        );
        let mut reads = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            h.ok(&["read", "r", "config"]);
            reads.push(t.elapsed());
        }
        let (a, b, c) = stats(&mut reads);
        println!(
            "{:<34} {a:>8.1}ms {b:>8.1}ms {c:>8.1}ms",
            format!("mbctl read config ({accel})")
        );
        println!("load average after: {}", loadavg());
        h.ok(&["destroy", "r"]);
    }

    // Density: idle middleboxes side by side.
    let t = Instant::now();
    let mut booted = 0;
    for i in 0..nvms {
        let name = format!("d{i}");
        let (n0, n1) = (nic(&name, 0), nic(&name, 1));
        let o = h.mbctl(&[
            "boot",
            cfg,
            "--name",
            &name,
            "--accel",
            "tcg",
            "--memory",
            &mem,
            "--nic",
            &n0,
            "--nic",
            &n1,
            "--timeout",
            "120",
        ]);
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

//! `mbctl run` on IPv4 and IPv6 traces side by side, whole process: a
//! 100-rule IPFilter of each family, IPv4 NAPT (IPRewriter) and NAT64,
//! each over 65,536 flows. `cargo bench -p mb-tests-host --bench families`
//! (part of `make bench`) builds the release `mbctl`, writes the traces
//! and configurations under `target/families-bench/`, runs each path
//! `RUNS` times and prints the medians of wall and user time and the
//! packet rate, as a Markdown table. Click has neither an IPv6 IPFilter
//! nor a NAT64, so there is no Click column (`make bench-click` has the
//! IPv4 paths beside Click).
//!
//! Knobs: `MB_FAMILIES_BENCH_FRAMES` (default 1,000,000 per trace),
//! `MB_FAMILIES_BENCH_RUNS` (default 5).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FLOWS: u32 = 65_536;
const RULES: usize = 100;

/// xorshift64: the same traces and rules on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut s = self.0;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        self.0 = s;
        s
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One flow: protocol (6 or 17), IPv4 source and destination, ports.
#[derive(Clone, Copy)]
struct Flow {
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
}

/// The IPv6 source of a flow: `fd00:` and its IPv4 source.
fn src6(f: &Flow) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0xfd;
    a[12..].copy_from_slice(&f.src);
    a
}

/// The IPv6 destination of a flow: its IPv4 server behind the NAT64
/// prefix, `64:ff9b::a.b.c.d`.
fn dst6(f: &Flow) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[1] = 0x64;
    a[2] = 0xff;
    a[3] = 0x9b;
    a[12..].copy_from_slice(&f.dst);
    a
}

fn v4(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

fn v6(a: [u8; 16]) -> String {
    std::net::Ipv6Addr::from(a).to_string()
}

/// The flows, and 99 rules per family of four shapes, each matching one
/// flow (so about half the flows' packets are decided by a rule and the
/// rest fall through to `allow all`, as in `make bench-click`).
fn flows_and_rules(r: &mut Rng) -> (Vec<Flow>, Vec<String>, Vec<String>) {
    let mut flows: Vec<Flow> = (0..FLOWS)
        .map(|_| Flow {
            proto: if r.below(2) == 0 { 6 } else { 17 },
            src: [
                10,
                r.below(256) as u8,
                r.below(256) as u8,
                1 + r.below(254) as u8,
            ],
            dst: [
                198,
                18 + r.below(2) as u8,
                r.below(256) as u8,
                1 + r.below(254) as u8,
            ],
            sport: 1024 + r.below(60_000) as u16,
            dport: 1 + r.below(60_000) as u16,
        })
        .collect();
    let (mut r4, mut r6) = (Vec::new(), Vec::new());
    for i in 0..RULES - 1 {
        let act = ["allow", "deny"][r.below(2) as usize];
        let f = &mut flows[r.below(FLOWS as u64) as usize];
        let (s4, d4, s6, d6) = (v4(f.src), v4(f.dst), v6(src6(f)), v6(dst6(f)));
        let (tp, p) = (if f.proto == 6 { "tcp" } else { "udp" }, f.dport);
        let (a, b) = match i % 4 {
            0 => (
                format!("{act} src net {s4}/24 and {tp} dst port {p}"),
                format!("{act} src net {s6}/120 and {tp} dst port {p}"),
            ),
            1 => (
                format!("{act} {tp} and dst host {d4} and dst port {p}"),
                format!("{act} {tp} and dst host {d6} and dst port {p}"),
            ),
            2 => (
                format!("{act} {tp} src port {} and dst net {d4}/16", f.sport),
                format!("{act} {tp} src port {} and dst net {d6}/112", f.sport),
            ),
            _ => (
                format!(
                    "{act} src host {s4} and {tp} dst port >= {p} and dst port < {}",
                    p + 10
                ),
                format!(
                    "{act} src host {s6} and {tp} dst port >= {p} and dst port < {}",
                    p + 10
                ),
            ),
        };
        r4.push(a);
        r6.push(b);
    }
    r4.push("allow all".into());
    r6.push("allow all".into());
    (flows, r4, r6)
}

/// The one's-complement checksum of `b`.
fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// A transport header of 8 bytes (UDP, or the start of a TCP header with
/// its flags in the rest of the payload): ports, then zeros.
fn transport(f: &Flow) -> [u8; 20] {
    let mut t = [0u8; 20];
    t[..2].copy_from_slice(&f.sport.to_be_bytes());
    t[2..4].copy_from_slice(&f.dport.to_be_bytes());
    if f.proto == 6 {
        t[12] = 0x50;
        t[13] = 0x10;
    } else {
        t[4..6].copy_from_slice(&20u16.to_be_bytes());
    }
    t
}

/// Ethernet frame `f` in family `six`.
fn frame(f: &Flow, six: bool) -> Vec<u8> {
    let mut b = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    let t = transport(f);
    if six {
        b.extend([0x86, 0xdd, 0x60, 0, 0, 0]);
        b.extend((t.len() as u16).to_be_bytes());
        b.extend([f.proto, 64]);
        b.extend(src6(f));
        b.extend(dst6(f));
    } else {
        let mut h = [0u8; 20];
        h[0] = 0x45;
        h[2..4].copy_from_slice(&((20 + t.len()) as u16).to_be_bytes());
        h[8] = 64;
        h[9] = f.proto;
        h[12..16].copy_from_slice(&f.src);
        h[16..20].copy_from_slice(&f.dst);
        let c = checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        b.extend([0x08, 0x00]);
        b.extend(h);
    }
    b.extend(t);
    b
}

/// Writes a pcap of `n` frames: frame i belongs to flow i * 40503 mod
/// 65536, so every flow's packets are spread through the trace.
fn write_trace(path: &Path, flows: &[Flow], n: u32, six: bool) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("trace"));
    let mut hdr = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    hdr.extend([0; 8]);
    hdr.extend(65535u32.to_le_bytes());
    hdr.extend(1u32.to_le_bytes());
    w.write_all(&hdr).unwrap();
    let frames: Vec<Vec<u8>> = flows.iter().map(|f| frame(f, six)).collect();
    for i in 0..n {
        let f = &frames[(i.wrapping_mul(40503) % FLOWS) as usize];
        for v in [1_000_000_000 + i / 1000, (i % 1000) * 1000] {
            w.write_all(&v.to_le_bytes()).unwrap();
        }
        for _ in 0..2 {
            w.write_all(&(f.len() as u32).to_le_bytes()).unwrap();
        }
        w.write_all(f).unwrap();
    }
    w.flush().unwrap();
}

/// The paths: (name, configuration).
fn configs(t4: &Path, t6: &Path, r4: &[String], r6: &[String]) -> Vec<(&'static str, String)> {
    let head4 = format!(
        "FromDump({}, STOP true) -> Classifier(12/0800) -> Strip(14) -> CheckIPHeader",
        t4.display()
    );
    let head6 = format!(
        "FromDump({}, STOP true) -> Classifier(12/86dd) -> Strip(14) -> CheckIP6Header",
        t6.display()
    );
    vec![
        (
            "IPv4: ... -> IPFilter (100 rules)",
            format!("{head4} -> IPFilter({}) -> d :: Discard;", r4.join(",\n  ")),
        ),
        (
            "IPv6: ... -> IPFilter (100 rules)",
            format!("{head6} -> IPFilter({}) -> d :: Discard;", r6.join(",\n  ")),
        ),
        (
            "IPv4: ... -> IPRewriter (NAPT, 65,536 flows)",
            format!("{head4} -> IPRewriter(pattern 192.0.2.1 1024-65535 - - 0 0) -> d :: Discard;"),
        ),
        (
            "IPv6: ... -> NAT64 (65,536 flows)",
            format!(
                "{head6} -> [0]nat :: NAT64(192.0.2.1); Idle -> [1]nat;\n\
                 nat[0] -> d :: Discard; nat[1] -> Discard;"
            ),
        ),
    ]
}

/// One run: wall time, user time of the child, `d.count`.
fn run_once(mbctl: &Path, conf: &Path) -> (Duration, Duration, u64) {
    let user = || {
        // SAFETY: getrusage fills the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
        Duration::from_micros(u.ru_utime.tv_sec as u64 * 1_000_000 + u.ru_utime.tv_usec as u64)
    };
    let u0 = user();
    let t0 = Instant::now();
    let o = Command::new(mbctl)
        .arg("run")
        .arg(conf)
        .args(["-h", "d.count"])
        .stdin(Stdio::null())
        .output()
        .expect("running mbctl");
    let wall = t0.elapsed();
    assert!(
        o.status.success(),
        "{}: {}",
        conf.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let n = out
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next()
        .unwrap_or_else(|| panic!("no d.count in {out:?}"));
    (wall, user() - u0, n)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let frames = env_or("MB_FAMILIES_BENCH_FRAMES", 1_000_000);
    let runs = env_or("MB_FAMILIES_BENCH_RUNS", 5).max(1);
    let dir: PathBuf = mb_tests_host::repo().join("target/families-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let (flows, r4, r6) = flows_and_rules(&mut r);
    let (t4, t6) = (dir.join("trace4.pcap"), dir.join("trace6.pcap"));
    write_trace(&t4, &flows, frames, false);
    write_trace(&t6, &flows, frames, true);
    let mbctl = mb_tests_host::mbctl();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut table = String::new();
    writeln!(
        table,
        "{frames} frames of {} (IPv4) / {} (IPv6) bytes over {FLOWS} flows, median of {runs} runs; load average at the start: {}\n",
        frame(&flows[0], false).len(),
        frame(&flows[0], true).len(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    )
    .unwrap();
    table.push_str("| path (after FromDump -> Classifier -> Strip(14) -> CheckIP(6)Header) | packets out | wall | user | Mpps (wall) |\n");
    table.push_str("| --- | ---: | ---: | ---: | ---: |\n");
    for (i, (name, conf)) in configs(&t4, &t6, &r4, &r6).into_iter().enumerate() {
        let f = dir.join(format!("path{i}.click"));
        std::fs::write(&f, conf).unwrap();
        let (mut walls, mut users, mut counts) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let (w, u, n) = run_once(&mbctl, &f);
            walls.push(w);
            users.push(u);
            counts.push(n);
        }
        counts.dedup();
        assert_eq!(counts.len(), 1, "{name}: d.count differs between runs");
        // Every packet is accounted for: a rule decided it or it passed.
        assert!(counts[0] > 0, "{name}: nothing reached the last Discard");
        let (w, u) = (median(&mut walls), median(&mut users));
        writeln!(
            table,
            "| {name} | {} | {:.3} s | {:.3} s | {:.2} |",
            counts[0],
            w.as_secs_f64(),
            u.as_secs_f64(),
            f64::from(frames) / w.as_secs_f64() / 1e6
        )
        .unwrap();
    }
    print!("{table}");
    std::fs::write(dir.join("results.md"), &table).unwrap();
    for t in [&t4, &t6] {
        let _ = std::fs::remove_file(t);
    }
}

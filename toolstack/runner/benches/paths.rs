//! Packet-path throughput of the host runner: an element-loop
//! micro-benchmark (no Click figure beside it: a comparison with Click
//! comes only from both run in turn on one machine). Run with `cargo bench -p mb-runner`
//! (`make bench`). Generates a trace of 1,000,000 64-byte frames under
//! target/ (not committed), then times each configuration from the first
//! packet to the driver stop. FromDump maps the trace and parses it as
//! packets go out, so the timing includes paging the trace in (until
//! FromDump streamed, the whole file was read at initialization, outside
//! the timing: those figures are not comparable with these).
//!
//! The main figure is packets per CPU-second of the running thread, which
//! stays meaningful when other jobs share the machine; wall-clock Mpps is
//! printed next to it. `BENCH_RUNS` (default 3) sets the runs per row, the
//! best of which is kept (1 for profiling under callgrind).

use std::io::Write;
use std::time::{Duration, Instant};

use mb_runner::pcap;

const FRAMES: u32 = 1_000_000;

/// An Ethernet/IPv4/UDP frame of 64 bytes with a valid IP checksum.
fn frame(i: u32) -> [u8; 64] {
    let mut f = [0u8; 64];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12] = 0x08;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&50u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 0, (i >> 8) as u8, i as u8]);
    ip[16..20].copy_from_slice(&[10, 1, 0, 1]);
    let mut sum: u32 = 0;
    for w in ip.chunks(2) {
        sum += u16::from_be_bytes([w[0], w[1]]) as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f[34..36].copy_from_slice(&1234u16.to_be_bytes());
    f[36..38].copy_from_slice(&80u16.to_be_bytes());
    f[38..40].copy_from_slice(&30u16.to_be_bytes());
    f
}

fn trace() -> String {
    let path = format!("{}/bench-1M-64B.pcap", env!("CARGO_TARGET_TMPDIR"));
    let want = 24 + FRAMES as u64 * (16 + 64);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == want) {
        return path;
    }
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).expect("creating the trace"));
    w.write_all(&pcap::file_header(false, 65535, 1)).unwrap();
    for i in 0..FRAMES {
        w.write_all(&pcap::record_header(
            1_000_000 + i / 1000,
            i % 1000 * 1000,
            64,
            64,
        ))
        .unwrap();
        w.write_all(&frame(i)).unwrap();
    }
    w.flush().unwrap();
    path
}

/// CPU time of this thread.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `ts` is.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `config` once; packets per CPU-second and per wall-clock second.
fn measure(config: &str) -> Result<(f64, f64), String> {
    let router = mb_runner::build(config, "bench", &[], false).map_err(|e| e.to_string())?;
    let (t, c) = (Instant::now(), cpu_time());
    let ended = mb_runner::driver::run(&router);
    let cpu = (cpu_time() - c).as_secs_f64();
    let secs = t.elapsed().as_secs_f64();
    if ended != mb_runner::Ended::Stopped {
        return Err(format!("run ended {ended:?}"));
    }
    let n: f64 = router
        .read("src.count")
        .map_err(|e| e.to_string())?
        .parse()
        .map_err(|_| "bad count".to_string())?;
    if n != FRAMES as f64 {
        return Err(format!("emitted {n} packets"));
    }
    Ok((n / cpu, n / secs))
}

fn main() {
    // `cargo bench` passes "--bench"; a filter argument selects rows.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let path = trace();
    let reg = mb_runner::registry();
    let src = format!("src :: FromDump({path}, STOP true, BURST 32)");
    let src1 = format!("src :: FromDump({path}, STOP true)");
    let rows: [(&str, String, &[&str]); 4] = [
        ("FromDump -> Discard", format!("{src} -> Discard;"), &[]),
        (
            "FromDump -> Counter -> Discard",
            format!("{src} -> c :: Counter -> Discard;"),
            &[],
        ),
        (
            "FromDump -> Classifier(12/0800, -) -> Strip(14) -> CheckIPHeader -> Discard",
            format!(
                "{src} -> cl :: Classifier(12/0800, -) -> Strip(14) -> CheckIPHeader -> Discard;\n\
                 cl[1] -> Discard;"
            ),
            &["Classifier", "Strip", "CheckIPHeader"],
        ),
        (
            "FromDump -> Counter -> Discard, BURST 1 (Click's packet order)",
            format!("{src1} -> c :: Counter -> Discard;"),
            &[],
        ),
    ];
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    println!(
        "host runner packet paths: {FRAMES} frames of 64 bytes, FromDump BURST 32 unless noted, best of {runs} runs"
    );
    println!("Mpps per CPU-second of the running thread [wall-clock Mpps]");
    println!();
    println!("| path | Mpps [wall] |");
    println!("| --- | ---: |");
    for (name, config, needs) in rows {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        if let Some(missing) = needs.iter().find(|c| !reg.contains(c)) {
            println!("| {name} | n/a (element missing: {missing}) |");
            continue;
        }
        let (mut best, mut best_wall) = (0.0f64, 0.0f64);
        let mut err = None;
        for _ in 0..runs {
            match measure(&config) {
                Ok((pps, wall)) => {
                    best = best.max(pps);
                    best_wall = best_wall.max(wall);
                }
                Err(e) => err = Some(e),
            }
        }
        let (mpps, wall) = (best / 1e6, best_wall / 1e6);
        match err {
            Some(e) if best == 0.0 => println!("| {name} | error: {e} |"),
            _ => println!("| {name} | {mpps:.1} [{wall:.1}] |"),
        }
    }
}

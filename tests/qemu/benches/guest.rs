//! Guest figures, printed rather than asserted (no harness): image size,
//! boot time, wall time to the first forwarded frame, the smallest RAM
//! that runs a firewall, idle CPU, and frames per second through one
//! middlebox between two unix datagram sockets.
//!
//!     cargo bench -p mb-tests-qemu --bench guest
//!
//! `MB_BENCH_ONLY=icount,boot` runs only the sections named (see
//! [`wanted`]).
//!
//! TCG always; KVM too when `MB_ACCEL` is `kvm` or `all` and /dev/kvm
//! opens (on this project's hosts it is a paravirtual nested KVM that runs
//! ring-0 code very slowly, so its figures are for the record only).
//! `MB_BENCH_SECS` sets the length of each throughput run (default 3).

use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mb_tests_qemu::accesses::{trace_args, Accesses};
use mb_tests_qemu::perframe::{Perf, WindowAccesses, PERF_PREFIX};
use mb_tests_qemu::{
    accels, baked_image, image, kvm_usable, Accel, Machine, Scratch, StoreHost, Vm, VmConfig,
};

const WIRE: &str = "FromDevice(0) -> ToDevice(1);\n";

fn firewall() -> String {
    std::fs::read_to_string(mb_tests_qemu::repo().join("click-configs/guest-firewall.click"))
        .expect("reading click-configs/guest-firewall.click")
}

/// A guest with `config` installed in a fresh store.
fn start(accel: Accel, machine: Machine, memory: &str, config: Option<&str>) -> (StoreHost, Vm) {
    let mut store = StoreHost::start();
    let mut cfg = VmConfig::new(accel);
    cfg.machine = machine;
    cfg.memory = memory.into();
    if let Some(c) = config {
        let sock = store.guest(5);
        store.install(5, "bench", c);
        cfg.store = Some(sock);
    }
    let vm = Vm::start(&cfg);
    (store, vm)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn image_size() {
    let img = image();
    let bytes = std::fs::metadata(&img).expect("image").len();
    println!(
        "image: {} ({} KiB, target < 1024 KiB)",
        img.display(),
        bytes / 1024
    );
}

fn boot_times(accel: Accel, runs: usize) {
    for (what, config, machine) in [
        ("no store, no config", None, Machine::Microvm),
        ("wire from the store", Some(WIRE), Machine::Microvm),
        ("wire from the store, q35", Some(WIRE), Machine::Q35),
    ] {
        let mut boot = Vec::new();
        let mut wall = Vec::new();
        for _ in 0..runs {
            let (_store, mut vm) = start(accel, machine, "64M", config);
            let line = vm.try_wait_for("mb: ready", Duration::from_secs(120));
            let Some((us, _)) = line.as_deref().and_then(mb_tests_qemu::parse_ready) else {
                println!("{}: {what}: no ready line", accel.name());
                return;
            };
            wall.push(vm.started.elapsed().as_secs_f64() * 1e3);
            boot.push(us as f64);
        }
        let before: Vec<f64> = wall.iter().zip(&boot).map(|(w, b)| w - b / 1e3).collect();
        println!(
            "{}: boot_us ({what}, median of {runs}): {:.0} us; QEMU start to ready line: {:.1} ms, \
             of which QEMU and firmware before the PVH entry: {:.1} ms",
            accel.name(),
            median(boot),
            median(wall),
            median(before)
        );
    }
}

/// Field `name` (e.g. `boot_wait_us=`) of a log line, as a number.
fn field(line: &str, name: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(name))
        .and_then(|v| v.parse().ok())
}

/// Load-independent boot figures: the boot under `-icount shift=0`, where
/// the guest clock advances one nanosecond per guest instruction, so
/// `boot_us` counts thousands of instructions (minus `boot_wait_us`, the
/// time spent waiting for the store's replies, which runs on the host's
/// clock); and the device accesses QEMU traces on the way, each of which
/// would be a VM exit under KVM. The hardware estimate charges 0.5 ns per
/// instruction and 2 µs per exit: a model, not a measurement.
fn instruction_counts(runs: usize) {
    for (what, config, baked) in [
        ("no store, no config", None, false),
        ("guest-firewall baked in, no store", None, true),
        ("wire from the store", Some(WIRE), false),
    ] {
        let mut work = Vec::new();
        let mut boots = Vec::new();
        let mut access = None;
        for _ in 0..runs {
            let dir = Scratch::new("icount");
            let trace = dir.join("trace.log");
            let mut store = StoreHost::start();
            let mut cfg = VmConfig::new(Accel::Tcg);
            cfg.icount = true;
            cfg.extra = trace_args(&trace);
            if baked {
                cfg.image = Some(baked_image());
            }
            if let Some(c) = config {
                let sock = store.guest(5);
                store.install(5, "bench", c);
                cfg.store = Some(sock);
            }
            let mut vm = Vm::start(&cfg);
            let ready = vm.try_wait_for("mb: ready", Duration::from_secs(120));
            let Some((us, _)) = ready.as_deref().and_then(mb_tests_qemu::parse_ready) else {
                println!("icount: {what}: no ready line");
                return;
            };
            // Images older than the boot_wait_us line count as no waiting.
            let wait = vm
                .try_wait_for("boot_wait_us=", Duration::from_secs(3))
                .and_then(|l| field(&l, "boot_wait_us="))
                .unwrap_or(0);
            boots.push(us as f64);
            work.push(us.saturating_sub(wait) as f64);
            drop(vm);
            if access.is_none() {
                access = std::fs::read_to_string(&trace)
                    .ok()
                    .and_then(|t| Accesses::from_trace(&t));
            }
        }
        let work = median(work);
        print!(
            "tcg -icount shift=0: {what}: boot_us {:.0} (median of {runs}), of which guest work {work:.0} us = {work:.0} k instructions",
            median(boots)
        );
        match access {
            Some(a) => println!(
                "; device accesses to the ready line: {} (serial {} bytes + {} other, virtio-mmio {}, ioapic {}, apic {}, other {}) \
                 = ~{} KVM exits with 16-byte serial bursts; hardware estimate ~{:.0} us",
                a.total(),
                a.serial_bytes,
                a.serial_other,
                a.virtio,
                a.ioapic,
                a.apic,
                a.other,
                a.kvm_exits(),
                work * 0.5 + a.kvm_exits() as f64 * 2.0
            ),
            None => println!("; no complete access trace"),
        }
    }
}

/// Sends a probe every millisecond from QEMU's start until one comes out.
fn first_frame(accel: Accel, runs: usize) {
    let mut wall = Vec::new();
    for _ in 0..runs {
        let (_store, vm) = start(accel, Machine::Microvm, "64M", Some(WIRE));
        let (tx, to) = vm.sender(0);
        let rx = vm.receiver(1);
        rx.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 2048];
        let deadline = Instant::now() + Duration::from_secs(120);
        let got = loop {
            // QEMU may not have bound its socket yet: ignore send errors.
            let _ = tx.send_to(&[0x52u8; 60], &to);
            match rx.recv(&mut buf) {
                Ok(_) => break Some(vm.started.elapsed()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        match got {
            Some(d) => wall.push(d.as_secs_f64() * 1e3),
            None => {
                println!("{}: no frame forwarded", accel.name());
                return;
            }
        }
    }
    println!(
        "{}: QEMU start to first forwarded frame (wire, median of {runs}): {:.1} ms (target < 100 ms)",
        accel.name(),
        median(wall)
    );
}

/// True if a guest with `memory` loads the firewall and forwards.
fn runs_firewall(accel: Accel, memory: &str) -> bool {
    let (_store, mut vm) = start(accel, Machine::Microvm, memory, Some(&firewall()));
    if vm
        .try_wait_for("mb: ready", Duration::from_secs(60))
        .is_none()
    {
        return false;
    }
    let dns = mb_tests_qemu::frames::ipv4(17, [10, 0, 0, 1], 4000, [10, 0, 0, 2], 53, b"q");
    vm.inject(0, &dns);
    let rx = vm.receiver(1);
    rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 2048];
    rx.recv(&mut buf).is_ok()
}

fn min_memory(accel: Accel) {
    let sizes = [2u32, 3, 4, 5, 6, 8, 12, 16];
    let found = sizes
        .iter()
        .find(|&&m| runs_firewall(accel, &format!("{m}M")));
    match found {
        Some(m) => println!(
            "{}: smallest -m running guest-firewall.click: {m} MiB (tried {sizes:?}; target <= 8 MiB)",
            accel.name()
        ),
        None => println!("{}: the firewall did not run with up to 16 MiB", accel.name()),
    }
}

fn idle_cpu(accel: Accel) {
    let (_store, mut vm) = start(accel, Machine::Microvm, "64M", Some(&firewall()));
    vm.try_wait_for("mb: ready", Duration::from_secs(120))
        .expect("ready");
    std::thread::sleep(Duration::from_secs(2));
    let before = vm.cpu_time();
    let secs = 5;
    std::thread::sleep(Duration::from_secs(secs));
    let used = vm.cpu_time() - before;
    println!(
        "{}: idle QEMU CPU with the firewall loaded: {:.2} % of one core ({used:?} in {secs} s)",
        accel.name(),
        used.as_secs_f64() * 100.0 / secs as f64
    );
}

/// Frames per second from NIC 0's socket to NIC 1's through the guest.
fn throughput(accel: Accel, what: &str, config: &str, len: usize, secs: f64) {
    let (_store, mut vm) = start(accel, Machine::Microvm, "64M", Some(config));
    vm.try_wait_for("mb: ready", Duration::from_secs(120))
        .expect("ready");
    let (tx, to) = vm.sender(0);
    let rx = vm.receiver(1);
    rx.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let frame = mb_tests_qemu::frames::ipv4(
        17,
        [10, 0, 0, 1],
        4000,
        [10, 0, 0, 2],
        53,
        &vec![0u8; len.saturating_sub(42)],
    );
    let (stop2, sent2) = (stop.clone(), sent.clone());
    let sender = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            if tx.send_to(&frame, &to).is_ok() {
                sent2.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let mut buf = [0u8; 2048];
    // Warm up (TCG translates the fast path on first use).
    let warm = Instant::now() + Duration::from_millis(500);
    while Instant::now() < warm {
        let _ = rx.recv(&mut buf);
    }
    let start = Instant::now();
    let cpu0 = vm.cpu_time();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        if rx.recv(&mut buf).is_ok() {
            n += 1;
        }
    }
    let dt = start.elapsed().as_secs_f64();
    let cpu = (vm.cpu_time() - cpu0).as_secs_f64() / dt;
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    println!(
        "{}: {what}, {len}-byte frames: {:.0} frames/s ({:.1} Mbit/s), QEMU at {:.0} % CPU",
        accel.name(),
        n as f64 / dt,
        n as f64 * len as f64 * 8.0 / dt / 1e6,
        cpu * 100.0
    );
}

/// `-icount shift=` of the per-frame cases, with `align=on`: the guest
/// runs at most 7.8 M instructions per host second, slower than the
/// host's sender and QEMU's sockets even on a loaded machine, so "batch"
/// finds its receive ring full (under `shift=0` it outran them and spent
/// most of its time polling an empty ring).
const PERFRAME_SHIFT: u8 = 7;

/// How a per-frame case drives the guest.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// A sender flat out: the guest never runs out of frames.
    Batch,
    /// One frame, its forwarded copy back, then long enough for the guest
    /// to halt before the next.
    Single,
}

/// The guest's `mb: perf` line, asked for on its serial console.
fn perf_marker(vm: &mut Vm) -> Option<Perf> {
    // Ctrl-P: the guest's command for its perf line.
    vm.serial_write(b"\x10");
    let line = vm.try_wait_for(PERF_PREFIX, Duration::from_secs(60))?;
    Perf::parse(&line)
}

/// One per-frame case under `-icount shift=0`: frames of `len` bytes into
/// NIC 0 and out of NIC 1; the guest's counters and QEMU's access trace
/// over a window of `frames` forwarded frames, after a warm-up.
fn perframe_case(
    machine: Machine,
    what: &str,
    config: &str,
    len: usize,
    drive: Drive,
    frames: u64,
) {
    let mode = if drive == Drive::Batch {
        "batch"
    } else {
        "single"
    };
    let mname = if machine == Machine::Q35 {
        "q35"
    } else {
        "microvm"
    };
    let label = format!("perframe {what} {len}B {mode} {mname}");
    let dir = Scratch::new("perframe");
    let trace = dir.join("trace.log");
    let mut store = StoreHost::start();
    let mut cfg = VmConfig::new(Accel::Tcg);
    cfg.machine = machine;
    cfg.icount = true;
    cfg.icount_throttle = Some(PERFRAME_SHIFT);
    cfg.serial_input = true;
    cfg.extra = trace_args(&trace);
    if machine == Machine::Q35 {
        // With an ioeventfd, QEMU takes a virtio-pci doorbell write without
        // its memory-region trace: the kicks would not be counted.
        cfg.nic_props = ",ioeventfd=off".into();
    }
    let sock = store.guest(5);
    store.install(5, "bench", config);
    cfg.store = Some(sock);
    let mut vm = Vm::start(&cfg);
    if vm
        .try_wait_for("mb: ready", Duration::from_secs(120))
        .is_none()
    {
        println!("{label}: no ready line");
        return;
    }
    let (tx, to) = vm.sender(0);
    let rx = vm.receiver(1);
    rx.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let frame = mb_tests_qemu::frames::ipv4(
        17,
        [10, 0, 0, 1],
        4000,
        [10, 0, 0, 2],
        53,
        &vec![0u8; len.saturating_sub(42)],
    );
    // The receiver drains NIC 1 all along, so the guest never waits on it.
    let stop = Arc::new(AtomicBool::new(false));
    let got = Arc::new(AtomicU64::new(0));
    let (stop2, got2) = (stop.clone(), got.clone());
    let receiver = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !stop2.load(Ordering::Relaxed) {
            if rx.recv(&mut buf).is_ok() {
                got2.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let wait_got = |n: u64, secs: u64| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while got.load(Ordering::Relaxed) < n {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::yield_now();
        }
        true
    };
    let warm = (frames / 10).clamp(50, 5000);
    let window = match drive {
        Drive::Batch => {
            let stop3 = stop.clone();
            let f = frame.clone();
            let sender = std::thread::spawn(move || {
                while !stop3.load(Ordering::Relaxed) {
                    let _ = tx.send_to(&f, &to);
                }
            });
            let ok = wait_got(warm, 120);
            let a = ok.then(|| perf_marker(&mut vm)).flatten();
            let seen = got.load(Ordering::Relaxed);
            let ok = a.is_some() && wait_got(seen + frames, 600);
            let b = ok.then(|| perf_marker(&mut vm)).flatten();
            stop.store(true, Ordering::Relaxed);
            sender.join().unwrap();
            a.zip(b)
        }
        Drive::Single => {
            let one = |n: u64| {
                for _ in 0..n {
                    let before = got.load(Ordering::Relaxed);
                    if tx.send_to(&frame, &to).is_err() || !wait_got(before + 1, 30) {
                        return false;
                    }
                    // Past the guest's 200 µs spin (200 k instructions).
                    std::thread::sleep(Duration::from_millis(5));
                }
                true
            };
            let ok = one(warm);
            let a = ok.then(|| perf_marker(&mut vm)).flatten();
            std::thread::sleep(Duration::from_millis(5));
            let ok = a.is_some() && one(frames);
            let b = ok.then(|| perf_marker(&mut vm)).flatten();
            stop.store(true, Ordering::Relaxed);
            a.zip(b)
        }
    };
    receiver.join().unwrap();
    let Some((a, b)) = window else {
        println!("{label}: the window did not complete");
        return;
    };
    // The trace reaches the file a line at a time; wait for the second
    // marker's first byte.
    let deadline = Instant::now() + Duration::from_secs(30);
    let access = loop {
        let t = std::fs::read_to_string(&trace).unwrap_or_default();
        if let Some(acc) = WindowAccesses::between_markers(&t) {
            break Some(acc);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(vm);
    if let Ok(keep) = std::env::var("MB_PERFRAME_KEEP") {
        let to = std::path::Path::new(&keep).join(format!("{}.trace", label.replace(' ', "-")));
        let _ = std::fs::copy(&trace, to);
    }
    let d = b.since(&a);
    let Some(acc) = access else {
        println!("{label}: no complete access trace");
        return;
    };
    if d.tx == 0 {
        println!("{label}: nothing forwarded in the window");
        return;
    }
    let per = |x: u64| x as f64 / d.tx as f64;
    // Guest time runs 2^shift ns per instruction; the TSC ticks once a ns.
    let instr = |tsc: u64| per(tsc >> PERFRAME_SHIFT);
    println!(
        "{label}: {:.0} instructions/frame, {:.3} device accesses/frame, {:.3} interrupts/frame \
         ({} frames; {:.0} instructions/frame awake, with idle polls, spins and arming, {:.3} halts/frame; \
         accesses/frame: nic {:.3}, ioapic {:.3}, apic {:.3}, other {:.3}; \
         interrupts raised/frame {:.3}; {} dropped)",
        instr(d.busy_tsc.saturating_sub(d.idle_tsc)),
        per(acc.total()),
        per(d.irqs),
        d.tx,
        instr(d.busy_tsc),
        per(d.halts),
        per(acc.nic),
        per(acc.ioapic),
        per(acc.apic),
        per(acc.other),
        per(acc.raised),
        d.drops
    );
}

/// Per-frame figures for every case: wire and firewall, 64 and 1500
/// bytes, batch and single, microvm and q35. `MB_PERFRAME_FRAMES`
/// (default 100000) and `MB_PERFRAME_SINGLE` (default 500) set the
/// windows; `MB_PERFRAME_ONLY` a substring of the case label to run;
/// `MB_PERFRAME_KEEP` a directory to keep each case's QEMU trace in.
fn perframe() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let batch = env("MB_PERFRAME_FRAMES", 100_000);
    let single = env("MB_PERFRAME_SINGLE", 500);
    let only = std::env::var("MB_PERFRAME_ONLY").unwrap_or_default();
    let fw = firewall();
    for machine in [Machine::Microvm, Machine::Q35] {
        for (what, config) in [("wire", WIRE), ("firewall", fw.as_str())] {
            for len in [64usize, 1500] {
                for (drive, frames) in [(Drive::Batch, batch), (Drive::Single, single)] {
                    let m = if machine == Machine::Q35 {
                        "q35"
                    } else {
                        "microvm"
                    };
                    let d = if drive == Drive::Batch {
                        "batch"
                    } else {
                        "single"
                    };
                    let label = format!("{what} {len}B {d} {m}");
                    if label.contains(&only) {
                        perframe_case(machine, what, config, len, drive, frames);
                    }
                }
            }
        }
    }
}

/// Whether section `name` runs: all unless `MB_BENCH_ONLY` lists some
/// (comma-separated: size, icount, perframe, boot, first-frame, memory,
/// idle, throughput).
fn wanted(name: &str) -> bool {
    std::env::var("MB_BENCH_ONLY").map_or(true, |only| only.split(',').any(|s| s.trim() == name))
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let secs: f64 = std::env::var("MB_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    if wanted("size") {
        image_size();
    }
    let mut list = vec![Accel::Tcg];
    if accels().contains(&Accel::Kvm) && kvm_usable() {
        list.push(Accel::Kvm);
    }
    if wanted("icount") {
        instruction_counts(3);
    }
    if wanted("perframe") {
        perframe();
    }
    for accel in list {
        let runs = if accel == Accel::Kvm { 1 } else { 5 };
        if wanted("boot") {
            boot_times(accel, runs);
        }
        if wanted("first-frame") {
            first_frame(accel, runs);
        }
        if accel == Accel::Tcg && wanted("memory") {
            min_memory(accel);
        }
        if wanted("idle") {
            idle_cpu(accel);
        }
        if wanted("throughput") {
            let fw = firewall();
            for (what, config) in [("wire", WIRE), ("guest-firewall", fw.as_str())] {
                for len in [64usize, 1500] {
                    throughput(accel, what, config, len, secs);
                }
            }
        }
    }
}

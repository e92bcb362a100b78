//! IPRewriter throughput: 64-byte TCP and UDP packets (half each) over
//! 1k, 64k and 1M flows, deterministic traffic, real clock. Prints a table
//! of million packets per second for flow setup (first packet of every
//! flow) and for steady state (packets of existing flows in a scrambled
//! order).
//!
//! Rates are per CPU-second of the running thread (wall-clock rates in
//! brackets): the CPU figure stays meaningful when other jobs share the
//! machine.
//!
//! Run: `cargo bench -p click --bench nat`.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use common::cpu_time;

use click::elements::nat::iprewriter::IpRewriter;
use click::host::MemoryHost;
use click::router::{Ctx, Env};
use click::time::{Clock, Timestamp};
use click::{Batch, Element, ElementClass, Packet, Registry, Router};

const PKT: usize = 64;

thread_local! {
    static SPARE: RefCell<Vec<Packet>> = const { RefCell::new(Vec::new()) };
}

/// Keeps what it receives for reuse, so the bench allocates no packets.
struct Recycle;

impl Element for Recycle {
    fn push(&mut self, _cx: &Ctx, _port: usize, p: Packet) {
        SPARE.with(|s| s.borrow_mut().push(p));
    }
    fn push_batch(&mut self, _cx: &Ctx, _port: usize, b: Batch) {
        SPARE.with(|s| s.borrow_mut().extend(b));
    }
}

static RECYCLE: ElementClass = ElementClass {
    name: "Recycle",
    ports: "1-/0",
    processing: "h/h",
    phase: 0,
    make: |_, _| Ok(Box::new(Recycle)),
};

struct WallClock(Instant);

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp::new(1_000_000_000, 0) + Timestamp(self.0.elapsed().as_nanos() as i64)
    }
}

fn csum(data: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for c in data.chunks(2) {
        acc += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The 64-byte packet of flow `i`: even flows TCP, odd UDP.
fn packet(i: u32, buf: &mut [u8]) {
    let tcp = i & 1 == 0;
    let src = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let dst = [100, 64, (i % 251) as u8, 1];
    buf.fill(0);
    buf[0] = 0x45;
    buf[2..4].copy_from_slice(&(PKT as u16).to_be_bytes());
    buf[8] = 64;
    buf[9] = if tcp { 6 } else { 17 };
    buf[12..16].copy_from_slice(&src);
    buf[16..20].copy_from_slice(&dst);
    let c = csum(&buf[..20]);
    buf[10..12].copy_from_slice(&c.to_be_bytes());
    let l4 = &mut buf[20..];
    l4[0..2].copy_from_slice(&(1024 + (i % 50_000) as u16).to_be_bytes());
    l4[2..4].copy_from_slice(&(if tcp { 80u16 } else { 53 }).to_be_bytes());
    if tcp {
        l4[12] = 5 << 4;
        l4[13] = 0x10;
    } else {
        l4[4..6].copy_from_slice(&((PKT - 20) as u16).to_be_bytes());
    }
    let mut ph = Vec::with_capacity(12 + PKT - 20);
    ph.extend_from_slice(&src);
    ph.extend_from_slice(&dst);
    ph.extend_from_slice(&[0, buf[9]]);
    ph.extend_from_slice(&((PKT - 20) as u16).to_be_bytes());
    ph.extend_from_slice(&buf[20..]);
    let c = csum(&ph);
    let at = if tcp { 20 + 16 } else { 20 + 6 };
    buf[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// Pushes the packets of `order`; packets, CPU seconds, wall seconds.
fn run(
    r: &Router,
    rw: usize,
    templates: &[u8],
    order: impl Iterator<Item = u32>,
) -> (usize, f64, f64) {
    let mut n = 0usize;
    let mut batch = Batch::new();
    let send = |b: Batch| {
        r.with_element(rw, |e, cx| e.push_batch(cx, 0, b));
    };
    let (t0, c0) = (Instant::now(), cpu_time());
    for i in order {
        let mut p = SPARE
            .with(|s| s.borrow_mut().pop())
            .unwrap_or_else(|| Packet::new(PKT));
        let off = i as usize * PKT;
        p.data_mut().copy_from_slice(&templates[off..off + PKT]);
        if let Err(p) = batch.push(p) {
            send(std::mem::take(&mut batch));
            let _ = batch.push(p);
        }
        n += 1;
    }
    if !batch.is_empty() {
        send(batch);
    }
    let cpu = (cpu_time() - c0).as_secs_f64();
    (n, cpu, t0.elapsed().as_secs_f64())
}

/// Setup and steady rates (CPU, wall) in Mpps, and the table size.
fn bench(flows: u32) -> ((f64, f64), (f64, f64), usize) {
    let mut reg = Registry::standard();
    reg.add(&RECYCLE);
    let env = Env {
        clock: Box::new(WallClock(Instant::now())),
        host: Box::new(Rc::new(MemoryHost::default())),
    };
    let src =
        "Idle -> rw :: IPRewriter(pattern 1.2.3.4 1024-65535# - - 0 1, drop) -> out :: Recycle;
               Idle -> [1]rw[1] -> [1]out;";
    let r = Router::from_source(src, "bench", &[], &reg, env).expect("config");
    let rw = r.find("rw").unwrap();
    r.with_element(rw, |e, _| {
        e.downcast_mut::<IpRewriter>()
            .unwrap()
            .rewriter()
            .reserve(flows as usize)
    });
    let mut templates = vec![0u8; flows as usize * PKT];
    for i in 0..flows {
        packet(i, &mut templates[i as usize * PKT..(i as usize + 1) * PKT]);
    }
    let (n, c, t) = run(&r, rw, &templates, 0..flows);
    let setup = (n as f64 / c / 1e6, n as f64 / t / 1e6);
    let total = (flows as u64 * 4).max(8_000_000) as u32;
    // A fixed odd multiplier scrambles the order so consecutive packets
    // hit unrelated flows.
    let order = (0..total).map(|k| ((k as u64 * 2_654_435_761) % flows as u64) as u32);
    let (n, c, t) = run(&r, rw, &templates, order);
    let steady = (n as f64 / c / 1e6, n as f64 / t / 1e6);
    let size: usize = r.read("rw.table_size").unwrap().parse().unwrap();
    (setup, steady, size)
}

fn main() {
    println!("IPRewriter, 64-byte packets, half TCP half UDP");
    println!("Mpps per CPU-second of the pushing thread [wall-clock Mpps]");
    println!(
        "{:>9} | {:>16} | {:>16} | {:>8}",
        "flows", "setup Mpps", "steady Mpps", "mappings"
    );
    println!("{:-<9}-+-{:-<16}-+-{:-<16}-+-{:-<8}", "", "", "", "");
    // NAT_FLOWS=64000 runs one size only.
    let sizes: Vec<u32> = match std::env::var("NAT_FLOWS") {
        Ok(v) => v.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        Err(_) => vec![1_000, 64_000, 1_000_000],
    };
    for flows in sizes {
        let (setup, steady, size) = bench(flows);
        assert_eq!(size, flows as usize, "every flow mapped");
        let cell = |(c, w): (f64, f64)| format!("{c:.2} [{w:.2}]");
        println!(
            "{flows:>9} | {:>16} | {:>16} | {size:>8}",
            cell(setup),
            cell(steady)
        );
    }
}

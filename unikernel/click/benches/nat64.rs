//! NAT64 throughput: 80-byte IPv6 TCP and UDP packets (half each) over 1k
//! and 64k flows, deterministic traffic, real clock. Prints million
//! packets per second for flow setup (first packet of every flow) and
//! steady state (packets of existing flows in a scrambled order), beside
//! the IPv4 NAT's table in BENCHMARKS.md (`--bench nat`).
//!
//! Rates are per CPU-second of the running thread (wall-clock rates in
//! brackets). Run: `cargo bench -p click --bench nat64`; `NAT_FLOWS=64000`
//! runs one size.

mod common;

use std::rc::Rc;
use std::time::Instant;

use common::cpu_time;

use click::host::MemoryHost;
use click::net::ip6;
use click::router::Env;
use click::time::{Clock, Timestamp};
use click::{Packet, Registry, Router};

const PAYLOAD: usize = 40;

struct WallClock(Instant);

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp::new(1_000_000_000, 0) + Timestamp(self.0.elapsed().as_nanos() as i64)
    }
}

/// The IPv6 packet of flow `i`: even flows TCP, odd UDP.
fn packet(i: u32) -> Vec<u8> {
    let tcp = i & 1 == 0;
    let mut src = [0u8; 16];
    src[..2].copy_from_slice(&[0xfd, 0]);
    src[12..].copy_from_slice(&i.to_be_bytes());
    let mut dst = [0u8; 16];
    dst[..4].copy_from_slice(&[0, 0x64, 0xff, 0x9b]);
    dst[12..].copy_from_slice(&[100, 64, (i % 251) as u8, 1]);
    let mut l4 = vec![0u8; PAYLOAD];
    l4[0..2].copy_from_slice(&(1024 + (i % 50_000) as u16).to_be_bytes());
    l4[2..4].copy_from_slice(&(if tcp { 80u16 } else { 53 }).to_be_bytes());
    if tcp {
        l4[12] = 5 << 4;
        l4[13] = 0x10;
    } else {
        l4[4..6].copy_from_slice(&(PAYLOAD as u16).to_be_bytes());
    }
    ip6::build(&src, &dst, if tcp { 6 } else { 17 }, 64, &l4)
}

fn run(
    r: &Router,
    nat: usize,
    templates: &[Vec<u8>],
    order: impl Iterator<Item = u32>,
) -> (usize, f64, f64) {
    let mut n = 0;
    let (t0, c0) = (Instant::now(), cpu_time());
    for i in order {
        r.inject(nat, 0, Packet::from_slice(&templates[i as usize]));
        n += 1;
    }
    (
        n,
        (cpu_time() - c0).as_secs_f64(),
        t0.elapsed().as_secs_f64(),
    )
}

fn bench(flows: u32) -> ((f64, f64), (f64, f64), usize) {
    let env = Env {
        clock: Box::new(WallClock(Instant::now())),
        host: Box::new(Rc::new(MemoryHost::default())),
    };
    let src = format!(
        "Idle -> [0]nat :: NAT64(192.0.2.1, CAPACITY {flows}) -> Discard; Idle -> [1]nat[1] -> Discard;"
    );
    let r = Router::from_source(&src, "bench", &[], &Registry::standard(), env).expect("config");
    let nat = r.find("nat").unwrap();
    let templates: Vec<Vec<u8>> = (0..flows).map(packet).collect();
    let (n, c, t) = run(&r, nat, &templates, 0..flows);
    let setup = (n as f64 / c / 1e6, n as f64 / t / 1e6);
    let total = (flows as u64 * 4).max(4_000_000) as u32;
    let order = (0..total).map(|k| ((k as u64 * 2_654_435_761) % flows as u64) as u32);
    let (n, c, t) = run(&r, nat, &templates, order);
    let steady = (n as f64 / c / 1e6, n as f64 / t / 1e6);
    let size: usize = r.read("nat.mapping_count").unwrap().parse().unwrap();
    (setup, steady, size)
}

fn main() {
    println!("NAT64, 80-byte IPv6 packets, half TCP half UDP");
    println!("Mpps per CPU-second of the pushing thread [wall-clock Mpps]");
    println!(
        "{:>9} | {:>16} | {:>16} | {:>8}",
        "flows", "setup Mpps", "steady Mpps", "mappings"
    );
    println!("{:-<9}-+-{:-<16}-+-{:-<16}-+-{:-<8}", "", "", "", "");
    let sizes: Vec<u32> = match std::env::var("NAT_FLOWS") {
        Ok(v) => v.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        Err(_) => vec![1_000, 64_000],
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

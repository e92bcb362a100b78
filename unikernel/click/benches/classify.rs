//! IPFilter throughput with 10, 100 and 1,000 rules on varied 64-byte
//! traffic, through a router (`Idle -> IPFilter -> Discard`, batches of 32
//! pushed into the filter with the IP header annotation already set).
//!
//! Rules and traffic come from a fixed xorshift seed: five rule shapes
//! (address prefixes, hosts, ports, protocols, ICMP types, a port range),
//! and packets half built to hit a random rule, half random. Printed: a
//! table of million packets per second for the compiled index and, for
//! contrast, for evaluating every rule in order.
//!
//! Run with `cargo bench -p click --bench classify` (`CLASSIFY_RULES=1000`
//! runs one size only).

mod common;

use std::time::{Duration, Instant};

use common::cpu_time;

use click::batch::{Batch, BATCH_MAX};
use click::elements::classify::compile::expr::{parse_rule, Action};
use click::elements::classify::compile::{ip_view, Program, Rule};
use click::testing::{router_from_source, TestSink};
use click::Packet;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a rule tests, to build packets that hit it.
#[derive(Clone, Copy)]
struct Hit {
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
}

fn addr(r: &mut Rng) -> [u8; 4] {
    [
        10 + r.below(4) as u8,
        r.below(256) as u8,
        r.below(256) as u8,
        1 + r.below(254) as u8,
    ]
}

fn make_rules(n: usize, r: &mut Rng) -> (Vec<String>, Vec<Hit>) {
    let actions = ["allow", "deny", "1", "2"];
    let n = n - 1; // the last rule is the default policy, below
    let mut rules = Vec::new();
    let mut hits = Vec::new();
    for _ in 0..n {
        let act = actions[r.below(4) as usize];
        let (s, d) = (addr(r), addr(r));
        let port = 1 + r.below(60000) as u16;
        let mut h = Hit {
            proto: 6,
            src: s,
            dst: d,
            sport: 1024 + r.below(60000) as u16,
            dport: port,
        };
        let text = match r.below(5) {
            0 => format!(
                "{act} src net {}.{}.{}.0/24 && tcp && dst port {port}",
                s[0], s[1], s[2]
            ),
            1 => {
                h.proto = 17;
                format!(
                    "{act} dst host {}.{}.{}.{} && udp dst port {port}",
                    d[0], d[1], d[2], d[3]
                )
            }
            2 => format!(
                "{act} tcp src port {} && dst net {}.{}.0.0/16",
                h.sport, d[0], d[1]
            ),
            3 => {
                h.proto = 1;
                h.sport = 0x0800;
                format!(
                    "{act} icmp type echo && src host {}.{}.{}.{}",
                    s[0], s[1], s[2], s[3]
                )
            }
            _ => {
                h.proto = 17;
                h.dport = 5000 + r.below(100) as u16;
                format!(
                    "{act} udp && src net {}.{}.0.0/16 && dst host {}.{}.{}.{} && dst port >= 5000 && dst port < 5100",
                    s[0], s[1], d[0], d[1], d[2], d[3]
                )
            }
        };
        rules.push(text);
        hits.push(h);
    }
    rules.push(String::from("3 all"));
    (rules, hits)
}

fn packet(h: &Hit) -> Packet {
    let mut d = [0u8; 64];
    d[12] = 8;
    let ip = &mut d[14..];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&50u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = h.proto;
    ip[12..16].copy_from_slice(&h.src);
    ip[16..20].copy_from_slice(&h.dst);
    ip[20..22].copy_from_slice(&h.sport.to_be_bytes());
    ip[22..24].copy_from_slice(&h.dport.to_be_bytes());
    ip[33] = 0x10;
    let mut p = Packet::from_slice(&d);
    p.set_ip_header(14, 20);
    p
}

fn traffic(hits: &[Hit], n: usize, r: &mut Rng) -> Vec<Hit> {
    (0..n)
        .map(|_| {
            if r.below(2) == 0 {
                hits[r.below(hits.len() as u64) as usize]
            } else {
                Hit {
                    proto: [6, 17, 1][r.below(3) as usize],
                    src: addr(r),
                    dst: addr(r),
                    sport: r.below(65536) as u16,
                    dport: r.below(65536) as u16,
                }
            }
        })
        .collect()
}

/// Packets in flight per round (1,024 distinct packets, 32 batches): a
/// working set that stays in the L2 cache, as packets just received from
/// a NIC are hot in cache.
const ROUND: usize = 1024;

/// Million packets per second through the router. The sink keeps the
/// packets, which are pushed again in the next round, so the timed part
/// allocates and frees nothing (denied packets are recreated untimed).
fn router_mpps(rules: &[String], flows: &[Hit]) -> (f64, f64, usize) {
    let src = format!(
        "f :: IPFilter({});\ns :: TestSink;\nIdle -> f; f[0] -> [0] s; f[1] -> [1] s; f[2] -> [2] s; f[3] -> [3] s;",
        rules.join(",\n")
    );
    let (r, _) = router_from_source(&src);
    let f = r.find("f").expect("filter");
    let s = r.find("s").expect("sink");
    let tuples = r
        .read("f.program")
        .map(|p| p.lines().filter(|l| l.starts_with("tuple ")).count())
        .unwrap_or(0);
    let mut pool: Vec<Packet> = flows[..ROUND].iter().map(packet).collect();
    let mut timed = Duration::ZERO;
    let mut cpu = Duration::ZERO;
    let mut done = 0usize;
    while cpu < Duration::from_millis(1000) {
        let mut batches: Vec<Batch> = Vec::with_capacity(ROUND / BATCH_MAX + 1);
        let mut b = Batch::new();
        for p in pool.drain(..) {
            if let Err(p) = b.push(p) {
                batches.push(core::mem::take(&mut b));
                let _ = b.push(p);
            }
        }
        batches.push(b);
        let (t, c) = (Instant::now(), cpu_time());
        for b in batches {
            r.with_element(f, |e, cx| e.push_batch(cx, 0, b));
        }
        cpu += cpu_time() - c;
        timed += t.elapsed();
        done += ROUND;
        r.with_element(s, |e, _| {
            if let Some(sink) = e.downcast_mut::<TestSink>() {
                pool.extend(sink.got.drain(..).map(|(_, p)| p));
            }
        });
        // Denied packets were dropped: make new ones.
        let mut i = 0;
        while pool.len() < ROUND {
            pool.push(packet(&flows[i]));
            i += 1;
        }
    }
    let mpps = |d: Duration| done as f64 / d.as_secs_f64() / 1e6;
    (mpps(cpu), mpps(timed), tuples)
}

/// Million packets per second for a plain in-order scan of the rules'
/// trees (no index, no router), for contrast.
fn linear_mpps(rules: &[String], flows: &[Hit]) -> f64 {
    let parsed = parsed(rules);
    let pkts: Vec<Packet> = flows[..ROUND].iter().map(packet).collect();
    let mut sink = 0usize;
    let t = cpu_time();
    let mut done = 0;
    while cpu_time() - t < Duration::from_millis(300) {
        for p in &pkts {
            let v = ip_view(p);
            sink += parsed.iter().position(|r| r.expr.eval(&v)).unwrap_or(7);
        }
        done += pkts.len();
    }
    std::hint::black_box(sink);
    done as f64 / (cpu_time() - t).as_secs_f64() / 1e6
}

fn main() {
    println!("IPFilter, 64-byte packets, batches of {BATCH_MAX}, Idle -> IPFilter -> TestSink");
    println!("Mpps per CPU-second of the pushing thread (wall-clock Mpps in brackets)");
    println!(
        "{:>6} {:>7} {:>18} {:>9} {:>15} {:>12}",
        "rules", "tuples", "router Mpps", "ns/pkt", "classify Mpps", "linear Mpps"
    );
    let sizes: Vec<usize> = match std::env::var("CLASSIFY_RULES") {
        Ok(v) => v.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        Err(_) => vec![10, 100, 1000],
    };
    for n in sizes {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n as u64);
        let (rules, hits) = make_rules(n, &mut rng);
        let flows = traffic(&hits, ROUND, &mut rng);
        let (mpps, wall, tuples) = router_mpps(&rules, &flows);
        let only = classify_mpps(&rules, &flows);
        let lin = linear_mpps(&rules, &flows);
        println!(
            "{n:>6} {tuples:>7} {:>18} {:>9.1} {only:>15.2} {lin:>12.2}",
            format!("{mpps:.2} [{wall:.2}]"),
            1e3 / mpps
        );
    }
}

fn parsed(rules: &[String]) -> Vec<Rule> {
    rules
        .iter()
        .map(|t| {
            let (a, expr) = parse_rule(t, 4).expect("rule");
            Rule {
                expr,
                output: match a {
                    Action::Output(o) => Some(o),
                    Action::Drop => None,
                },
            }
        })
        .collect()
}

/// Million packets per second for the compiled program alone (no router).
fn classify_mpps(rules: &[String], flows: &[Hit]) -> f64 {
    let prog = Program::new(parsed(rules));
    let pkts: Vec<Packet> = flows[..ROUND].iter().map(packet).collect();
    let t = cpu_time();
    let mut done = 0;
    let mut sink = 0;
    while cpu_time() - t < Duration::from_millis(300) {
        for p in &pkts {
            sink += prog.classify(&ip_view(p)).unwrap_or(9);
        }
        done += pkts.len();
    }
    std::hint::black_box(sink);
    done as f64 / (cpu_time() - t).as_secs_f64() / 1e6
}

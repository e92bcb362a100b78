//! Writes the state of N IPRewriter flows (as `mbctl state get -o` would
//! save it) for measuring puts and moves of many flows:
//! `cargo run -p mb-state --example nat_flows -- 10000 flows.state`.

use click::packet::Packet;
use click::state::channel::{serve, Reply, Request};
use click::state::Parts;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).expect("N");
    let out = args.next().expect("FILE");
    let (r, _) = click::testing::router_from_source(
        "Idle -> rw :: IPRewriter(pattern 10.78.1.1 1024-65535 - - 0 1, drop);
         Idle -> [1]rw; rw[0] -> Discard; rw[1] -> Discard;",
    );
    let rw = r.find("rw").expect("rw");
    for i in 0..n {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&40u16.to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[10, 78, (i >> 16) as u8 | 0x80, (i >> 8) as u8]);
        p[16..20].copy_from_slice(&[10, 78, 1, 2]);
        p[20..22].copy_from_slice(&(1024 + (i & 0xff) as u16).to_be_bytes());
        p[22..24].copy_from_slice(&8000u16.to_be_bytes());
        p[32] = 5 << 4;
        p[33] = 0x02;
        r.inject(rw, 0, Packet::from_slice(&p));
    }
    let req = Request::Get {
        element: "rw".into(),
        filter: "-".into(),
        parts: Parts::FLOWS,
    };
    let Ok(Reply::Chunks(c)) = serve(&r, req) else {
        panic!("no chunks")
    };
    std::fs::write(&out, &c).expect("writing");
    eprintln!("{n} flows, {} bytes in {out}", c.len());
}

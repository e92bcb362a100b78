//! The `frames` fuzz target's firewall + NAT gateway, run deterministically:
//! a scripted connection through it (ARP both ways, translation out and
//! back, a reject), then thousands of random frames derived from valid
//! ones. Nothing may panic, and every frame sent must keep the gateway's
//! invariants (`tests/fuzz/common/gateway.rs`), so CI covers the fuzz
//! target's graph without cargo-fuzz.

#[path = "../../fuzz/common/gateway.rs"]
mod gateway;

use gateway::{fix_ipv4, Gateway, Side, INSIDE_IP, INSIDE_MAC, OUTSIDE_MAC, PUBLIC_IP};

const CLIENT_IP: [u8; 4] = [10, 1, 0, 2];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 1, 2];
const SERVER_IP: [u8; 4] = [10, 2, 0, 2];
const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 2, 2];
const BROADCAST: [u8; 6] = [0xff; 6];

fn checksum(parts: &[&[u8]]) -> u16 {
    let mut s: u32 = 0;
    let mut odd: Option<u8> = None;
    for b in parts.iter().flat_map(|p| p.iter().copied()) {
        match odd.take() {
            Some(hi) => s += u32::from(hi) << 8 | u32::from(b),
            None => odd = Some(b),
        }
    }
    if let Some(hi) = odd {
        s += u32::from(hi) << 8;
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn ether(dst: [u8; 6], src: [u8; 6], ty: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ty.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 packet in a frame from the client to the gateway's inside port.
fn from_client(ip: &[u8]) -> Vec<u8> {
    ether(INSIDE_MAC, CLIENT_MAC, 0x0800, ip)
}

/// An IPv4 packet in a frame from the server to the gateway's outside port.
fn from_server(ip: &[u8]) -> Vec<u8> {
    ether(OUTSIDE_MAC, SERVER_MAC, 0x0800, ip)
}

fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4];
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&sha);
    a.extend_from_slice(&spa);
    a.extend_from_slice(&tha);
    a.extend_from_slice(&tpa);
    let dst = if op == 1 { BROADCAST } else { tha };
    ether(dst, sha, 0x0806, &a)
}

/// An IPv4 packet (TTL 64) with a transport payload whose checksum field,
/// at `sum_at` (if any), covers the pseudo-header when `pseudo`.
fn ipv4(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    mut l4: Vec<u8>,
    sum_at: Option<usize>,
    pseudo: bool,
) -> Vec<u8> {
    if let Some(at) = sum_at {
        let len = (l4.len() as u16).to_be_bytes();
        let ph: Vec<u8> = [&src[..], &dst[..], &[0, proto], &len[..]].concat();
        let c = if pseudo {
            checksum(&[&ph, &l4])
        } else {
            checksum(&[&l4])
        };
        l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }
    let total = (20 + l4.len()) as u16;
    let mut h = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = checksum(&[&h]);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(&l4);
    h
}

fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: u8) -> Vec<u8> {
    let mut t = vec![0; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&1000u32.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&8192u16.to_be_bytes());
    ipv4(src, dst, 6, t, Some(16), true)
}

fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = vec![0; 8];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(payload);
    ipv4(src, dst, 17, u, Some(6), true)
}

fn icmp(src: [u8; 4], dst: [u8; 4], ty: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(rest);
    ipv4(src, dst, 1, m, Some(2), false)
}

fn tcp_ports(ip: &[u8]) -> (u16, u16) {
    let hl = (ip[0] & 15) as usize * 4;
    (
        u16::from_be_bytes([ip[hl], ip[hl + 1]]),
        u16::from_be_bytes([ip[hl + 2], ip[hl + 3]]),
    )
}

fn l4_checksum_ok(ip: &[u8]) -> bool {
    let hl = (ip[0] & 15) as usize * 4;
    let l4 = &ip[hl..];
    let len = (l4.len() as u16).to_be_bytes();
    let ph: Vec<u8> = [&ip[12..20], &[0, ip[9]], &len[..]].concat();
    checksum(&[&ph, l4]) == 0
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// The frames of one connection, as a client and a server would send them.
fn scripted(g: &Gateway) -> Vec<(Side, Vec<u8>)> {
    let mut valid = Vec::new();
    let mut send = |side: Side, f: Vec<u8>| {
        valid.push((side, f.clone()));
        g.frame(side, &f)
    };

    // The client resolves its gateway.
    let (i, o) = send(
        Side::Inside,
        arp(1, CLIENT_MAC, CLIENT_IP, [0; 6], INSIDE_IP),
    );
    assert!(o.is_empty());
    assert_eq!(i.len(), 1, "one ARP reply");
    assert_eq!(i[0][0..6], CLIENT_MAC);
    assert_eq!(i[0][20..22], [0, 2]);
    assert_eq!(i[0][22..28], INSIDE_MAC);

    // Its SYN to the web server waits for the server's MAC ...
    let syn = from_client(&tcp(CLIENT_IP, 40000, SERVER_IP, 80, SYN));
    let (i, o) = send(Side::Inside, syn);
    assert!(i.is_empty());
    assert_eq!(o.len(), 1, "one ARP query");
    assert_eq!(
        (o[0][0..6].to_vec(), &o[0][38..42]),
        (BROADCAST.to_vec(), &SERVER_IP[..])
    );
    // ... and leaves from the public address once the server answers.
    let (i, o) = send(
        Side::Outside,
        arp(2, SERVER_MAC, SERVER_IP, OUTSIDE_MAC, PUBLIC_IP),
    );
    assert!(i.is_empty());
    assert_eq!(o.len(), 1, "the SYN");
    let out = &o[0][14..];
    assert_eq!(o[0][0..6], SERVER_MAC);
    assert_eq!(
        (&out[12..16], &out[16..20]),
        (&PUBLIC_IP[..], &SERVER_IP[..])
    );
    assert_eq!(out[8], 63, "TTL decremented");
    assert!(l4_checksum_ok(out), "TCP checksum after translation");
    let (public_port, dport) = tcp_ports(out);
    assert_eq!(dport, 80);

    // The server's SYN-ACK goes back to the client's own address and port.
    let synack = tcp(SERVER_IP, 80, PUBLIC_IP, public_port, SYN | ACK);
    let (i, o) = send(Side::Outside, from_server(&synack));
    assert!(o.is_empty());
    assert_eq!(i.len(), 1, "an ARP query for the client");
    let (i, _) = send(
        Side::Inside,
        arp(2, CLIENT_MAC, CLIENT_IP, INSIDE_MAC, INSIDE_IP),
    );
    assert_eq!(i.len(), 1, "the SYN-ACK");
    let back = i[0][14..].to_vec();
    let back = &back[..];
    assert_eq!(
        (&back[12..16], &back[16..20]),
        (&SERVER_IP[..], &CLIENT_IP[..])
    );
    assert_eq!(tcp_ports(back), (80, 40000));
    assert!(l4_checksum_ok(back), "TCP checksum after translation back");

    // A port the firewall does not allow is rejected with "prohibited".
    let bad = from_client(&tcp(CLIENT_IP, 40001, SERVER_IP, 8080, SYN));
    let (i, o) = send(Side::Inside, bad);
    assert!(o.is_empty());
    assert_eq!(i.len(), 1);
    let err = &i[0][14..];
    assert_eq!(
        (err[9], err[20], err[21]),
        (1, 3, 13),
        "ICMP unreachable, prohibited"
    );
    assert_eq!(
        (&err[12..16], &err[16..20]),
        (&INSIDE_IP[..], &CLIENT_IP[..])
    );

    // More kinds of valid frames to derive random ones from: DNS, ping,
    // an unsolicited inbound SYN, a port unreachable about the flow, an
    // ARP request for the public address.
    send(
        Side::Inside,
        from_client(&udp(CLIENT_IP, 5353, SERVER_IP, 53, b"query")),
    );
    send(
        Side::Inside,
        from_client(&icmp(CLIENT_IP, SERVER_IP, 8, 0, &[0, 7, 0, 1, 1, 2, 3, 4])),
    );
    send(
        Side::Outside,
        from_server(&tcp(SERVER_IP, 80, PUBLIC_IP, 1, SYN)),
    );
    let mut quoted = vec![0u8; 4];
    quoted.extend_from_slice(&back[..28]);
    let err_in = icmp(CLIENT_IP, SERVER_IP, 3, 3, &quoted);
    send(Side::Inside, from_client(&err_in));
    send(
        Side::Outside,
        arp(1, SERVER_MAC, SERVER_IP, [0; 6], PUBLIC_IP),
    );
    valid
}

#[test]
fn gateway_translates_and_rejects_a_scripted_connection() {
    let g = Gateway::new();
    scripted(&g);
    let table = g.read("rw.tcp_table");
    assert!(table.contains("10.1.0.2, 40000, 10.2.0.2, 80"), "{table}");
}

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn gateway_survives_thousands_of_random_frames() {
    let g = Gateway::new();
    let valid = scripted(&g);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut sent_in, mut sent_out) = (0, 0);
    for _ in 0..5000 {
        let (side, mut f) = valid[rng.below(valid.len() as u64) as usize].clone();
        let side = if rng.below(8) == 0 {
            match side {
                Side::Inside => Side::Outside,
                Side::Outside => Side::Inside,
            }
        } else {
            side
        };
        // A few changed bytes, biased towards the headers.
        for _ in 0..rng.below(4) {
            if f.is_empty() {
                break;
            }
            let at = if rng.below(2) == 0 {
                rng.below(f.len().min(60) as u64)
            } else {
                rng.below(f.len() as u64)
            } as usize;
            f[at] = rng.next() as u8;
        }
        match rng.below(6) {
            0 => f.truncate(rng.below(f.len() as u64 + 1) as usize),
            1 => f.extend((0..rng.below(40)).map(|_| rng.next() as u8)),
            _ => {}
        }
        fix_ipv4(&mut f, rng.below(2) == 0, rng.below(4) != 0);
        if rng.below(50) == 0 {
            let (i, o) = g.advance([10, 1_000, 30_000, 300_000][rng.below(4) as usize]);
            sent_in += i.len();
            sent_out += o.len();
        }
        let (i, o) = g.frame(side, &f);
        sent_in += i.len();
        sent_out += o.len();
    }
    // The random frames reach deep enough to be answered and forwarded.
    assert!(
        sent_in > 400 && sent_out > 400,
        "sent {sent_in} inside, {sent_out} outside"
    );
}

/// The fuzz target's committed seeds (and regression inputs) replay
/// cleanly, each on a fresh gateway; the conversations get answered.
#[test]
fn committed_fuzz_seeds_replay() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/frames");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "seeds in {}", dir.display());
    for path in names {
        let data = std::fs::read(&path).expect("seed");
        let (i, o) = Gateway::new().feed(&data);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "seed-web" || name == "seed-dns" || name == "seed-ping" {
            // The request left from the public address, the reply came back.
            let ipv4 = |f: &Vec<u8>| f[12..14] == [8, 0];
            assert!(
                o.iter().any(ipv4) && i.iter().any(ipv4),
                "{name}: {i:02x?} {o:02x?}"
            );
        }
    }
}

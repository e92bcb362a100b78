//! IPv6 through a real QEMU guest: the dual-stack firewall of
//! `click-configs/firewall6.click` between two network namespaces, with
//! `ping`, `ping -6`, `curl` and `curl -6` from the inside to web servers
//! on the outside (an allowed port and a refused one for each family),
//! and `ping -6 -M do -s 1600` getting an ICMPv6 packet-too-big; an
//! IPv6-only client reaching an IPv4-only server through the NAT64 of
//! `click-configs/nat64.click`.

use mb_tests_mbctl::{boot_between, can_run, ip, ping_ok, repo, Host};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Web servers in a namespace, killed on drop.
struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `python3 -m http.server` on both families for each port in
/// namespace `ns`, and waits until they listen.
fn web_servers(ns: &str, ports: &[u16]) -> Servers {
    let mut s = Servers(Vec::new());
    for p in ports {
        let c = Command::new("ip")
            .args(["netns", "exec", ns, "python3", "-m", "http.server"])
            .args(["--bind", "::", &p.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        s.0.push(c);
    }
    for p in ports {
        let t0 = Instant::now();
        loop {
            let o = Command::new("ip")
                .args(["netns", "exec", ns, "ss", "-Htln"])
                .arg(format!("sport = :{p}"))
                .output()
                .expect("ss");
            if !o.stdout.is_empty() {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "server on port {p} never listened"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    s
}

/// `curl` from namespace `ns` to `url` (3 s limit): its exit code and the
/// HTTP status it printed.
fn curl(ns: &str, url: &str) -> (i32, String) {
    let o = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "curl",
            "-s",
            "-g",
            "-m",
            "3",
            "-o",
            "/dev/null",
        ])
        .args(["-w", "%{http_code}", url])
        .output()
        .expect("curl (apt-get install curl)");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

fn count(h: &Host, counter: &str) -> u64 {
    let v = h.ok(&["read", "fw6", &format!("{counter}.count")]);
    v.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{counter}.count: {v}"))
}

#[test]
fn dual_stack_firewall_passes_ping_and_web_and_refuses_other_ports() {
    if !can_run(
        "dual_stack_firewall_passes_ping_and_web_and_refuses_other_ports",
        true,
    ) {
        return;
    }
    let h = Host::new();
    let cfg = repo().join("click-configs/firewall6.click");
    let (_ns, l, r) = boot_between(&h, "6", &cfg, "fw6", &[]);
    for (ns, dev, v4, v6) in [
        (&l, "eth0", "10.78.0.1/24", "fd78::1/64"),
        (&r, "in0", "10.78.0.2/24", "fd78::2/64"),
    ] {
        ip(&["-n", ns, "addr", "add", v4, "dev", dev]);
        ip(&["-n", ns, "addr", "add", v6, "dev", dev, "nodad"]);
    }
    // The outside's own curl below goes through its loopback.
    ip(&["-n", &r, "link", "set", "lo", "up"]);
    let _web = web_servers(&r, &[80, 8080]);

    ping_ok(&l, "10.78.0.2", 3, "the firewall (IPv4)");
    ping_ok(&l, "fd78::2", 3, "the firewall (IPv6)");
    assert_eq!(curl(&l, "http://10.78.0.2/"), (0, "200".into()));
    assert_eq!(curl(&l, "http://[fd78::2]/"), (0, "200".into()));
    // Refused: the SYN is dropped, so curl times out (28), not "refused" (7).
    assert_eq!(curl(&l, "http://10.78.0.2:8080/").0, 28);
    assert_eq!(curl(&l, "http://[fd78::2]:8080/").0, 28);
    // The outside reaches the server on 8080 itself: only the firewall refuses.
    assert_eq!(curl(&r, "http://[fd78::2]:8080/"), (0, "200".into()));

    // Path MTU discovery: the inside link takes 2000 bytes, the firewall
    // passes at most 1500 and answers a bigger IPv6 packet with an
    // ICMPv6 packet-too-big, sent back after neighbour discovery.
    // The inside NIC is a veth in the namespace, its host end feeds the
    // guest's tap: all three take the bigger frames.
    let ls = h.ok(&["ls", "--json"]);
    let tap = ls
        .split("\"ifname\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("NIC 0's ifname in ls --json");
    let peer = Command::new("ip")
        .args(["netns", "exec", &l, "cat", "/sys/class/net/eth0/iflink"])
        .output()
        .expect("iflink");
    let peer = String::from_utf8_lossy(&peer.stdout).trim().to_string();
    let links = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .expect("ip link");
    let veth = String::from_utf8_lossy(&links.stdout)
        .lines()
        .find_map(|l| {
            let (idx, rest) = l.split_once(": ")?;
            (idx == peer).then(|| rest.split(['@', ':']).next().unwrap_or("").to_string())
        })
        .expect("the host end of the inside veth");
    for dev in [tap, veth.as_str()] {
        ip(&["link", "set", dev, "mtu", "2000"]);
    }
    ip(&["-n", &l, "link", "set", "eth0", "mtu", "2000"]);
    let o = Command::new("ip")
        .args(["netns", "exec", &l, "ping", "-6", "-M", "do", "-s", "1600"])
        .args(["-c", "1", "-W", "5", "fd78::2"])
        .output()
        .expect("ping");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        !o.status.success(),
        "a 1648-byte packet crossed a 1500-byte limit: {out}"
    );
    assert!(
        out.contains("From fe80::6f:1") && out.contains("Packet too big: mtu=1500"),
        "{out}"
    );
    assert_eq!(h.ok(&["read", "fw6", "toobig6.count"]).trim(), "1");
    let (allowed6, denied6, denied) = (
        count(&h, "allowed6"),
        count(&h, "denied6"),
        count(&h, "denied"),
    );
    // 3 echoes, at least a handshake and a request, neighbour solicitations.
    assert!(allowed6 >= 3 + 3, "allowed6.count {allowed6}");
    // The SYN to 8080 and its retransmissions, maybe MLD reports.
    assert!(denied6 >= 2, "denied6.count {denied6}");
    assert!(denied >= 2, "denied.count {denied}");
    assert_eq!(h.ok(&["read", "fw6", "check6.drops"]).trim(), "0");
    h.ok(&["stop", "fw6"]);
    h.assert_clean();
}

#[test]
fn nat64_lets_an_ipv6_only_client_reach_an_ipv4_only_server() {
    if !can_run(
        "nat64_lets_an_ipv6_only_client_reach_an_ipv4_only_server",
        true,
    ) {
        return;
    }
    let h = Host::new();
    let cfg = repo().join("click-configs/nat64.click");
    let (_ns, l, r) = boot_between(&h, "64", &cfg, "nat64", &[]);
    // The client has IPv6 only; the whole NAT64 prefix is on its link.
    ip(&[
        "-n",
        &l,
        "addr",
        "add",
        "fd64::1/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    ip(&[
        "-n",
        &l,
        "-6",
        "route",
        "add",
        "64:ff9b::/96",
        "dev",
        "eth0",
    ]);
    // The server has IPv4 only, on the pool's subnet.
    ip(&["-n", &r, "addr", "add", "192.0.2.2/24", "dev", "in0"]);
    let log = h.scratch.join("server.log");
    let server = Command::new("ip")
        .args(["netns", "exec", &r, "python3", "-m", "http.server"])
        .args(["--bind", "192.0.2.2", "80"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("server log"))
        .spawn()
        .expect("python3 -m http.server");
    let _web = Servers(vec![server]);
    let t0 = Instant::now();
    while Command::new("ip")
        .args(["netns", "exec", &r, "ss", "-Htln", "sport = :80"])
        .output()
        .expect("ss")
        .stdout
        .is_empty()
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "server never listened"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    ping_ok(&l, "64:ff9b::192.0.2.2", 3, "the NAT64");
    assert_eq!(curl(&l, "http://[64:ff9b::192.0.2.2]/"), (0, "200".into()));
    // The server saw the pool address, not the client.
    let seen = std::fs::read_to_string(&log).expect("server log");
    assert!(
        seen.contains("192.0.2.1 - - ") && seen.contains("\"GET / HTTP/1.1\" 200"),
        "{seen}"
    );
    let table = h.ok(&["read", "nat64", "nat.table"]);
    assert!(
        table.contains("tcp fd64::1 ")
            && table.contains("=> 192.0.2.1 ")
            && table.contains("=> 192.0.2.2 80"),
        "{table}"
    );
    assert!(table.contains("icmp fd64::1 "), "{table}");
    // A hop limit of 1 expires in the NAT64: ICMPv6 time exceeded.
    let o = Command::new("ip")
        .args([
            "netns",
            "exec",
            &l,
            "ping",
            "-6",
            "-t",
            "1",
            "-c",
            "1",
            "-W",
            "5",
            "64:ff9b::192.0.2.2",
        ])
        .output()
        .expect("ping");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("From fd64::ff") && out.contains("Time exceeded"),
        "{out}"
    );
    h.ok(&["stop", "nat64"]);
    h.assert_clean();
}

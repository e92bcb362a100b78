//! Click's mazu-nat.click NAT router (click-configs/chains/mazu-nat.click:
//! AddressInfo, a static routing table, IPRewriter, ICMPPingRewriter,
//! ICMPRewriter, ICMP time-exceeded errors) in a middlebox VM between two
//! namespaces: ping, curl and traceroute through it. Needs root, Open
//! vSwitch, QEMU and traceroute (SKIP otherwise, never under CI).

use mb_tests_chains::*;

#[test]
fn mazu_nat_routes_pings_web_and_traceroute() {
    if skip("mazu_nat_routes_pings_web_and_traceroute") {
        return;
    }
    let traceroute = std::process::Command::new("traceroute").arg("-V").output();
    if traceroute.is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "mazu_nat needs traceroute under CI"
        );
        println!("SKIP mazu_nat_routes_pings_web_and_traceroute: no traceroute");
        return;
    }
    let id = std::process::id() % 100_000;
    let (client, server) = (format!("mbmc{id}"), format!("mbms{id}"));
    let mut c = Chain::new(&format!("mz{id}"));
    let toml = format!(
        r#"name = "{name}"
[left]
netns = "{client}"
address = "10.33.1.2/24"
gateway = "10.33.1.1"
[right]
netns = "{server}"
address = "10.33.2.2/24"
gateway = "10.33.2.1"
route = false
[[hop]]
name = "nat"
config = "{cfg}"
defines = {{ IN_NET = "10.33.1.0/24", OUT_NET = "10.33.2.0/24", PUBLIC = "10.33.2.1" }}
"#,
        name = c.name,
        cfg = config("mazu-nat.click")
    );
    let o = c.up(&toml);
    assert!(o.status.success(), "chain up: {}", text(&o));

    let p = in_ns(
        &client,
        &["ping", "-c", "3", "-i", "0.2", "-w", "20", "10.33.2.2"],
    );
    assert!(p.status.success(), "ping: {}", text(&p));

    let www = c.run.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "through mazu-nat\n").unwrap();
    let _http = spawn_in(
        &server,
        &[
            "python3",
            "-m",
            "http.server",
            "80",
            "--bind",
            "10.33.2.2",
            "-d",
            www.to_str().unwrap(),
        ],
        &c.run.join("http.log"),
    );
    wait_listening(&server, 80);
    let ok = in_ns(&client, &["curl", "-sS", "-m", "10", "http://10.33.2.2/"]);
    assert!(ok.status.success(), "curl: {}", text(&ok));
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "through mazu-nat\n");
    // The server saw the NAT's public address, not the client's.
    let log = std::fs::read_to_string(c.run.join("http.log")).unwrap();
    assert!(log.contains("10.33.2.1 - - "), "HTTP server log: {log}");

    // UDP traceroute: hop 1 is the NAT's ICMP time-exceeded error, hop 2
    // the server's port unreachable, translated back through the NAT.
    let t = in_ns(
        &client,
        &[
            "traceroute",
            "-n",
            "-q",
            "1",
            "-w",
            "3",
            "-m",
            "4",
            "10.33.2.2",
        ],
    );
    let out = text(&t);
    assert!(t.status.success(), "traceroute: {out}");
    let hops: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with(|ch: char| ch.is_ascii_digit()))
        .collect();
    assert!(
        hops.first().is_some_and(|l| l.contains("10.33.1.1")),
        "hop 1 is the NAT: {out}"
    );
    assert!(
        hops.get(1).is_some_and(|l| l.contains("10.33.2.2")),
        "hop 2 is the server: {out}"
    );
    assert_eq!(hops.len(), 2, "the trace ends at the server: {out}");

    let d = c.down();
    assert!(d.status.success(), "chain down: {}", text(&d));
    let left = leftovers(&c, &[&client, &server]);
    assert!(left.is_empty(), "left behind: {left:?}");
}

//! click-configs/chains/nat64.toml: an IPv6-only client namespace reaches
//! an IPv4-only server through a NAT64 hop by the server's synthesized
//! 64:ff9b::/96 address: `ping -6`, `curl -6`, an expiring hop limit
//! answered with ICMPv6 time exceeded, and the server seeing the NAT64's
//! pool address; the hop a middlebox VM, then a host runner process.
//! Needs root, Open vSwitch and QEMU (SKIP otherwise, never under CI).

use mb_tests_chains::*;

#[test]
fn an_ipv6_only_client_reaches_an_ipv4_server_through_the_nat64_chain() {
    let test = "an_ipv6_only_client_reaches_an_ipv4_server_through_the_nat64_chain";
    if skip(test) {
        return;
    }
    // One after the other: two private switches cannot share the datapath.
    nat64_chain("vm", "6");
    nat64_chain("runner", "7");
}

/// Brings nat64.toml up with hops of `backend`, names tagged `tag`, and
/// checks it with real clients.
fn nat64_chain(backend: &str, tag: &str) {
    let id = std::process::id() % 100_000;
    let (client, server) = (format!("mb{tag}c{id}"), format!("mb{tag}s{id}"));
    // The shipped file, with this test's own chain and namespace names.
    let shipped = std::fs::read_to_string(repo().join("click-configs/chains/nat64.toml"))
        .expect("click-configs/chains/nat64.toml");
    let mut c = Chain::new(&format!("n{tag}{id}"));
    let toml = shipped
        .replacen(
            "name = \"nat64\"\n",
            &format!("name = \"{}\"\nbackend = \"{backend}\"\n", c.name),
            1,
        )
        .replace("\"mb6client\"", &format!("\"{client}\""))
        .replace("\"mb6server\"", &format!("\"{server}\""))
        .replace("\"nat64.click\"", &format!("\"{}\"", config("nat64.click")));
    assert!(toml.contains(&client) && toml.contains(&server), "{toml}");
    let o = c.up(&toml);
    assert!(o.status.success(), "chain up ({backend}): {}", text(&o));

    // The client has IPv6 only: its address and a default route through
    // the chain's IPv6 gateway, no IPv4 address.
    let a = in_ns(&client, &["ip", "addr", "show", "eth0"]);
    let addrs = text(&a);
    assert!(addrs.contains("inet6 fd64:1::2/64"), "{addrs}");
    assert!(!addrs.contains("inet "), "{addrs}");
    let r = in_ns(&client, &["ip", "-6", "route", "show", "default"]);
    assert!(text(&r).contains("via fd64:1::1"), "{}", text(&r));

    // 10.64.2.2 is 64:ff9b::a40:202.
    let p = in_ns(
        &client,
        &[
            "ping",
            "-6",
            "-c",
            "3",
            "-i",
            "0.2",
            "-w",
            "30",
            "64:ff9b::10.64.2.2",
        ],
    );
    assert!(p.status.success(), "ping -6: {}", text(&p));

    let www = c.run.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "through the NAT64\n").unwrap();
    let _http = spawn_in(
        &server,
        &[
            "python3",
            "-m",
            "http.server",
            "80",
            "--bind",
            "10.64.2.2",
            "-d",
            www.to_str().unwrap(),
        ],
        &c.run.join("http.log"),
    );
    wait_listening(&server, 80);
    let ok = in_ns(
        &client,
        &[
            "curl",
            "-6",
            "-sS",
            "-g",
            "-m",
            "15",
            "http://[64:ff9b::10.64.2.2]/",
        ],
    );
    assert!(ok.status.success(), "curl -6: {}", text(&ok));
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "through the NAT64\n");
    // The IPv4 server saw the NAT64's pool address (the right gateway).
    let log = std::fs::read_to_string(c.run.join("http.log")).unwrap();
    assert!(log.contains("10.64.2.1 - - "), "HTTP server log: {log}");

    // The mapping is in the hop's table (a VM's handlers are read through
    // the store).
    if backend == "vm" {
        let table = c.mbctl(&["read", &format!("{}-nat64", c.name), "nat.table"]);
        assert!(table.status.success(), "read nat.table: {}", text(&table));
        assert!(
            text(&table).contains("fd64:1::2"),
            "nat.table: {}",
            text(&table)
        );
    }

    // A hop limit of 1 expires at the hop: ICMPv6 time exceeded from the
    // left gateway.
    let t = in_ns(
        &client,
        &[
            "ping",
            "-6",
            "-c",
            "1",
            "-t",
            "1",
            "-w",
            "10",
            "64:ff9b::10.64.2.2",
        ],
    );
    assert!(
        text(&t).contains("From fd64:1::1") && text(&t).contains("Time exceeded"),
        "ping -6 -t 1: {}",
        text(&t)
    );

    let d = c.down();
    assert!(d.status.success(), "chain down: {}", text(&d));
    let left = leftovers(&c, &[&client, &server]);
    assert!(left.is_empty(), "left behind: {left:?}");
}

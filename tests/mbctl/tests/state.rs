//! `mbctl state` on a real QEMU guest: a NAT (click-configs/chains/
//! nat.click, devices 0 and 1) between two namespaces carries real TCP
//! connections (curl to a Python HTTP server); its mapping table is read,
//! saved, deleted and put back over the state channel (the guest's second
//! virtio-console), bad requests fail clearly with the state untouched,
//! and the channel's throughput is measured.

use mb_tests_mbctl::{boot_between, can_run, ip, repo, Host};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// nat.click with the devices numbered and addresses for this test:
/// inside 10.78.0.0/24 (NAT at .1), outside 10.78.1.0/24 (NAT and its
/// public address at .1).
fn nat_config() -> String {
    let text =
        std::fs::read_to_string(repo().join("click-configs/chains/nat.click")).expect("nat.click");
    let start = text.find("define(").expect("a define block");
    let end = start + text[start..].find(");").expect("its end") + 2;
    format!(
        "{}define($IN_DEV 0, $OUT_DEV 1,
       $IN_MAC 02:6d:00:00:00:10, $OUT_MAC 02:6d:00:00:00:11,
       $IN_IP 10.78.0.1, $OUT_IP 10.78.1.1,
       $IN_ARP 10.78.0.1/32, $OUT_ARP 10.78.1.1/32,
       $PUBLIC 10.78.1.1);{}",
        &text[..start],
        &text[end..]
    )
}

#[test]
fn state_get_put_delete_over_the_state_channel() {
    if !can_run("state_get_put_delete_over_the_state_channel", true) {
        return;
    }
    let h = Host::new();
    let cfg = h.file("nat.click", &nat_config());
    let (_ns, l, r) = boot_between(&h, "st", &cfg, "nat", &[]);
    ip(&["-n", &l, "addr", "add", "10.78.0.2/24", "dev", "eth0"]);
    ip(&["-n", &l, "route", "add", "default", "via", "10.78.0.1"]);
    ip(&["-n", &r, "addr", "add", "10.78.1.2/24", "dev", "in0"]);
    let mut server = Command::new("ip")
        .args(["netns", "exec", &r, "python3", "-m", "http.server"])
        .args(["--bind", "10.78.1.2", "8000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 http.server");
    // Five connections, each its own mapping (curl picks a new port).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut done = 0;
    while done < 5 {
        assert!(Instant::now() < deadline, "no HTTP through the NAT");
        let ok = Command::new("ip")
            .args(["netns", "exec", &l, "curl", "-s", "-o", "/dev/null"])
            .args(["-m", "5", "http://10.78.1.2:8000/"])
            .status()
            .is_ok_and(|s| s.success());
        done += ok as usize;
    }
    let _ = server.kill();
    let _ = server.wait();

    let ls = h.ok(&["state", "ls", "nat"]);
    assert!(
        ls.contains("rw (IPRewriter): per-flow supporting") && ls.contains("movable loss-free"),
        "{ls}"
    );
    assert!(
        ls.contains("arp_in (ARPQuerier): shared supporting"),
        "{ls}"
    );
    let json = h.ok(&["state", "get", "nat", "rw", "--json"]);
    let flows: Vec<&str> = json
        .lines()
        .filter(|l| l.starts_with("{\"flow\""))
        .collect();
    assert!(flows.len() >= 5, "{json}");
    assert!(
        flows
            .iter()
            .all(|f| f.contains("[10,78,0,2]") && f.contains("[10,78,1,1]")),
        "{json}"
    );
    let tcp = h.ok(&["state", "get", "nat", "rw", "--filter", "tcp dst port 8000"]);
    assert!(tcp.contains(&format!("{} flow(s)", flows.len())), "{tcp}");

    // Bad requests: clear errors, nothing changed.
    let e = h.fails(&[
        "state",
        "get",
        "nat",
        "rw",
        "--filter",
        "tcp and dst prot 80",
    ]);
    assert!(
        e.contains("filter:1:13: expected a test, got 'prot'"),
        "{e}"
    );
    let e = h.fails(&["state", "get", "nat", "nope"]);
    assert!(e.contains("no element 'nope'"), "{e}");
    let e = h.fails(&["state", "get", "nat", "to_in"]);
    assert!(e.contains("keeps no state"), "{e}");
    let e = h.fails(&["state", "get", "nosuch", "rw"]);
    assert!(e.contains("nosuch"), "{e}");

    let saved = h.scratch.join("rw.state");
    let saved = saved.to_str().unwrap();
    h.ok(&["state", "get", "nat", "rw", "-o", saved]);
    let e = h.fails(&["state", "put", "nat", "arp_in", saved]);
    assert!(e.contains("IPRewriter") && e.contains("ARPQuerier"), "{e}");
    let del = h.ok(&[
        "state",
        "delete",
        "nat",
        "rw",
        "--filter",
        "src host 10.78.0.2",
    ]);
    assert!(
        del.contains(&format!("{} flow(s) deleted", flows.len())),
        "{del}"
    );
    assert!(h.ok(&["state", "get", "nat", "rw"]).contains(": 0 flow(s)"));
    let put = h.ok(&["state", "put", "nat", "rw", saved]);
    assert!(
        put.contains(&format!("{} flow(s) installed", flows.len())),
        "{put}"
    );
    assert_eq!(
        h.ok(&["state", "get", "nat", "rw", "--json"])
            .lines()
            .filter(|l| l.starts_with("{\"flow\""))
            .count(),
        flows.len()
    );
    // A second NAT takes the flows: the first keeps none.
    let (_ns2, _, _) = boot_between(&h, "su", &cfg, "nat2", &[]);
    let e = h.fails(&["state", "move", "nat", "nat2", "--element", "arp_in"]);
    assert!(e.contains("cannot move loss-free"), "{e}");
    let before = h.ok(&["state", "get", "nat", "rw", "--json"]);
    let moved = h.ok(&["state", "move", "nat", "nat2", "--filter", "tcp"]);
    println!("{moved}");
    assert!(
        moved.contains(&format!("nat -> nat2 rw: {} flow(s)", flows.len())),
        "{moved}"
    );
    let flow_lines = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("{\"flow\""))
            .map(|l| {
                // Idle times differ by the move's duration.
                let i = l.find("\"idle_ms\"").unwrap_or(l.len());
                l[..i].to_string()
            })
            .collect()
    };
    assert_eq!(
        flow_lines(&h.ok(&["state", "get", "nat2", "rw", "--json"])),
        flow_lines(&before)
    );
    assert!(h.ok(&["state", "get", "nat", "rw"]).contains(": 0 flow(s)"));
    // Clone: nat2 learns nat's ARP entries (the server's, from the
    // connections); a snapshot of nat2 restored into nat; then merge
    // nat2 back into nat: nat2 has nothing per flow.
    let cloned = h.ok(&["state", "clone", "nat", "nat2"]);
    assert!(cloned.contains("arp_out"), "{cloned}");
    let arp = h.ok(&["state", "get", "nat2", "arp_out", "--json"]);
    assert!(arp.contains("[10,78,1,2]"), "{arp}");
    let snap = h.scratch.join("nat2.snap");
    let snap = snap.to_str().unwrap();
    h.ok(&["state", "snapshot", "nat2", "-o", snap]);
    let restored = h.ok(&["state", "restore", "nat", snap]);
    assert!(
        restored.contains(&format!("{} flow(s)", flows.len())),
        "{restored}"
    );
    h.ok(&["state", "delete", "nat", "rw", "--filter", "-"]);
    let merged = h.ok(&["state", "merge", "nat2", "nat"]);
    assert!(
        merged.contains(&format!("nat2 -> nat rw: {} flow(s)", flows.len())),
        "{merged}"
    );
    assert!(h
        .ok(&["state", "get", "nat2", "rw"])
        .contains(": 0 flow(s)"));
    h.ok(&["stop", "nat2"]);

    let bench = h.ok(&["state", "bench", "nat", "--mb", "4"]);
    println!("state channel: {bench}");
    assert!(bench.contains(" MB/s"), "{bench}");
    h.ok(&["stop", "nat"]);
    h.assert_clean();
}

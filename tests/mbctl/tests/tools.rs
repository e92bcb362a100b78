//! The operator's tools around a running middlebox, on a real QEMU guest
//! (the firewall of `click-configs/firewall-vm.click`) between two network
//! namespaces: `mbctl capture` read back by tcpdump.

use mb_tests_mbctl::{can_run, ip, repo, Host, Netns};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A booted firewall `fw`: NIC 0 in namespace `inside` (10.77.0.1), NIC 1
/// in `outside` (10.77.0.2, interface in0).
struct Firewall {
    h: Host,
    inside: String,
    _ns: Netns,
}

impl Firewall {
    fn boot(tag: &str) -> Firewall {
        let h = Host::new();
        let id = std::process::id() % 100000;
        let (l, r) = (format!("mb{tag}l{id}"), format!("mb{tag}r{id}"));
        let ns = Netns::new(&[&l, &r]);
        let cfg = repo().join("click-configs/firewall-vm.click");
        let (nl, nr) = (format!("netns:{l}"), format!("netns:{r}:in0"));
        h.ok(&[
            "boot",
            cfg.to_str().unwrap(),
            "--name",
            "fw",
            "--accel",
            "tcg",
            "--nic",
            &nl,
            "--nic",
            &nr,
        ]);
        ip(&["-n", &l, "addr", "add", "10.77.0.1/24", "dev", "eth0"]);
        ip(&["-n", &r, "addr", "add", "10.77.0.2/24", "dev", "in0"]);
        Firewall {
            h,
            inside: l,
            _ns: ns,
        }
    }

    /// Pings outside from inside `n` times; insists every echo is answered.
    fn ping(&self, n: u32) {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.inside, "ping", "-c"])
            .arg(n.to_string())
            .args(["-i", "0.3", "-W", "5", "10.77.0.2"])
            .output()
            .expect("ping");
        assert!(
            o.status.success(),
            "ping through the firewall: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }

    fn finish(self) {
        self.h.ok(&["stop", "fw"]);
        self.h.assert_clean();
    }
}

/// Waits until a spawned capture says it listens (its first line on
/// standard error), so nothing sent after this is missed.
fn listening(c: &mut Child) {
    let err = c.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(err).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(
        first.contains("capturing on"),
        "capture did not start: {first}"
    );
    // The rest (the summary) is drained so the capture never blocks on it.
    std::thread::spawn(move || lines.for_each(drop));
}

/// Waits for a child, killing it (and failing) after `limit`.
fn finished(mut c: Child, limit: Duration, what: &str) -> Output {
    let t0 = Instant::now();
    while c.try_wait().expect("waiting").is_none() {
        if t0.elapsed() > limit {
            let _ = c.kill();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = c.wait_with_output().expect("output");
    assert!(o.status.success(), "{what}: {}", o.status);
    o
}

fn tcpdump(file: &std::path::Path) -> String {
    let o = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(file)
        .output()
        .expect("running tcpdump (apt-get install tcpdump)");
    assert!(
        o.status.success(),
        "tcpdump -r {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn capture_writes_pcaps_tcpdump_reads_and_filters_exclude() {
    if !can_run(
        "capture_writes_pcaps_tcpdump_reads_and_filters_exclude",
        true,
    ) {
        return;
    }
    let fw = Firewall::boot("c");
    let h = &fw.h;
    let spawn = |args: &[&str]| {
        let mut c = h.command(args);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut c = c.spawn().expect("spawning mbctl capture");
        listening(&mut c);
        c
    };
    // Everything on the outside NIC; only echo requests there; echo
    // replies on the inside NIC, streamed into tcpdump.
    let all = spawn(&["capture", "fw", "1", "-c", "8", "-w", "all.pcap"]);
    let req = spawn(&[
        "capture",
        "fw",
        "1",
        "-c",
        "4",
        "-w",
        "req.pcap",
        "--filter",
        "icmp type echo",
    ]);
    let mut piped = Command::new("sh");
    piped
        .arg("-c")
        .arg(format!(
            "'{}' capture fw 0 -c 3 --filter 'icmp type echo-reply' | tcpdump -n -r -",
            mb_tests_mbctl::mbctl().display()
        ))
        .env("MBCTL_RUN_DIR", &h.run)
        .current_dir(&h.scratch)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut piped = piped.spawn().expect("sh");
    listening(&mut piped);

    fw.ping(5);
    let limit = Duration::from_secs(30);
    finished(all, limit, "capture of everything");
    finished(req, limit, "capture of echo requests");
    let streamed = finished(piped, limit, "capture | tcpdump");

    let all = tcpdump(&h.scratch.join("all.pcap"));
    assert_eq!(all.lines().count(), 8, "{all}");
    assert!(
        all.contains("10.77.0.1 > 10.77.0.2: ICMP echo request"),
        "{all}"
    );
    assert!(
        all.contains("10.77.0.2 > 10.77.0.1: ICMP echo reply"),
        "{all}"
    );
    assert!(all.contains("ARP"), "{all}");

    let req = tcpdump(&h.scratch.join("req.pcap"));
    assert_eq!(req.lines().count(), 4, "{req}");
    assert!(
        req.lines()
            .all(|l| l.contains("10.77.0.1 > 10.77.0.2: ICMP echo request")),
        "the filter let other frames through:\n{req}"
    );

    let streamed = String::from_utf8_lossy(&streamed.stdout);
    assert_eq!(streamed.lines().count(), 3, "{streamed}");
    assert!(
        streamed
            .lines()
            .all(|l| l.contains("10.77.0.2 > 10.77.0.1: ICMP echo reply")),
        "{streamed}"
    );

    // What the guest let through is what the capture saw leave it.
    let allowed: u64 = h
        .ok(&["read", "fw", "allowed.count"])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(allowed, 5);

    // Errors name what is wrong and leave no file behind.
    let e = h.fails(&["capture", "fw", "7", "-w", "x.pcap"]);
    assert!(e.contains("no NIC 7"), "{e}");
    let e = h.fails(&["capture", "fw", "0", "--filter", "icmp and", "-w", "x.pcap"]);
    assert!(e.contains("filter 'icmp and'"), "{e}");
    let e = h.fails(&["capture", "nosuch", "0", "-w", "x.pcap"]);
    assert!(e.contains("no middlebox named 'nosuch'"), "{e}");
    assert!(!h.scratch.join("x.pcap").exists());
    fw.finish();
}

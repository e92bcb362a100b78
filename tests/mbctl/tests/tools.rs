//! The operator's tools around a running middlebox, on a real QEMU guest
//! (the firewall of `click-configs/firewall-vm.click`) between two network
//! namespaces: `mbctl capture` read back by tcpdump, the agent's
//! Prometheus metrics scraped with curl.

use mb_tests_mbctl::{boot_between, can_run, ip, ping_ok, repo, Host, Netns};
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
        Firewall::boot_on(Host::new(), tag)
    }

    fn boot_on(h: Host, tag: &str) -> Firewall {
        let cfg = repo().join("click-configs/firewall-vm.click");
        let (ns, l, r) = boot_between(&h, tag, &cfg, "fw", &[]);
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
        ping_ok(&self.inside, "10.77.0.2", n, "the firewall");
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

/// A local address with a port free a moment ago.
fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// `curl http://ADDR/metrics`: the body of a 200 answer.
fn scrape(addr: &str) -> String {
    let o = Command::new("curl")
        .args(["-sfS", "--max-time", "20"])
        .arg(format!("http://{addr}/metrics"))
        .output()
        .expect("running curl (apt-get install curl)");
    assert!(
        o.status.success(),
        "curl {addr}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 metrics")
}

/// The value of sample `key` (name and labels as written) in `text`.
fn sample(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "waited in vain for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn metrics_rise_during_a_ping_and_match_read_and_ls() {
    if !can_run("metrics_rise_during_a_ping_and_match_read_and_ls", true) {
        return;
    }
    let h = Host::new();
    let addr = free_addr();
    // The agent in the foreground with --metrics; the boot uses it.
    let mut agent = h
        .command(&["agent", "--metrics", &addr])
        .stderr(Stdio::null())
        .spawn()
        .expect("mbctl agent");
    wait_for("the agent", || h.run.join("agent.pid").exists());
    let fw = Firewall::boot_on(h, "m");
    let h = &fw.h;
    let rx0 = r#"mb_nic_rx_packets_total{vm="fw",nic="0"}"#;
    let tx1 = r#"mb_nic_tx_packets_total{vm="fw",nic="1"}"#;
    let allowed = r#"mb_element_count_total{vm="fw",element="allowed"}"#;

    let before = scrape(&addr);
    for line in [
        "# HELP mb_nic_rx_packets_total Frames the guest received on the NIC.",
        "# TYPE mb_nic_rx_packets_total counter",
        "# TYPE mb_element_count_total counter",
        r#"mb_vm_state{vm="fw",state="running"} 1"#,
        r#"mb_vm_memory_bytes{vm="fw"} 16777216"#, // 16M, boot's default
    ] {
        assert!(before.lines().any(|l| l == line), "no {line} in:\n{before}");
    }
    assert_eq!(sample(&before, allowed), Some(0), "{before}");
    assert!(sample(&before, r#"mb_vm_uptime_seconds{vm="fw"}"#).is_some());
    // Counters of every element that has them, read from the guest.
    for e in ["denied", "back"] {
        let key = format!("mb_element_count_total{{vm=\"fw\",element=\"{e}\"}}");
        assert!(sample(&before, &key).is_some(), "no {key} in:\n{before}");
    }

    let ping = Command::new("ip")
        .args(["netns", "exec", &fw.inside, "ping", "-c", "8", "-i", "0.5"])
        .args(["-W", "5", "10.77.0.2"])
        .stdout(Stdio::null())
        .spawn()
        .expect("ping");
    std::thread::sleep(Duration::from_millis(2500));
    let during = scrape(&addr);
    let st = finished(ping, Duration::from_secs(30), "ping");
    assert!(st.status.success());
    // The guest publishes NIC counters about once a second.
    std::thread::sleep(Duration::from_millis(2500));
    // NIC counters keep moving (ARP, neighbour probes): `ls` before and
    // after the scrape brackets what it must say.
    let ls_before = h.ok(&["ls", "--json"]);
    let after = scrape(&addr);

    let at = |t: &str, k: &str| sample(t, k).unwrap_or_else(|| panic!("no {k} in:\n{t}"));
    assert!(at(&during, allowed) > 0, "{during}");
    assert!(
        at(&during, allowed) < 8,
        "scraped after the ping ended?\n{during}"
    );
    assert_eq!(at(&after, allowed), 8);
    assert!(at(&before, rx0) < at(&during, rx0) && at(&during, rx0) < at(&after, rx0));
    assert!(at(&after, tx1) >= 8);

    // The same numbers as mbctl's own commands.
    let read: u64 = h
        .ok(&["read", "fw", "allowed.count"])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(at(&after, allowed), read);
    let ls_after = h.ok(&["ls", "--json"]);
    let rx =
        |ls: &str| mb_tests_mbctl::json_int(ls, "rx_packets").expect("rx_packets in ls --json");
    let scraped = at(&after, rx0) as i64;
    assert!(
        rx(&ls_before) <= scraped && scraped <= rx(&ls_after),
        "NIC 0 rx: ls said {} then {}, /metrics {scraped}\n{after}",
        rx(&ls_before),
        rx(&ls_after)
    );
    fw.finish();
    let _ = agent.wait();
}

#[test]
fn mbctl_metrics_turns_on_the_endpoint_of_a_started_agent() {
    if !can_run(
        "mbctl_metrics_turns_on_the_endpoint_of_a_started_agent",
        false,
    ) {
        return;
    }
    let h = Host::new();
    let addr = free_addr();
    // The first command starts the agent, which inherits the variable.
    let o = h
        .command(&["ls"])
        .env("MBCTL_METRICS", &addr)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // No middleboxes: an empty page, but a page.
    assert_eq!(scrape(&addr), "");
    let log = std::fs::read_to_string(h.run.join("agent.log")).unwrap_or_default();
    assert!(
        log.contains(&format!("metrics on http://{addr}/metrics")),
        "{log}"
    );
    // A taken port stops an agent from starting, saying why.
    let h2 = Host::new();
    let o = h2.command(&["agent", "--metrics", &addr]).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("serving metrics on {addr}")), "{err}");
    assert!(!h2.run.join("agent.pid").exists());
}

#[test]
fn an_installed_mbctl_boots_the_image_installed_next_to_it() {
    if !can_run(
        "an_installed_mbctl_boots_the_image_installed_next_to_it",
        false,
    ) {
        return;
    }
    // The layout `make install PREFIX=...` makes, without a checkout near.
    let h = Host::new();
    let prefix = h.scratch.join("prefix");
    let bin = prefix.join("bin/mbctl");
    let img = prefix.join("share/mb/mb.elf");
    for (from, to) in [
        (mb_tests_mbctl::mbctl(), &bin),
        (mb_tests_mbctl::image(), &img),
    ] {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
    let cfg = h.file("idle.click", "Idle -> Discard;\n");
    let o = Command::new(&bin)
        .args([
            "boot",
            cfg.to_str().unwrap(),
            "--name",
            "idle",
            "--accel",
            "tcg",
        ])
        .env("MBCTL_RUN_DIR", &h.run)
        .env_remove("MB_IMAGE")
        .env_remove("XENSTORED_PATH")
        .current_dir(&h.scratch)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let show = h.ok(&["show", "idle", "--json"]);
    assert!(
        show.contains(&format!("\"image\":\"{}\"", img.display())),
        "{show}"
    );
    h.ok(&["stop", "idle"]);
    h.assert_clean();
}

//! Real clients through `mbctl run`: two network namespaces joined by a
//! FromDevice/ToDevice bridge over veth pairs; `ping` must get through and
//! the bridge's counters must match what the interfaces received.
//! Needs root: skipped with a message otherwise (never under CI).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use mb_tests_host::{in_ci, is_root, mbctl, Scratch};

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn must(args: &[&str]) {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect(args[0]);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Namespaces and host-side veths, removed even when the test fails.
struct Net {
    ns: [String; 2],
    host: [String; 2],
}

impl Drop for Net {
    fn drop(&mut self) {
        for n in &self.ns {
            sh(&["ip", "netns", "del", n]);
        }
        for h in &self.host {
            sh(&["ip", "link", "del", h]);
        }
    }
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rx_packets(dev: &str) -> u64 {
    std::fs::read_to_string(format!("/sys/class/net/{dev}/statistics/rx_packets"))
        .expect("interface statistics")
        .trim()
        .parse()
        .expect("a number")
}

#[test]
fn ping_through_a_counting_bridge() {
    if !is_root() || !sh(&["ip", "-V"]) || !sh(&["ping", "-V"]) {
        assert!(
            !in_ci(),
            "CI must run this test as root with iproute2 and ping"
        );
        println!("SKIP ping_through_a_counting_bridge: needs root, ip and ping");
        return;
    }
    let id = std::process::id() % 10000;
    let net = Net {
        ns: [format!("mbA{id}"), format!("mbB{id}")],
        host: [format!("mbhA{id}"), format!("mbhB{id}")],
    };
    let inner = ["eth0", "eth0"];
    let addrs = ["10.77.0.1/24", "10.77.0.2/24"];
    for i in 0..2 {
        let (ns, host) = (&net.ns[i], &net.host[i]);
        must(&["ip", "netns", "add", ns]);
        must(&[
            "ip", "link", "add", host, "type", "veth", "peer", "name", "mbtmp", "netns", ns,
        ]);
        must(&["ip", "-n", ns, "link", "set", "mbtmp", "name", inner[i]]);
        // No IPv6: its autoconfiguration chatter would blur the counts.
        must(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{host}.disable_ipv6=1"),
        ]);
        must(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
        ]);
        must(&["ip", "-n", ns, "addr", "add", addrs[i], "dev", inner[i]]);
        must(&["ip", "-n", ns, "link", "set", inner[i], "up"]);
        must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        must(&["ip", "link", "set", host, "up"]);
    }
    let d = Scratch::new("netns");
    // The DriverManager prints "ready" once every element is initialized
    // (sockets open), then waits; SIGTERM ends the run.
    let cfg = format!(
        "FromDevice({a}) -> ab :: Counter -> Queue -> ToDevice({b});\n\
         FromDevice({b}) -> ba :: Counter -> ToDevice({a});\n\
         DriverManager(print \"ready\", pause, stop);",
        a = net.host[0],
        b = net.host[1]
    );
    std::fs::write(d.join("bridge.click"), &cfg).unwrap();
    let child = Command::new(mbctl())
        .args(["run", "bridge.click", "-h", "ab.count", "-h", "ba.count"])
        .current_dir(&d.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting mbctl run");
    let mut bridge = Kill(child);
    let mut out = BufReader::new(bridge.0.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("reading mbctl's output");
    assert_eq!(first, "ready\n", "mbctl did not start");
    let ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &net.ns[0],
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-w",
            "15",
            "10.77.0.2",
        ])
        .output()
        .expect("running ping");
    let ping_out = String::from_utf8_lossy(&ping.stdout).into_owned();
    assert!(ping.status.success(), "ping failed:\n{ping_out}");
    // With a deadline, -c counts replies; requests sent while the first
    // ARP waited for the bridge are answered too.
    let received: u32 = ping_out
        .split(", ")
        .find_map(|part| part.strip_suffix(" received")?.parse().ok())
        .unwrap_or(0);
    assert!(received >= 3, "{ping_out}");

    // SIGTERM ends the run cleanly and prints the handlers.
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(bridge.0.id() as i32, libc::SIGTERM) };
    let mut text = String::new();
    out.read_to_string(&mut text).expect("mbctl output");
    let status = bridge.0.wait().expect("mbctl exit");
    assert!(status.success(), "mbctl exited with {status}");
    let count = |h: &str| -> u64 {
        let mut lines = text.lines();
        lines.find(|l| *l == format!("{h}:"));
        lines
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {h} in:\n{text}"))
    };
    let (ab, ba) = (count("ab.count"), count("ba.count"));
    // Every frame each host-side interface received went through the bridge.
    assert_eq!(ab, rx_packets(&net.host[0]), "A -> B");
    assert_eq!(ba, rx_packets(&net.host[1]), "B -> A");
    // At least the three echo requests and three replies.
    assert!(ab >= 3 && ba >= 3, "ab={ab} ba={ba}");
}

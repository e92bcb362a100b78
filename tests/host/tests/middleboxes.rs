//! The example middleboxes of `click-configs/` run by `mbctl run` between
//! network namespaces joined by veth pairs, with real clients and servers
//! on either side: a firewall (ping, curl), a NAT (iperf3, ping) and a load
//! balancer (curl). The middlebox answers ARP and resolves its next hops
//! itself; the hosts only have a default route through it.
//!
//! Needs root and iproute2, ethtool, ping, curl, iperf3, python3: skipped
//! with a SKIP line otherwise, except under CI, where that is a failure.

use std::time::Duration;

use mb_tests_host::netns::{require, Daemon, Lab};
use mb_tests_host::{mbctl, repo, Scratch};

const TOOLS: &[&str] = &["ip", "ethtool", "ss", "timeout", "ping", "curl", "python3"];

/// Interface names, addresses and MACs, as the configurations' defaults.
const INSIDE_MAC: &str = "02:00:0a:01:00:01";
const OUTSIDE_MAC: &str = "02:00:0a:02:00:01";

/// A client namespace `inside` (10.1.0.2) and a server namespace `outside`
/// (10.2.0.2) on either side of namespace `mb`, whose interfaces DEV_IN and
/// DEV_OUT carry the middlebox's MACs and no addresses. The server routes
/// through the middlebox only when `server_route` is set.
fn two_sided(lab: &mut Lab, dev_in: &str, dev_out: &str, server_route: bool) {
    for ns in ["inside", "mb", "outside"] {
        lab.add_ns(ns);
    }
    lab.veth("inside", "eth0", "mb", dev_in);
    lab.veth("mb", dev_out, "outside", "eth0");
    lab.ip("mb", &["link", "set", dev_in, "address", INSIDE_MAC]);
    lab.ip("mb", &["link", "set", dev_out, "address", OUTSIDE_MAC]);
    lab.ip("inside", &["addr", "add", "10.1.0.2/24", "dev", "eth0"]);
    lab.ip("inside", &["route", "add", "default", "via", "10.1.0.1"]);
    lab.ip("outside", &["addr", "add", "10.2.0.2/24", "dev", "eth0"]);
    if server_route {
        lab.ip("outside", &["route", "add", "default", "via", "10.2.0.1"]);
    }
}

/// Starts `mbctl run CONFIG DEFS... -h HANDLERS...` in namespace `mb` and
/// waits for the configuration's "ready" line.
fn start_middlebox(lab: &Lab, config: &str, defs: &[&str], handlers: &[&str]) -> Daemon {
    let exe = mbctl();
    let path = repo().join("click-configs").join(config);
    let mut args = vec![
        exe.to_str().unwrap().to_string(),
        "run".into(),
        path.to_str().unwrap().to_string(),
    ];
    args.extend(defs.iter().map(|d| d.to_string()));
    for h in handlers {
        args.push("-h".into());
        args.push(h.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut mb = lab.spawn("mb", &args);
    mb.expect_line("ready", Duration::from_secs(20));
    mb
}

/// Stops the middlebox and returns its `-h` handler values by name.
fn stop_middlebox(mb: Daemon) -> Handlers {
    let (status, out) = mb.terminate(Duration::from_secs(10));
    assert!(status.success(), "mbctl run exited with {status}:\n{out}");
    Handlers(out)
}

struct Handlers(String);

impl Handlers {
    fn count(&self, name: &str) -> u64 {
        let mut lines = self.0.lines();
        lines.find(|l| *l == format!("{name}:"));
        lines
            .next()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{}", self.0))
    }

    fn text(&self, name: &str) -> String {
        let start = format!("{name}:\n");
        let i = self
            .0
            .find(&start)
            .unwrap_or_else(|| panic!("no {name} in:\n{}", self.0));
        let rest = &self.0[i + start.len()..];
        // A value ends where the next `element.handler:` line starts.
        let end = rest
            .lines()
            .position(|l| l.ends_with(':') && l.contains('.') && !l.contains(' '))
            .map_or(rest.len(), |n| {
                rest.lines().take(n).map(|l| l.len() + 1).sum()
            });
        rest[..end].to_string()
    }
}

/// `curl ARGS` in namespace `ns` (connect within 5 s, done within 10 s).
fn curl(lab: &Lab, ns: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = vec!["curl", "-sS", "--connect-timeout", "5", "--max-time", "10"];
    cmd.extend_from_slice(args);
    lab.run(ns, 15, &cmd)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The firewall lets pings and web requests out and their replies back,
/// rejects another port outbound and pings inbound with ICMP "prohibited"
/// errors, and counts each verdict.
#[test]
fn firewall_allows_and_rejects_real_clients() {
    if !require("firewall_allows_and_rejects_real_clients", TOOLS) {
        return;
    }
    let mut lab = Lab::new();
    two_sided(&mut lab, "fw-in", "fw-out", true);
    let www = Scratch::new("firewall-www");
    std::fs::write(www.join("hello.txt"), "hello through the firewall\n").unwrap();
    let serve = |port: &str| {
        lab.spawn(
            "outside",
            &[
                "python3",
                "-m",
                "http.server",
                port,
                "--bind",
                "10.2.0.2",
                "--directory",
                www.0.to_str().unwrap(),
            ],
        )
    };
    let _web = serve("80");
    let _alt = serve("8080");
    lab.wait_listening("outside", 80, Duration::from_secs(15));
    lab.wait_listening("outside", 8080, Duration::from_secs(15));
    let mb = start_middlebox(
        &lab,
        "firewall-live.click",
        &["INSIDE_DEV=fw-in", "OUTSIDE_DEV=fw-out"],
        &[
            "pass_out.count",
            "pass_in.count",
            "deny_out.count",
            "deny_in.count",
        ],
    );

    // Ping out: requests allowed out, replies allowed in.
    let o = lab.run(
        "inside",
        15,
        &["ping", "-c", "3", "-i", "0.2", "-w", "10", "10.2.0.2"],
    );
    assert!(o.status.success(), "ping out:\n{}", text(&o.stdout));

    // Web out: the page arrives whole.
    let url = "http://10.2.0.2:80/hello.txt";
    let o = curl(&lab, "inside", &[url]);
    assert!(o.status.success(), "curl :80: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "hello through the firewall\n");

    // Port 8080 serves the outside network itself ...
    let o = curl(&lab, "outside", &["http://10.2.0.2:8080/hello.txt"]);
    assert!(o.status.success(), "local curl :8080: {}", text(&o.stderr));
    // ... but the firewall rejects it from inside: the SYN's ICMP
    // "prohibited" error makes the connect fail at once (curl status 7,
    // not a timeout).
    let o = curl(&lab, "inside", &["http://10.2.0.2:8080/hello.txt"]);
    assert_eq!(o.status.code(), Some(7), "curl :8080: {}", text(&o.stderr));

    // Pings in are rejected: the outside host sees "Packet filtered".
    let o = lab.run("outside", 15, &["ping", "-c", "1", "-w", "5", "10.1.0.2"]);
    assert!(
        !o.status.success(),
        "ping in got through:\n{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stdout).contains("Packet filtered"),
        "ping in:\n{}",
        text(&o.stdout)
    );

    let h = stop_middlebox(mb);
    // One SYN rejected out (curl does not retry after the error), one
    // echo request rejected in.
    assert_eq!(h.count("deny_out.count"), 1, "{}", h.0);
    assert_eq!(h.count("deny_in.count"), 1, "{}", h.0);
    // 3 echo requests + the web connection's segments each way, at least.
    assert!(h.count("pass_out.count") >= 6, "{}", h.0);
    assert!(h.count("pass_in.count") >= 6, "{}", h.0);
}

/// iperf3's TCP stream through the NAT completes, and the server, which
/// has no route to the inside network, sees the NAT's public address as
/// its peer. Pings are translated too.
#[test]
fn nat_carries_an_iperf3_stream_from_its_public_address() {
    if !require(
        "nat_carries_an_iperf3_stream_from_its_public_address",
        &[TOOLS, &["iperf3"]].concat(),
    ) {
        return;
    }
    let mut lab = Lab::new();
    two_sided(&mut lab, "nat-in", "nat-out", false);
    let server = lab.spawn("outside", &["iperf3", "-s", "-1", "-J", "-p", "5201"]);
    lab.wait_listening("outside", 5201, Duration::from_secs(15));
    let mb = start_middlebox(
        &lab,
        "nat.click",
        &["INSIDE_DEV=nat-in", "OUTSIDE_DEV=nat-out"],
        &["outbound.count", "inbound.count", "rw.tcp_table"],
    );

    let o = lab.run(
        "inside",
        15,
        &["ping", "-c", "2", "-i", "0.2", "-w", "10", "10.2.0.2"],
    );
    assert!(
        o.status.success(),
        "ping through the NAT:\n{}",
        text(&o.stdout)
    );

    let o = lab.run(
        "inside",
        30,
        &[
            "iperf3",
            "-c",
            "10.2.0.2",
            "-p",
            "5201",
            "-t",
            "2",
            "-J",
            "--connect-timeout",
            "5000",
        ],
    );
    let client = text(&o.stdout);
    assert!(o.status.success(), "iperf3 client failed:\n{client}");
    let (status, report) = server
        .wait(Duration::from_secs(15))
        .expect("iperf3 server did not finish its one test");
    assert!(status.success(), "iperf3 server:\n{report}");

    // The server's peer (control and data connections) is the NAT.
    let peers = json_strings(&report, "remote_host");
    assert!(
        !peers.is_empty(),
        "no peer in the server's report:\n{report}"
    );
    assert!(
        peers.iter().all(|p| p == "10.2.0.1"),
        "server saw {peers:?}"
    );
    // The client spoke from its own inside address.
    assert!(
        json_strings(&client, "local_host")
            .iter()
            .all(|a| a == "10.1.0.2"),
        "{client}"
    );
    // And the data arrived: the server received what the client sent.
    let sent = json_number_after(&client, "\"sum_sent\"", "bytes");
    let received = json_number_after(&report, "\"sum_received\"", "bytes");
    assert!(sent > 0.0, "{client}");
    assert!(
        received > 0.0 && received <= sent,
        "sent {sent}, received {received}"
    );

    let h = stop_middlebox(mb);
    assert!(h.count("outbound.count") > 2, "{}", h.0);
    assert!(h.count("inbound.count") > 2, "{}", h.0);
    // The mappings are from the inside host to the public address.
    let table = h.text("rw.tcp_table");
    assert!(
        table.contains("10.1.0.2") && table.contains("10.2.0.1"),
        "{table}"
    );
}

/// Every `"KEY": "VALUE"` string in a JSON text.
fn json_strings(json: &str, key: &str) -> Vec<String> {
    let pat = format!("\"{key}\":");
    json.match_indices(&pat)
        .filter_map(|(i, _)| {
            let rest = json[i + pat.len()..].trim_start().strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_string())
        })
        .collect()
}

/// The first number for `"KEY":` after `anchor` in a JSON text.
fn json_number_after(json: &str, anchor: &str, key: &str) -> f64 {
    let from = json
        .find(anchor)
        .unwrap_or_else(|| panic!("no {anchor} in:\n{json}"));
    let pat = format!("\"{key}\":");
    let i = json[from..].find(&pat).expect("key") + from + pat.len();
    let rest = json[i..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-' || c == '+'))
        .unwrap_or(rest.len());
    rest[..end].parse().expect("a number")
}

/// An HTTP/1.1 server (keep-alive) answering every GET with its name and
/// the peer it sees, `NAME ADDR:PORT`.
const BACKEND: &str = r#"
import http.server, sys
name, addr = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("%s %s:%d\n" % (name, self.client_address[0], self.client_address[1])).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((addr, 80), H).serve_forever()
"#;

/// Twenty connections to the virtual IP are spread over both backends;
/// each connection (two requests over one kept-alive TCP connection)
/// stays on one backend, which sees the client's own address and port.
#[test]
fn load_balancer_spreads_connections_over_two_backends() {
    if !require("load_balancer_spreads_connections_over_two_backends", TOOLS) {
        return;
    }
    let mut lab = Lab::new();
    for ns in ["client", "mb", "switch", "be1", "be2"] {
        lab.add_ns(ns);
    }
    lab.veth("client", "eth0", "mb", "lb-front");
    lab.veth("mb", "lb-back", "switch", "p0");
    lab.veth("be1", "eth0", "switch", "p1");
    lab.veth("be2", "eth0", "switch", "p2");
    lab.ip(
        "mb",
        &["link", "set", "lb-front", "address", "02:00:0a:03:00:01"],
    );
    lab.ip(
        "mb",
        &["link", "set", "lb-back", "address", "02:00:0a:04:00:01"],
    );
    // The backends share one LAN: a bridge in namespace `switch`.
    lab.ip("switch", &["link", "add", "br0", "type", "bridge"]);
    for p in ["p0", "p1", "p2"] {
        lab.ip("switch", &["link", "set", p, "master", "br0"]);
    }
    lab.ip("switch", &["link", "set", "br0", "up"]);
    lab.ip("client", &["addr", "add", "10.3.0.2/24", "dev", "eth0"]);
    lab.ip("client", &["route", "add", "default", "via", "10.3.0.1"]);
    for (ns, addr) in [("be1", "10.4.0.2"), ("be2", "10.4.0.3")] {
        lab.ip(ns, &["addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
        lab.ip(ns, &["route", "add", "default", "via", "10.4.0.1"]);
    }
    let _be1 = lab.spawn("be1", &["python3", "-c", BACKEND, "be1", "10.4.0.2"]);
    let _be2 = lab.spawn("be2", &["python3", "-c", BACKEND, "be2", "10.4.0.3"]);
    lab.wait_listening("be1", 80, Duration::from_secs(15));
    lab.wait_listening("be2", 80, Duration::from_secs(15));
    let mb = start_middlebox(
        &lab,
        "loadbalancer.click",
        &["FRONT_DEV=lb-front", "BACK_DEV=lb-back"],
        &["to_service.count", "lb.table_size"],
    );

    let mut per_backend = [0u32; 2];
    for i in 0..20 {
        // Two URLs in one curl run share a kept-alive connection.
        let o = curl(
            &lab,
            "client",
            &[
                "-w",
                "%{local_port} %{num_connects}\n",
                "http://10.3.0.100/a",
                "http://10.3.0.100/b",
            ],
        );
        let out = text(&o.stdout);
        assert!(o.status.success(), "connection {i}: {}", text(&o.stderr));
        // NAME 10.3.0.2:PORT / LOCALPORT CONNECTS, twice.
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "connection {i}:\n{out}");
        let (first, second) = (
            lines[0].split_whitespace().collect::<Vec<_>>(),
            lines[2].split_whitespace().collect::<Vec<_>>(),
        );
        let (w1, w2) = (
            lines[1].split_whitespace().collect::<Vec<_>>(),
            lines[3].split_whitespace().collect::<Vec<_>>(),
        );
        // One TCP connection: connected once, reused by the second request.
        assert_eq!((w1[1], w2[1]), ("1", "0"), "connection {i}:\n{out}");
        assert_eq!(w1[0], w2[0], "connection {i}:\n{out}");
        // Both requests reached the same backend, which saw the client's
        // own address and port (no source rewriting).
        assert_eq!(first[0], second[0], "connection {i} moved:\n{out}");
        let peer = format!("10.3.0.2:{}", w1[0]);
        assert_eq!(
            (first[1], second[1]),
            (&*peer, &*peer),
            "connection {i}:\n{out}"
        );
        match first[0] {
            "be1" => per_backend[0] += 1,
            "be2" => per_backend[1] += 1,
            other => panic!("unknown backend {other}"),
        }
    }
    // Round robin: every new connection goes to the next backend.
    assert_eq!(per_backend, [10, 10], "connections per backend");

    let h = stop_middlebox(mb);
    // Each connection is one mapping (two directions' entries in one).
    assert_eq!(h.count("lb.table_size"), 20, "{}", h.0);
    assert!(h.count("to_service.count") >= 20 * 5, "{}", h.0);
}

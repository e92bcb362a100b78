//! Chains of middleboxes between network namespaces, with real clients:
//! `ping`, `curl` and `iperf3` through firewall -> NAT, 20 connections
//! through firewall -> NAT -> load balancer to two web servers, and a
//! `chain up` that fails halfway. Every hop is a middlebox VM (QEMU, KVM
//! or TCG) booted by `mbctl boot` from `$MB_IMAGE` or `make image`. After
//! each, nothing of the chain may be left: no QEMU, tap, bridge, rule or
//! namespace. Needs root, Open vSwitch and QEMU (SKIP otherwise, never
//! under CI).

use mb_tests_chains::*;

fn id() -> u32 {
    std::process::id() % 100_000
}

/// A chain file: `client` on the left in 10.NET.1.0/24, the right side's
/// `netns` and `address` (TOML values) in 10.NET.2.0/24, and a firewall
/// then a NAT whose public address is 10.NET.2.1.
fn fw_nat_on(name: &str, net: u8, client: &str, netns: &str, address: &str) -> String {
    format!(
        r#"name = "{name}"
[left]
netns = "{client}"
address = "10.{net}.1.2/24"
gateway = "10.{net}.1.1"
[right]
netns = {netns}
address = {address}
gateway = "10.{net}.2.1"
route = false
[[hop]]
name = "fw"
config = "{fw}"
[[hop]]
name = "nat"
config = "{nat}"
defines = {{ PUBLIC = "10.{net}.2.1" }}
"#,
        fw = config("firewall.click"),
        nat = config("nat.click")
    )
}

/// Firewall then NAT between `client` (10.31.1.2) and `server` (10.31.2.2).
fn fw_nat(name: &str, client: &str, server: &str) -> String {
    fw_nat_on(
        name,
        31,
        client,
        &format!("\"{server}\""),
        "\"10.31.2.2/24\"",
    )
}

/// `chain show --json`'s counters: (hop, l->r in, l->r out, r->l in,
/// r->l out, dropped).
fn counters(c: &Chain) -> Vec<(String, [u64; 5])> {
    let o = c.mbctl(&["chain", "show", &c.name, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("chain show --json");
    assert_eq!(v["name"], c.name.as_str());
    let n = |h: &serde_json::Value, k: &str| h[k].as_u64().unwrap_or_else(|| panic!("{k}: {h}"));
    v["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|h| {
            assert!(h["state"].as_str().unwrap().starts_with("vm "), "{h}");
            let name = h["name"].as_str().unwrap().to_string();
            let k = ["l2r_in", "l2r_out", "r2l_in", "r2l_out", "dropped"];
            (name, k.map(|k| n(h, k)))
        })
        .collect()
}

#[test]
fn firewall_then_nat_with_ping_curl_and_iperf3() {
    if skip("firewall_then_nat_with_ping_curl_and_iperf3") {
        return;
    }
    let (client, server) = (format!("mbtc{}", id()), format!("mbts{}", id()));
    let mut c = Chain::new(&format!("fn{}", id()));
    let o = c.up(&fw_nat(&c.name, &client, &server));
    assert!(o.status.success(), "chain up: {}", text(&o));
    // Each hop's progress on standard error, in order; the result on
    // standard output.
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let mut at = 0;
    for hop in ["fw", "nat"] {
        for step in [
            format!("hop {hop}: booting {}-{hop} ... running (", c.name),
            format!("hop {hop}: wired to "),
        ] {
            let i = err[at..]
                .find(&step)
                .unwrap_or_else(|| panic!("no {step:?} after byte {at} in:\n{err}"));
            at += i + step.len();
        }
    }
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with(&format!("chain {} up: 2 hop(s)", c.name)),
        "{out}"
    );
    assert!(!out.contains("booting"), "{out}");
    let ls = c.mbctl(&["chain", "ls"]);
    assert!(
        text(&ls).contains(&c.name) && text(&ls).contains(" up"),
        "{}",
        text(&ls)
    );
    let ls = c.mbctl(&["chain", "ls", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&ls.stdout).expect("chain ls --json");
    let me = v
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == c.name.as_str())
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(me["backend"], "vm");
    assert_eq!(me["hops"], 2);
    assert_eq!(me["state"], "up");

    // ping crosses both hops (the NAT rewrites the echo identifier).
    let p = in_ns(
        &client,
        &["ping", "-c", "3", "-i", "0.2", "-w", "20", "10.31.2.2"],
    );
    assert!(p.status.success(), "ping: {}", text(&p));

    // Web: port 80 is allowed, port 8080 is refused by the firewall.
    let www = c.run.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "through the chain\n").unwrap();
    let www = www.to_str().unwrap();
    let _h80 = spawn_in(
        &server,
        &[
            "python3",
            "-m",
            "http.server",
            "80",
            "--bind",
            "10.31.2.2",
            "-d",
            www,
        ],
        &c.run.join("http80.log"),
    );
    let _h8080 = spawn_in(
        &server,
        &[
            "python3",
            "-m",
            "http.server",
            "8080",
            "--bind",
            "10.31.2.2",
            "-d",
            www,
        ],
        &c.run.join("http8080.log"),
    );
    wait_listening(&server, 80);
    wait_listening(&server, 8080);
    let ok = in_ns(&client, &["curl", "-sS", "-m", "10", "http://10.31.2.2/"]);
    assert!(ok.status.success(), "curl port 80: {}", text(&ok));
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "through the chain\n");
    let blocked = in_ns(
        &client,
        &["curl", "-sS", "-m", "10", "http://10.31.2.2:8080/"],
    );
    assert!(!blocked.status.success(), "port 8080 passed the firewall");
    // Refused by the firewall's ICMP error, not timed out.
    assert_eq!(blocked.status.code(), Some(7), "{}", text(&blocked));
    let log8080 = std::fs::read_to_string(c.run.join("http8080.log")).unwrap();
    assert!(
        !log8080.contains("GET"),
        "the 8080 server saw a request: {log8080}"
    );

    // iperf3 TCP completes, and the server sees the NAT's public address.
    let slog = c.run.join("iperf3-server.log");
    let mut srv = spawn_in(
        &server,
        &["iperf3", "-s", "-1", "--forceflush", "-B", "10.31.2.2"],
        &slog,
    );
    wait_listening(&server, 5201);
    let ip = in_ns(&client, &["iperf3", "-c", "10.31.2.2", "-t", "2"]);
    assert!(ip.status.success(), "iperf3: {}", text(&ip));
    assert!(text(&ip).contains("receiver"), "{}", text(&ip));
    // With -1 the server exits after its one test, its log complete.
    let st = srv.0.wait().expect("iperf3 server");
    assert!(st.success(), "iperf3 server: {st}");
    let seen = std::fs::read_to_string(&slog).unwrap();
    assert!(
        seen.contains("Accepted connection from 10.31.2.1"),
        "server log: {seen}"
    );
    let http = std::fs::read_to_string(c.run.join("http80.log")).unwrap();
    assert!(http.contains("10.31.2.1 - - "), "HTTP server log: {http}");

    // Counters: the link between the hops creates no packets: the NAT
    // got at most what the firewall sent on (under iperf3's load a few are
    // lost in the devices' queues, uncounted), and the other way round.
    let k = counters(&c);
    assert_eq!(k.len(), 2, "{k:?}");
    let (fw, nat) = (k[0].1, k[1].1);
    assert!(nat[0] <= fw[1], "fw l->r out vs nat l->r in: {k:?}");
    assert!(fw[2] <= nat[3], "nat r->l out vs fw r->l in: {k:?}");
    // Each hop passed on most of what it received (the firewall dropped
    // only the refused port-8080 SYNs, answered by ICMP errors going left).
    assert!(fw[1] > fw[0] / 2 && nat[1] > nat[0] / 2, "{k:?}");
    // iperf3 moved thousands of segments through both hops.
    assert!(fw[0] > 1000 && nat[1] > 1000, "{k:?}");

    let d = c.down();
    assert!(d.status.success(), "chain down: {}", text(&d));
    let left = leftovers(&c, &[&client, &server]);
    assert!(left.is_empty(), "left behind: {left:?}");
    let again = c.mbctl(&["chain", "down", &c.name]);
    assert!(
        !again.status.success() && text(&again).contains("no chain"),
        "{}",
        text(&again)
    );
}

#[test]
fn the_runner_backend_is_still_selectable() {
    if skip("the_runner_backend_is_still_selectable") {
        return;
    }
    let (client, server) = (format!("mbrc{}", id()), format!("mbrs{}", id()));
    let mut c = Chain::new(&format!("rn{}", id()));
    let toml = format!(
        "backend = \"runner\"\n{}",
        fw_nat(&c.name, &client, &server)
    );
    let o = c.up(&toml);
    assert!(o.status.success(), "chain up: {}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for hop in ["fw", "nat"] {
        for step in ["wired to ", "started (pid ", "running ("] {
            assert!(err.contains(&format!("hop {hop}: {step}")), "{step}: {err}");
        }
    }
    let ls = c.mbctl(&["chain", "ls"]);
    assert!(text(&ls).contains(" runner "), "{}", text(&ls));
    assert!(
        qemu_pids(&c.run.0).is_empty(),
        "the runner backend booted a VM"
    );
    let p = in_ns(
        &client,
        &["ping", "-c", "2", "-i", "0.2", "-w", "20", "10.31.2.2"],
    );
    assert!(p.status.success(), "ping: {}", text(&p));
    let d = c.down();
    assert!(d.status.success(), "chain down: {}", text(&d));
    let left = leftovers(&c, &[&client, &server]);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn load_balancer_spreads_twenty_connections() {
    if skip("load_balancer_spreads_twenty_connections") {
        return;
    }
    let client = format!("mblc{}", id());
    let webs = [format!("mblw{}a", id()), format!("mblw{}b", id())];
    let mut c = Chain::new(&format!("lb{}", id()));
    let toml = fw_nat_on(
        &c.name,
        32,
        &client,
        &format!("[\"{}\", \"{}\"]", webs[0], webs[1]),
        r#"["10.32.2.11/24", "10.32.2.12/24"]"#,
    ) + &format!(
        r#"[[hop]]
name = "lb"
config = "{}"
defines = {{ VIP = "10.32.2.100", BACKEND1 = "10.32.2.11", BACKEND2 = "10.32.2.12" }}
"#,
        config("lb.click")
    );
    let o = c.up(&toml);
    assert!(o.status.success(), "chain up: {}", text(&o));
    let mut servers = Vec::new();
    for (i, w) in webs.iter().enumerate() {
        let dir = c.run.join(&format!("www{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), format!("backend {i}\n")).unwrap();
        let addr = format!("10.32.2.1{}", i + 1);
        servers.push(spawn_in(
            w,
            &[
                "python3",
                "-m",
                "http.server",
                "80",
                "--bind",
                &addr,
                "-d",
                dir.to_str().unwrap(),
            ],
            &c.run.join(&format!("web{i}.log")),
        ));
        wait_listening(w, 80);
    }
    let mut hits = [0u32; 2];
    for n in 0..20 {
        let o = in_ns(&client, &["curl", "-sS", "-m", "10", "http://10.32.2.100/"]);
        assert!(o.status.success(), "connection {n}: {}", text(&o));
        match String::from_utf8_lossy(&o.stdout).as_ref() {
            "backend 0\n" => hits[0] += 1,
            "backend 1\n" => hits[1] += 1,
            other => panic!("connection {n}: unexpected answer {other:?}"),
        }
    }
    // Round robin over new connections: an even split.
    assert_eq!(hits, [10, 10], "answers per backend");
    // Both backends saw the NAT's public address as the client.
    for i in 0..2 {
        let log = std::fs::read_to_string(c.run.join(&format!("web{i}.log"))).unwrap();
        assert_eq!(log.matches("10.32.2.1 - - ").count(), 10, "web{i}: {log}");
    }
    drop(servers);
    let d = c.down();
    assert!(d.status.success(), "chain down: {}", text(&d));
    let left = leftovers(&c, &[&client, &webs[0], &webs[1]]);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_failed_up_leaves_nothing_behind() {
    if skip("a_failed_up_leaves_nothing_behind") {
        return;
    }
    let (client, server) = (format!("mbfc{}", id()), format!("mbfs{}", id()));
    let mut c = Chain::new(&format!("fx{}", id()));
    // The client namespace exists before: the chain must leave it be.
    assert!(std::process::Command::new("ip")
        .args(["netns", "add", &client])
        .status()
        .unwrap()
        .success());
    c.own_netns.push(client.clone());
    // The NAT's configuration loads, but its device does not exist: the
    // chain fails after bridges, devices, rules and the firewall exist.
    let broken = c.run.join("broken-nat.click");
    let nat = std::fs::read_to_string(config("nat.click")).unwrap();
    std::fs::write(
        &broken,
        nat.replace("FromDevice($OUT_DEV)", "FromDevice(nosuchdev0)"),
    )
    .unwrap();
    let toml =
        fw_nat(&c.name, &client, &server).replace(&config("nat.click"), broken.to_str().unwrap());
    let o = c.up(&toml);
    assert!(!o.status.success(), "chain up succeeded with a broken hop");
    let err = text(&o);
    assert!(
        err.contains("hop nat") && err.contains("everything it made was removed"),
        "{err}"
    );
    let left = leftovers(&c, &[&server]);
    assert!(left.is_empty(), "left behind: {left:?}");
    // The namespace that was there before is still there, without our veth.
    let links = in_ns(&client, &["ip", "-br", "link"]);
    assert!(links.status.success(), "{}", text(&links));
    assert!(!text(&links).contains("eth0"), "{}", text(&links));
    let ls = c.mbctl(&["chain", "ls"]);
    assert!(!text(&ls).contains(&c.name), "{}", text(&ls));
}

#[test]
fn bad_chain_files_are_refused_with_their_position() {
    // Needs neither root nor Open vSwitch: nothing is made.
    let c = Chain::new(&format!("bf{}", id()));
    let f = c.run.join("bad.toml");
    std::fs::write(&f, "name = \"x\"\n[left]\nnetns = \"a\"\naddress = \"10.1.0.2/24\"\ngateway = \"10.1.0.1\"\n[right]\nnetns = \"b\"\naddress = \"10.2.0.2/24\"\ngateway = \"10.2.0.1\"\n[[hop]]\nname = \"fw\"\nconfig = \"nope.click\"\n").unwrap();
    let o = c.mbctl(&["chain", "up", f.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = text(&o);
    assert!(
        e.contains("bad.toml:12:10") && e.contains("no configuration file"),
        "{e}"
    );
    let src = std::fs::read_to_string(config("firewall.click")).unwrap();
    std::fs::write(
        c.run.join("fw.click"),
        src.replace("IPFilter(", "IPFilter(bogus rule,"),
    )
    .unwrap();
    std::fs::write(
        &f,
        std::fs::read_to_string(&f)
            .unwrap()
            .replace("nope.click", "fw.click"),
    )
    .unwrap();
    let o = c.mbctl(&["chain", "up", f.to_str().unwrap()]);
    let e = text(&o);
    assert!(
        !o.status.success() && e.contains("hop fw") && e.contains("fw.click:"),
        "{e}"
    );
    assert!(
        !c.run.join("chains").join("x").exists(),
        "a refused file left a record"
    );
}

#[test]
fn chain_check_reports_every_error_without_root() {
    // Needs neither root nor Open vSwitch: nothing is made or booted.
    let c = Chain::new(&format!("ck{}", id()));
    let run = |args: &[&str]| c.mbctl(args);
    // A good file passes, as VM hops and as runner hops.
    let good = c.run.join("good.toml");
    std::fs::write(&good, fw_nat("good", "gc", "gs")).unwrap();
    let g = good.to_str().unwrap();
    let o = run(&["chain", "check", g]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("chain good, 2 vm hop(s), 0 errors"),
        "{}",
        text(&o)
    );
    let o = run(&["chain", "check", "--backend", "runner", "--json", g]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));

    // A key the format lacks, a hop whose config is missing, a hop whose
    // config has an unknown class and a NIC a two-NIC VM lacks: all four,
    // each with its position.
    std::fs::write(
        c.run.join("fw.click"),
        "FromDevice($IN_DEV) -> Countr -> ToDevice($OUT_DEV);\nFromDevice(2) -> Discard;\n",
    )
    .unwrap();
    let bad = c.run.join("bad.toml");
    let text_of = fw_nat("bad", "bc", "bs")
        .replace("route = false", "route = false\ncolour = \"red\"")
        .replace(&config("firewall.click"), "fw.click")
        .replace(&config("nat.click"), "nope.click");
    std::fs::write(&bad, text_of).unwrap();
    let b = bad.to_str().unwrap();
    let o = run(&["chain", "check", b]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let lines: Vec<&str> = err.lines().collect();
    let fw = c.run.join("fw.click").display().to_string();
    let want = [
        format!("{b}:11:1: unknown field `colour`"),
        format!("{b}:17:10: no configuration file "),
        format!("{fw}:1:24: undeclared element 'Countr' (did you mean 'Counter'?)"),
        format!("{fw}:2:1: 'FromDevice@"),
    ];
    assert_eq!(lines.len(), want.len() + 1, "{err}");
    for (l, w) in lines.iter().zip(&want) {
        assert!(
            l.starts_with(w.as_str()),
            "{l:?} should start {w:?} in:\n{err}"
        );
    }
    assert!(lines[3].contains("no NIC 2"), "{err}");
    assert_eq!(lines[4], format!("{b}: 4 errors"));
    assert!(o.stdout.is_empty());

    let o = run(&["chain", "check", "--json", b]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("chain check --json");
    let errs = v.as_array().unwrap();
    assert_eq!(errs.len(), 4, "{v}");
    assert_eq!(
        (errs[0]["line"].as_u64(), errs[0]["col"].as_u64()),
        (Some(11), Some(1))
    );
    assert_eq!(errs[0]["hop"], serde_json::Value::Null);
    assert_eq!(errs[2]["file"], fw.as_str());
    assert_eq!(errs[2]["hop"], "fw");
    assert_eq!(errs[2]["suggestion"], "Counter");
    // Nothing of the chain was made.
    assert!(!c.run.join("chains").exists());
}

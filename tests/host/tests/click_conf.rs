//! The elements and argument forms Click's own example configurations
//! (`conf/` in Click's source) use, in our own configurations written the
//! way those files are, since CI cannot fetch Click: `mbctl check` passes
//! them, `mbctl run` runs them, and a KernelTun answers the host's pings
//! through a real tun device.

use mb_tests_host::{in_ci, is_root, mbctl, run_in, stderr, stdout, Scratch};

/// mazu-nat.click's declarations and device setup, udpgen.click's
/// source, delay.click's shapers, the tun and host elements.
const CLICK_STYLE: &str = r#"
AddressInfo(
  intern 	10.0.0.1	10.0.0.0/8	00:50:ba:85:84:a9,
  extern	209.6.198.213	209.6.198.0/24	00:e0:98:09:ab:af,
  extern_next_hop				02:00:0a:11:22:1f,
);
elementclass GatewayDevice {
  $device |
  from :: PollDevice($device, true) -> output;
  input -> q :: Queue(1024) -> to :: ToDevice($device);
  ScheduleInfo(from .1, to 1);
}
extern_dev :: GatewayDevice(eth0);
intern_dev :: GatewayDevice(eth1) -> Discard;
extern_dev -> c :: Classifier(12/0806 20/0002, -);
c[0] -> [1] arpq :: ARPQuerier(extern);
c[1] -> Strip(14) -> CheckIPHeader -> IPMirror
  -> StoreIPAddress(intern, src) -> SetIPAddress(extern:ip)
  -> arpq -> extern_dev;
FastUDPSource(1000, 100, 60, extern:eth, extern, 1234, extern_next_hop, 1.0.0.2, 1234, 1, 0, 1)
  -> SetTimestamp -> DelayShaper(10ms) -> BandwidthShaper(131072B/s)
  -> LinkUnqueue(40ms, 10Mbps) -> intern_dev;
FromHost(fake0, 198.18.2.50/28) -> ToHostSniffers(fake0);
kt :: KernelTun(1.0.0.1/8) -> Queue -> kt;
Idle -> ToHost;
i1 :: InfiniteSource(\<11>, -1, 5) -> q1 :: Queue;
i2 :: InfiniteSource(\<22>, -1, 5) -> q2 :: Queue;
q1 -> [0] ss :: StrideSched(10, 30); q2 -> [1] ss;
ss -> Unqueue -> Discard;
"#;

#[test]
fn click_style_configurations_pass_check_and_vms_refuse_host_elements() {
    let d = Scratch::new("clickconf");
    std::fs::write(d.join("c.click"), CLICK_STYLE).unwrap();
    let o = run_in(&d.0, &["check", "c.click"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A VM has no host stack: each tun/tap element by name, nothing else.
    let o = run_in(&d.0, &["check", "--vm", "c.click"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for class in ["FromHost", "ToHostSniffers", "KernelTun", "ToHost"] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!(":: {class}' talks to the host's network stack"))),
            "{class}: {err}"
        );
    }
    assert!(err.ends_with("c.click: 4 errors\n"), "{err}");
}

/// test-ping.click's shape: a host device's name as its address and
/// network (every Linux host has `lo`), as Click's user-level driver reads
/// them; a guest cannot look host devices up.
#[test]
fn host_device_names_are_addresses_on_the_host_only() {
    let d = Scratch::new("clickconf-dev");
    let conf = "ICMPPingSource(lo, 127.0.0.9, LIMIT 1, STOP true)\n\
                -> c :: IPClassifier(src host lo and dst net lo:ipnet, -)\n\
                -> IPPrint(ok) -> Discard;\n\
                c[1] -> IPPrint(bad) -> Discard;\n";
    std::fs::write(d.join("ping.click"), conf).unwrap();
    let o = run_in(&d.0, &["check", "ping.click"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_in(&d.0, &["run", "--simtime", "ping.click"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = format!("{}{}", stdout(&o), stderr(&o));
    assert!(out.contains(": 127.0.0.1 > 127.0.0.9: icmp echo"), "{out}");
    assert!(out.starts_with("ok: ") && !out.contains("bad:"), "{out}");
    let o = run_in(&d.0, &["check", "--vm", "ping.click"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("got 'lo'"), "{}", stderr(&o));
}

/// fromhost-tunnel.click's `ARPQuerier(MY_ADDR, eth1)`: a device's
/// Ethernet address by its name, in a namespace whose `eth1` is a veth.
#[test]
fn a_host_devices_ethernet_address_by_name() {
    if !is_root() {
        assert!(!in_ci(), "needs root (a network namespace)");
        eprintln!("skipped: needs root (a network namespace)");
        return;
    }
    let ns = format!("mbconf{}", std::process::id());
    // Failures are asserted only after the namespace is gone.
    let ip = |args: &[&str]| {
        let o = std::process::Command::new("ip")
            .args(args)
            .output()
            .expect("ip");
        o.status
            .success()
            .then_some(())
            .ok_or_else(|| format!("ip {args:?}: {}", String::from_utf8_lossy(&o.stderr)))
    };
    ip(&["netns", "add", &ns]).unwrap();
    let d = Scratch::new("clickconf-eth");
    let conf = "Idle -> a :: ARPQuerier(10.1.1.1, eth1) -> Discard; Idle -> [1] a;\n\
                Idle -> ARPResponder(eth1) -> Discard;\n";
    std::fs::write(d.join("arp.click"), conf).unwrap();
    std::fs::write(d.join("none.click"), conf.replace("eth1", "eth9")).unwrap();
    let mbctl_path = mbctl();
    let check = |file: &str| {
        std::process::Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(&mbctl_path)
            .args(["check", file])
            .current_dir(&d.0)
            .output()
            .unwrap()
    };
    let setup = [
        vec![
            "-n", &ns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
        ],
        vec![
            "-n",
            &ns,
            "link",
            "set",
            "eth1",
            "address",
            "02:00:00:00:00:11",
        ],
        vec!["-n", &ns, "addr", "add", "10.1.1.1/24", "dev", "eth1"],
    ];
    let made: Result<Vec<()>, String> = setup.iter().map(|a| ip(a)).collect();
    let good = check("arp.click");
    let bad = check("none.click");
    ip(&["netns", "del", &ns]).unwrap();
    made.unwrap();
    assert!(good.status.success(), "{}", stderr(&good));
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("got 'eth9'"), "{}", stderr(&bad));
}

/// webgen.click's graph (its device named by its Ethernet address)
/// under `mbctl run`, against a real web server (python3's http.server)
/// behind a veth in a namespace: the SPECweb requests arrive and the
/// connections complete.
#[test]
fn webgen_completes_connections_to_a_real_web_server() {
    let have_python = std::process::Command::new("python3")
        .arg("-V")
        .output()
        .is_ok();
    if !(is_root() && have_python) {
        assert!(!in_ci(), "needs root (a network namespace) and python3");
        eprintln!("skipped: needs root (a network namespace) and python3");
        return;
    }
    let ns = format!("mbwg{}", std::process::id());
    let d = Scratch::new("clickconf-webgen");
    std::fs::create_dir_all(d.join("www")).unwrap();
    let conf = "fd :: FromDevice(00:00:5A:98:F9:28);\n\
                td :: ToDevice(00:00:5A:98:F9:28);\n\
                out :: Queue(1024) -> td;\n\
                fd -> cl :: Classifier(12/0800, 12/0806);\n\
                cl[0] -> Strip(14) -> CheckIPHeader -> w :: WebGen(7.1.0.0/16, 1.0.0.1, 20)\n\
                  -> EtherEncap(0x0800, 00:00:5A:98:F9:28, 00:03:47:0D:39:57) -> out;\n\
                cl[1] -> ARPResponder(1.0.0.2 00:00:5A:98:F9:28) -> out;\n\
                DriverManager(wait 5500ms, stop);\n";
    std::fs::write(d.join("webgen.click"), conf).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .map_err(|e| e.to_string())
            .and_then(|o| {
                o.status
                    .success()
                    .then_some(())
                    .ok_or_else(|| format!("{args:?}: {}", String::from_utf8_lossy(&o.stderr)))
            })
    };
    run(&["ip", "netns", "add", &ns]).unwrap();
    // The router's side is eth0; the server's, peer0, holds 1.0.0.1 and
    // reaches the clients' prefix through the router's 1.0.0.2.
    let setup: Vec<Vec<&str>> = vec![
        vec!["ip", "-n", &ns, "link", "set", "lo", "up"],
        vec![
            "ip", "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
        ],
        vec![
            "ip",
            "-n",
            &ns,
            "link",
            "set",
            "eth0",
            "address",
            "00:00:5A:98:F9:28",
        ],
        vec![
            "ip",
            "-n",
            &ns,
            "link",
            "set",
            "peer0",
            "address",
            "00:03:47:0D:39:57",
        ],
        vec!["ip", "-n", &ns, "addr", "add", "1.0.0.1/24", "dev", "peer0"],
        vec!["ip", "-n", &ns, "link", "set", "eth0", "up"],
        vec!["ip", "-n", &ns, "link", "set", "peer0", "up"],
        vec![
            "ip",
            "-n",
            &ns,
            "route",
            "add",
            "7.1.0.0/16",
            "via",
            "1.0.0.2",
            "dev",
            "peer0",
        ],
    ];
    let made: Result<Vec<()>, String> = setup.iter().map(|a| run(a)).collect();
    let www = d.join("www");
    let server = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            "python3",
            "-m",
            "http.server",
            "80",
            "--bind",
            "1.0.0.1",
        ])
        .arg("--directory")
        .arg(&www)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let o = std::process::Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(mbctl())
        .args(["run", "webgen.click"])
        .current_dir(&d.0)
        .output()
        .unwrap();
    let server_log = server.map(|mut s| {
        let _ = s.kill();
        s.wait_with_output()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
    });
    run(&["ip", "netns", "del", &ns]).unwrap();
    made.unwrap();
    let server_log = server_log.unwrap().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // 20 connections a second: the five-second report.
    let err = stderr(&o);
    let completed: u32 = err
        .split("comp: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no report: {err}"));
    assert!(completed >= 50, "{err}");
    assert!(server_log.contains("\"GET /spec/"), "{server_log}");
}

/// Older Click's forms that thomer-nat.click (Click 1.x's
/// `ICMPPingRewriter(SRC, DST)`) and gnat01.click (Click 1.1's
/// AddressTranslator lookup fields and combined ProtocolTranslator, an
/// IPv6 frame in hex) use: checked, and run with their old meaning.
#[test]
fn older_clicks_forms_run_with_their_meaning() {
    let d = Scratch::new("clickconf-old");
    let conf = r#"
AddressInfo(ex 66.58.65.90 00:0d:87:9d:1c:e9);
ICMPPingSource(10.0.0.1, 1.2.3.4, LIMIT 1) -> irw :: ICMPPingRewriter(ex, -);
irw[0] -> IPPrint(ping) -> Discard;
irw[1] -> Discard;
at :: AddressTranslator(0, 1 1 0 0 0 0, 0 0 1 1 0 0, 0, ::ffff:18.26.4.125 1300 1310);
pt :: ProtocolTranslator();
InfiniteSource(\<60000000 000c1140 3ffe0000 00000000 00000000 00000002
  00000000 00000000 0000ffff 121a043c 00140035 000c0000 64617461>, 2)
  -> CheckIP6Header -> [0]at[0] -> [0]pt[0] -> CheckIPHeader -> IPPrint(gnat) -> Discard;
Idle -> [1]at[1] -> Discard;
Idle -> [1]pt[1] -> Discard;
"#;
    std::fs::write(d.join("old.click"), conf).unwrap();
    let o = run_in(&d.0, &["check", "old.click"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_in(&d.0, &["run", "--simtime", "old.click"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stderr(&o);
    // Both IPv6 datagrams share the inner host's one mapping.
    let gnat = ": 18.26.4.125.1300 > 18.26.4.60.53: udp 12";
    assert_eq!(out.matches(gnat).count(), 2, "{out}");
    // The echo leaves from `ex` with the first identifier, 0.
    assert!(
        out.contains(": 66.58.65.90 > 1.2.3.4: icmp echo (0, 1)"),
        "{out}"
    );
}

#[test]
fn schedorder_and_stride_configurations_run() {
    let d = Scratch::new("clickconf-run");
    // schedorder1.click, as Click ships it.
    let sched = "s1 :: SchedOrderTest(1, SIZE 100, STOP true);\n\
                 s2 :: SchedOrderTest(2, SIZE 100, LIMIT 10);\n\
                 s3 :: SchedOrderTest(3, SIZE 100);\n\
                 ScheduleInfo(s1 1, s2 2, s3 3);\n\
                 DriverManager(wait_stop, print s1.order, stop);\n";
    std::fs::write(d.join("sched.click"), sched).unwrap();
    let o = run_in(&d.0, &["run", "--simtime", "sched.click"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ids: Vec<String> = stdout(&o).split_whitespace().map(String::from).collect();
    assert_eq!(ids.len(), 100, "{}", stdout(&o));
    assert_eq!(ids.iter().filter(|i| *i == "2").count(), 10, "LIMIT 10");
    // stridetest.click's shape: 1:3 tickets over two sources.
    let stride = "i1 :: InfiniteSource(\\<11>, 400) -> q1 :: Queue(400);\n\
                  i2 :: InfiniteSource(\\<22>, 400) -> q2 :: Queue(400);\n\
                  q1 -> [0] ss :: StrideSched(10, 30); q2 -> [1] ss;\n\
                  ss -> Unqueue(LIMIT 400) -> c :: Classifier(0/11, -);\n\
                  c[0] -> a :: Counter -> Discard; c[1] -> b :: Counter -> Discard;\n";
    std::fs::write(d.join("stride.click"), stride).unwrap();
    let o = run_in(
        &d.0,
        &[
            "run",
            "--simtime",
            "stride.click",
            "-h",
            "a.count",
            "-h",
            "b.count",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("a.count:\n100\n"), "{out}");
    assert!(out.contains("b.count:\n300\n"), "{out}");
}

#[test]
fn kerneltun_answers_the_hosts_pings() {
    let have_tun = std::path::Path::new("/dev/net/tun").exists();
    let have_ping = std::process::Command::new("ping")
        .arg("-V")
        .output()
        .is_ok();
    if !(is_root() && have_tun && have_ping) {
        assert!(!in_ci(), "needs root, /dev/net/tun and ping");
        eprintln!("skipped: needs root, /dev/net/tun and ping");
        return;
    }
    // dnsproxy.click's shape: a tun device whose packets the router
    // answers; the host pings an address on the tun's network.
    let cfg = "kt :: KernelTun(10.213.0.1/24, DEVNAME mbkt0)\n\
               -> CheckIPHeader -> ICMPPingResponder -> c :: Counter -> Queue -> kt;\n";
    let d = Scratch::new("kerneltun");
    std::fs::write(d.join("tun.click"), cfg).unwrap();
    let mut child = std::process::Command::new(mbctl())
        .current_dir(&d.0)
        .args(["run", "tun.click"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let up = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::path::Path::new("/sys/class/net/mbkt0").exists()
    });
    let ping = std::process::Command::new("ping")
        .args(["-c", "2", "-W", "3", "10.213.0.2"])
        .output()
        .unwrap();
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        up,
        "no tun device: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        ping.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ping.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The device goes with the process.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!std::path::Path::new("/sys/class/net/mbkt0").exists());
}

#[test]
fn control_socket_speaks_clicks_protocol() {
    use std::io::{Read, Write};
    let port = 42000 + (std::process::id() % 1000) as u16;
    let cfg = format!(
        "ControlSocket(TCP, {port}, LOCALHOST true);\n\
         InfiniteSource(LIMIT 5) -> c :: Counter -> Discard;\n"
    );
    let mut child = std::process::Command::new(mbctl())
        .args(["run", "-e", &cfg])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let conn = (0..100).find_map(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    let Some(mut s) = conn else {
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        panic!("no ControlSocket: {}", String::from_utf8_lossy(&out.stderr));
    };
    s.write_all(
        b"READ c.count\nWRITE c.reset\nREAD nope.count\nREAD c.nope\n\
          WRITEDATA c.reset 0\nCHECKWRITE c.count\nFROB\nQUIT\n",
    )
    .unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut got = String::new();
    let r = s.read_to_string(&mut got);
    child.kill().unwrap();
    child.wait().unwrap();
    r.unwrap();
    // What Click 2.1's ControlSocket answers to the same commands.
    assert_eq!(
        got,
        "Click::ControlSocket/1.3\r\n\
         200 Read handler 'c.count' OK\r\nDATA 1\r\n5\
         200 Write handler 'c.reset' OK\r\n\
         510 No element named 'nope'\r\n\
         511 No handler named 'c.nope'\r\n\
         200 Write handler 'c.reset' OK\r\n\
         511 Handler 'c.count' not writable\r\n\
         501 Command 'FROB' unimplemented\r\n\
         200 Goodbye!\r\n"
    );
}

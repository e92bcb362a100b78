//! `mbctl` driving real QEMU guests: boot, list, handlers, reconfigure,
//! stop, destroy, errors, agent restarts, and taps in network namespaces.
//! Every test ends by checking that no QEMU process, device, record or
//! store node is left.

use mb_tests_mbctl::{boot_between, can_run, ip, json_int, json_names, ping_ok, Host};
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

const WIRE: &str = "\
// two NICs joined, with counters
FromDevice(0) -> c :: Counter -> Queue(64) -> ToDevice(1);
FromDevice(1) -> back :: Counter -> Queue(64) -> ToDevice(0);
";

/// Two socket NICs whose far ends the test holds.
struct Peers {
    socks: Vec<UnixDatagram>,
}

impl Peers {
    fn new(h: &Host, tag: &str) -> (Peers, Vec<String>) {
        let mut socks = Vec::new();
        let mut args = Vec::new();
        for i in 0..2 {
            let p = h.scratch.join(format!("{tag}{i}"));
            let s = UnixDatagram::bind(&p).expect("binding a peer socket");
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            socks.push(s);
            args.push("--nic".to_string());
            args.push(format!("socket:{}", p.display()));
        }
        (Peers { socks }, args)
    }

    /// Sends a frame into NIC `nic` of middlebox `name` and returns what
    /// comes out of the other NIC.
    fn through(&self, h: &Host, name: &str, nic: usize, frame: &[u8]) -> Vec<u8> {
        let to = h.run.join("vms").join(name).join(format!("nic{nic}.sock"));
        self.socks[nic].send_to(frame, to).expect("sending a frame");
        let mut buf = vec![0u8; 2048];
        let n = self.socks[1 - nic]
            .recv(&mut buf)
            .expect("a frame from the guest");
        buf.truncate(n);
        buf
    }
}

fn frame(tag: u8) -> Vec<u8> {
    let mut f = vec![0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1, 0x88, 0xb5];
    f.extend((0..46).map(|i| tag.wrapping_add(i)));
    f
}

fn boot_args<'a>(cfg: &'a str, name: &'a str, nics: &'a [String]) -> Vec<&'a str> {
    let mut a = vec!["boot", cfg, "--name", name, "--accel", "tcg"];
    a.extend(nics.iter().map(String::as_str));
    a
}

#[test]
fn boot_list_handlers_reconfigure_stop() {
    if !can_run("boot_list_handlers_reconfigure_stop", false) {
        return;
    }
    let h = Host::new();
    let cfg = h.file("wire.click", WIRE);
    let cfg = cfg.to_str().unwrap();
    let (peers, nics) = Peers::new(&h, "p");
    let out = h.ok(&boot_args(cfg, "fw", &nics));
    assert!(out.contains("fw: domain 1, running (tcg"), "{out}");

    let ls = h.ok(&["ls", "--json"]);
    assert_eq!(json_names(&ls), ["fw"]);
    assert!(ls.contains("\"state\":\"running\""), "{ls}");
    assert!(ls.contains("\"config_name\":\"wire.click\""), "{ls}");
    assert_eq!(json_int(&ls, "domid"), Some(1));
    let table = h.ok(&["ls"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.lines().nth(1).unwrap().starts_with("fw "), "{table}");

    // Frames cross the VM; Click's handlers count them.
    for i in 0..3 {
        assert_eq!(peers.through(&h, "fw", 0, &frame(i)), frame(i));
    }
    assert_eq!(peers.through(&h, "fw", 1, &frame(9)), frame(9));
    assert_eq!(h.ok(&["read", "fw", "c.count"]).trim(), "3");
    assert_eq!(h.ok(&["read", "fw", "back.count"]).trim(), "1");
    assert_eq!(h.ok(&["read", "fw", "c.class"]).trim(), "Counter");
    h.ok(&["write", "fw", "c.reset"]);
    assert_eq!(h.ok(&["read", "fw", "c.count"]).trim(), "0");
    let e = h.fails(&["write", "fw", "c.count", "5"]);
    assert!(e.contains("c.count") && e.contains("read-only"), "{e}");
    let e = h.fails(&["read", "fw", "nosuch.count"]);
    assert!(e.contains("nosuch"), "{e}");
    let hs = h.ok(&["handlers", "fw"]);
    assert!(hs.lines().any(|l| l == "c.count\tr"), "{hs}");
    assert!(hs.lines().any(|l| l == "c.reset\tw"), "{hs}");

    // Hot swap: same-named elements keep their state.
    peers.through(&h, "fw", 0, &frame(1));
    let v2 = h.file("wire2.click", &WIRE.replace("back ::", "back2 ::"));
    let out = h.ok(&["reconfigure", "fw", v2.to_str().unwrap()]);
    assert!(out.contains("now running wire2.click"), "{out}");
    assert_eq!(h.ok(&["read", "fw", "c.count"]).trim(), "1");
    assert_eq!(h.ok(&["read", "fw", "back2.count"]).trim(), "0");
    // A config the host check passes but the guest rejects: its message,
    // with the file's name, and the old router goes on.
    let bad = h.file(
        "bad.click",
        "FromDevice(0) -> Queue -> ToDevice(1);\nFromDevice(0) -> Discard;\n",
    );
    let e = h.fails(&["reconfigure", "fw", bad.to_str().unwrap()]);
    assert!(e.contains("bad.click:2:"), "{e}");
    assert!(e.contains("keeps its previous config (wire2.click)"), "{e}");
    assert_eq!(peers.through(&h, "fw", 0, &frame(7)), frame(7));
    assert_eq!(h.ok(&["read", "fw", "c.count"]).trim(), "2");
    let logs = h.ok(&["logs", "fw"]);
    assert!(logs.contains("mb: ready"), "{logs}");

    let out = h.ok(&["stop", "fw"]);
    assert!(out.contains("halted and stopped"), "{out}");
    assert!(json_names(&h.ok(&["ls", "--json"])).is_empty());
    h.assert_clean();

    // destroy, on a fresh boot (domain ids are free again).
    let (_peers, nics) = Peers::new(&h, "q");
    h.ok(&boot_args(cfg, "fw2", &nics));
    assert!(h.ok(&["destroy", "fw2"]).contains("destroyed"));
    h.assert_clean();
}

#[test]
fn router_handlers_through_the_store() {
    if !can_run("router_handlers_through_the_store", false) {
        return;
    }
    let h = Host::new();
    let cfg = h.file("wire.click", WIRE);
    let (peers, nics) = Peers::new(&h, "p");
    h.ok(&boot_args(cfg.to_str().unwrap(), "fw", &nics));
    // Click's global handlers: no element, as Click names them.
    assert_eq!(h.ok(&["read", "fw", "config"]), WIRE);
    let flat = h.ok(&["read", "fw", "flatconfig"]);
    assert!(flat.contains("c :: Counter"), "{flat}");
    let list = h.ok(&["read", "fw", "list"]);
    let mut lines = list.lines();
    let n: usize = lines.next().unwrap().parse().unwrap();
    let names: Vec<&str> = lines.collect();
    assert_eq!(names.len(), n, "{list}");
    assert!(names.contains(&"c") && names.contains(&"back"), "{list}");
    let classes = h.ok(&["read", "fw", "classes"]);
    assert!(classes.lines().any(|l| l == "Counter"), "{classes}");
    assert!(!h.ok(&["read", "fw", "version"]).trim().is_empty());
    let e = h.fails(&["read", "fw", "nosuch"]);
    assert!(e.contains("nosuch"), "{e}");
    let hs = h.ok(&["handlers", "fw"]);
    for want in [
        "config\tr",
        "flatconfig\tr",
        "list\tr",
        "hotconfig\tw",
        "c.count\tr",
    ] {
        assert!(hs.lines().any(|l| l == want), "{want} in:\n{hs}");
    }
    let js = h.ok(&["handlers", "fw", "--json"]);
    assert!(
        js.contains("\"\":[") && js.contains("\"name\":\"hotconfig\""),
        "{js}"
    );

    // hotconfig: Click's hot-swap through the store; `c` keeps its count.
    peers.through(&h, "fw", 0, &frame(1));
    let v2 = WIRE.replace("back ::", "back2 ::");
    h.ok(&["write", "fw", "hotconfig", &v2]);
    assert_eq!(h.ok(&["read", "fw", "config"]), v2);
    assert_eq!(h.ok(&["read", "fw", "c.count"]).trim(), "1");
    assert_eq!(h.ok(&["read", "fw", "back2.count"]).trim(), "0");
    let e = h.fails(&["write", "fw", "hotconfig", "Idle ->\n  Bogus;"]);
    assert!(e.contains("hotconfig:2:3"), "{e}");
    assert_eq!(h.ok(&["read", "fw", "config"]), v2);
    assert_eq!(peers.through(&h, "fw", 0, &frame(2)), frame(2));
    h.ok(&["destroy", "fw"]);
    h.assert_clean();
}

/// `mbctl console NAME` with piped standard streams; its output gathered
/// by a thread.
struct Console {
    child: std::process::Child,
    out: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Console {
    fn attach(h: &Host, name: &str) -> Console {
        use std::process::Stdio;
        let mut child = Command::new(mb_tests_mbctl::mbctl())
            .args(["console", name, "-n", "3"])
            .env("MBCTL_RUN_DIR", &h.run)
            .env_remove("XENSTORED_PATH")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running mbctl console");
        let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (mut so, o) = (child.stdout.take().unwrap(), out.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = std::io::Read::read(&mut so, &mut buf) {
                if n == 0 {
                    break;
                }
                o.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Console { child, out }
    }

    /// Waits (up to 20 s: liveness, not speed) until the output holds `s`.
    fn wait_for(&self, s: &str) {
        for _ in 0..400 {
            if self.out.lock().unwrap().contains(s) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "console output never showed {s:?}:\n{}",
            self.out.lock().unwrap()
        );
    }

    /// Waits (up to 30 s) for the command to end on its own; returns its
    /// standard error. Its standard input stays open meanwhile (`wait`
    /// would close it first), so the end seen is the console's own
    /// (Ctrl-], the VM's hang-up), never the end of input, which detaches
    /// too (as `xl console` and `virsh console` do).
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let _stdin = self.child.stdin.take();
        let mut st = None;
        for _ in 0..600 {
            st = self.child.try_wait().expect("waiting for mbctl console");
            if st.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let Some(st) = st else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!(
                "mbctl console did not end within 30 s; its output:\n{}",
                self.out.lock().unwrap()
            );
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut err).unwrap();
        (st, err)
    }
}

#[test]
fn console_follows_output_live_and_detaches() {
    if !can_run("console_follows_output_live_and_detaches", false) {
        return;
    }
    let h = Host::new();
    let cfg = h.file("wire.click", WIRE);
    let (_peers, nics) = Peers::new(&h, "p");
    h.ok(&boot_args(cfg.to_str().unwrap(), "fw", &nics));
    let mut c = Console::attach(&h, "fw");
    // Earlier output first, then what the guest prints after attaching.
    c.wait_for("mb: ready");
    h.fails(&["read", "fw", "nosuch.count"]);
    c.wait_for("mb: handler nosuch.count");
    // One console at a time.
    let e = h.fails(&["console", "fw"]);
    assert!(e.contains("another `mbctl console fw` is attached"), "{e}");
    // Typing reaches the serial line (the guest ignores it); Ctrl-] detaches.
    let stdin = c.child.stdin.as_mut().unwrap();
    std::io::Write::write_all(stdin, b"help\r\x1d").unwrap();
    let (st, err) = c.finish();
    assert!(st.success(), "{err}");
    assert!(err.contains("Escape character is ^]"), "{err}");
    assert!(err.contains("Detached from fw"), "{err}");
    // The middlebox goes on; the end of standard input also detaches.
    assert_eq!(h.ok(&["read", "fw", "c.count"]).trim(), "0");
    let out = h.ok(&["console", "fw", "-n", "1"]);
    assert!(out.contains("mb: handler nosuch.count"), "{out}");
    // A stopped VM ends the session.
    let c = Console::attach(&h, "fw");
    c.wait_for("mb: handler");
    h.ok(&["stop", "fw"]);
    let (st, err) = c.finish();
    assert!(st.success(), "{err}");
    assert!(err.contains("closed its console"), "{err}");
    h.assert_clean();
}

#[test]
fn errors_leave_nothing_behind() {
    if !can_run("errors_leave_nothing_behind", false) {
        return;
    }
    let h = Host::new();
    let cfg = h.file("wire.click", WIRE);
    let cfg = cfg.to_str().unwrap();
    // Host check: file:line:col with the real file name, nothing started.
    let bad = h.file("typo.click", "FromDevice(0) -> Countr -> ToDevice(0);\n");
    let e = h.fails(&["boot", bad.to_str().unwrap(), "--nic", "socket:/tmp/x"]);
    assert!(e.contains("typo.click:1:18"), "{e}");
    assert!(e.contains("nothing was started"), "{e}");
    // Too few NICs for the config.
    let e = h.fails(&["boot", cfg, "--nic", "socket:/tmp/x"]);
    assert!(e.contains("wire.click:2:") && e.contains("no NIC 1"), "{e}");
    let e = h.fails(&[
        "boot",
        cfg,
        "--nic",
        "tap:a-name-far-too-long",
        "--nic",
        "socket:/x",
    ]);
    assert!(e.contains("at most 15"), "{e}");
    let e = h.fails(&["boot", cfg, "--nic", "vde:x"]);
    assert!(e.contains("unknown kind"), "{e}");
    let e = h.fails(&["read", "ghost", "c.count"]);
    assert!(e.contains("no middlebox named 'ghost'"), "{e}");
    let e = h.fails(&["stop", "ghost"]);
    assert!(e.contains("no middlebox named 'ghost'"), "{e}");

    let (_peers, nics) = Peers::new(&h, "p");
    h.ok(&boot_args(cfg, "one", &nics));
    let e = h.fails(&boot_args(cfg, "one", &nics));
    assert!(e.contains("already exists"), "{e}");
    // A guest that cannot start its router (1 MiB): reported, and cleaned up.
    let e = h.fails(&[
        "boot",
        cfg,
        "--name",
        "tiny",
        "--accel",
        "tcg",
        "--memory",
        "1M",
        "--timeout",
        "5",
        "--nic",
        "socket:/tmp/a",
        "--nic",
        "socket:/tmp/b",
    ]);
    assert!(e.contains("tiny"), "{e}");
    // QEMU itself fails (more memory than an address space holds): its
    // own words, from its stderr, and nothing left.
    let e = h.fails(&[
        "boot",
        cfg,
        "--name",
        "huge",
        "--accel",
        "tcg",
        "--memory",
        "900000G",
        "--nic",
        "socket:/tmp/a",
        "--nic",
        "socket:/tmp/b",
    ]);
    assert!(
        e.contains("QEMU failed to start") && e.contains("guest memory"),
        "{e}"
    );
    assert_eq!(json_names(&h.ok(&["ls", "--json"])), ["one"]);
    h.ok(&["destroy", "one"]);
    h.assert_clean();
}

#[test]
fn agent_restart_keeps_two_middleboxes() {
    if !can_run("agent_restart_keeps_two_middleboxes", false) {
        return;
    }
    let h = Host::new();
    let cfg = h.file("wire.click", WIRE);
    let cfg = cfg.to_str().unwrap();
    let (pa, na) = Peers::new(&h, "a");
    let (pb, nb) = Peers::new(&h, "b");
    h.ok(&boot_args(cfg, "a", &na));
    h.ok(&boot_args(cfg, "b", &nb));
    let pids = h.qemu_pids();
    assert_eq!(pids.len(), 2);
    pa.through(&h, "a", 0, &frame(1));
    h.ok(&["agent", "stop"]);
    // The VMs outlive the agent.
    assert_eq!(h.qemu_pids(), pids);
    assert!(!h.run.join("agent.sock").exists());
    // The next command starts a new agent, which adopts both.
    let ls = h.ok(&["ls", "--json"]);
    assert_eq!(json_names(&ls), ["a", "b"]);
    assert_eq!(ls.matches("\"state\":\"running\"").count(), 2, "{ls}");
    assert_eq!(h.ok(&["read", "a", "c.count"]).trim(), "1");
    assert_eq!(h.ok(&["read", "b", "c.count"]).trim(), "0");
    assert_eq!(pb.through(&h, "b", 0, &frame(2)), frame(2));
    assert_eq!(h.ok(&["read", "b", "c.count"]).trim(), "1");
    h.ok(&["stop", "a"]);
    h.ok(&["destroy", "b"]);
    h.assert_clean();
}

#[test]
fn namespaces_ping_through_the_vm_and_taps_go_with_it() {
    if !can_run("namespaces_ping_through_the_vm_and_taps_go_with_it", true) {
        return;
    }
    let h = Host::new();
    let cfg = h.file("wire.click", WIRE);
    let (_ns, l, r) = boot_between(&h, "t", &cfg, "fw", &[]);
    assert_eq!(
        h.devices().len(),
        4,
        "a tap and a veth per NIC: {:?}",
        h.devices()
    );
    ip(&["-n", &l, "addr", "add", "10.77.0.1/24", "dev", "eth0"]);
    ip(&["-n", &r, "addr", "add", "10.77.0.2/24", "dev", "in0"]);
    ping_ok(&l, "10.77.0.2", 3, "the VM");
    let n: u64 = h.ok(&["read", "fw", "c.count"]).trim().parse().unwrap();
    assert!(n >= 3, "c.count = {n}");
    h.ok(&["stop", "fw"]);
    h.assert_clean();
}

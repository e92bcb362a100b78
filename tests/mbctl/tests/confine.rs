//! A middlebox's QEMU runs confined: an unprivileged user, QEMU's seccomp
//! sandbox, chrooted to its guest directory, its own cgroup with a memory
//! limit; and NIC names that would inject QEMU options are refused before
//! anything is made.

use mb_tests_mbctl::{boot_between, can_run, ip, ping_ok, Host};
use std::path::PathBuf;

const WIRE: &str = "\
FromDevice(0) -> c :: Counter -> Queue(64) -> ToDevice(1);
FromDevice(1) -> Queue(64) -> ToDevice(0);
";

/// A field of `/proc/<pid>/status`, e.g. `Uid` → its first value.
fn status_field(pid: i32, key: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("QEMU's status");
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .to_string()
}

/// The memory limit file of `pid`'s cgroup: cgroup v2's `memory.max`, else
/// v1's `memory.limit_in_bytes`.
fn memory_limit_file(pid: i32) -> PathBuf {
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("QEMU's cgroups");
    for l in cg.lines() {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, path) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        let path = path.trim_start_matches('/');
        if ctrls.split(',').any(|c| c == "memory") {
            return PathBuf::from("/sys/fs/cgroup/memory")
                .join(path)
                .join("memory.limit_in_bytes");
        }
        if ctrls.is_empty() {
            let v2 = PathBuf::from("/sys/fs/cgroup")
                .join(path)
                .join("memory.max");
            if v2.exists() {
                return v2;
            }
        }
    }
    panic!("no memory cgroup in /proc/{pid}/cgroup:\n{cg}");
}

#[test]
fn qemu_is_confined_and_still_forwards() {
    if !can_run("qemu_is_confined_and_still_forwards", true) {
        return;
    }
    let h = Host::new();
    let cfg = h.file("wire.click", WIRE);
    let (_ns, l, r) = boot_between(&h, "c", &cfg, "fw", &["--memory", "32M"]);
    let pids = h.qemu_pids();
    assert_eq!(pids.len(), 1, "{pids:?}");
    let pid = pids[0];
    // An unprivileged user, real and effective, and seccomp in filter mode.
    let uid = status_field(pid, "Uid");
    assert_ne!(uid, "0", "QEMU runs as root");
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids: Vec<&str> = s
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert!(uids.iter().all(|u| *u != "0"), "a root uid left: {uids:?}");
    assert_eq!(status_field(pid, "Seccomp"), "2");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let sandbox = cmdline
        .split(|&b| b == 0)
        .skip_while(|a| *a != b"-sandbox")
        .nth(1)
        .map(|a| String::from_utf8_lossy(a).into_owned());
    assert_eq!(
        sandbox.as_deref(),
        Some("on,obsolete=deny,spawn=deny,resourcecontrol=deny"),
        "QEMU's sandbox"
    );
    // QEMU leads its own session: the agent made it, not -daemonize,
    // whose forks (a session's leader forks again) spawn=deny would kill.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let sid: i32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(sid, pid, "QEMU is not its own session's leader");

    // Its root is its guest directory, which holds its store socket and
    // nothing else; the host's files are out of its reach.
    let root = std::fs::read_link(format!("/proc/{pid}/root")).expect("QEMU's root");
    assert!(
        root.starts_with(h.run.join("guests")),
        "QEMU's root is {}, not its guest directory",
        root.display()
    );
    let inside: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(inside, ["store.sock"], "in {}", root.display());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/root/etc/passwd")).exists(),
        "QEMU can open /etc/passwd"
    );
    let mode = |p: &std::path::Path| {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(p).unwrap();
        (m.mode() & 0o7777, m.uid())
    };
    // QEMU's user can only search it (reach the socket); the run
    // directory above it stays root's alone.
    assert_eq!(mode(&root), (0o710, 0), "{}", root.display());
    assert_eq!(mode(&h.run), (0o700, 0), "{}", h.run.display());
    // What QEMU opened as root before dropping privileges stays root's.
    for f in ["console.sock", "console.log", "qemu.pid", "qemu.log"] {
        let p = h.run.join("vms/fw").join(f);
        let (m, uid) = mode(&p);
        assert!(
            m & 0o077 == 0 && uid == 0,
            "{}: {m:o}, uid {uid}",
            p.display()
        );
    }
    // Its own cgroup, limited to the guest's memory plus QEMU's overhead.
    let limit = memory_limit_file(pid);
    assert!(
        limit.to_string_lossy().contains("/mb/"),
        "not in an mb cgroup: {}",
        limit.display()
    );
    let bytes: u64 = std::fs::read_to_string(&limit)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(bytes, (32 + 256) << 20, "{}", limit.display());

    // It still forwards, and its handlers still answer through the store.
    ip(&["-n", &l, "addr", "add", "10.78.0.1/24", "dev", "eth0"]);
    ip(&["-n", &r, "addr", "add", "10.78.0.2/24", "dev", "in0"]);
    ping_ok(&l, "10.78.0.2", 3, "the confined VM");
    let n: u64 = h.ok(&["read", "fw", "c.count"]).trim().parse().unwrap();
    assert!(n >= 3, "c.count = {n}");

    // The agent restarts; the confined QEMU reconnects to its store socket.
    h.ok(&["agent", "stop"]);
    let n2: u64 = h.ok(&["read", "fw", "c.count"]).trim().parse().unwrap();
    assert!(n2 >= n, "c.count = {n2} after the agent restarted");

    // A restarted agent's store is reached through the same directory.
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        root
    );

    let cgroup_dir = limit.parent().unwrap().to_path_buf();
    h.ok(&["destroy", "fw"]);
    h.assert_clean();
    assert!(
        !cgroup_dir.exists(),
        "cgroup {} left behind",
        cgroup_dir.display()
    );
}

#[test]
fn nic_names_with_option_syntax_are_refused() {
    if !can_run("nic_names_with_option_syntax_are_refused", false) {
        return;
    }
    let h = Host::new();
    let cfg = h.file("wire.click", WIRE);
    let cfg = cfg.to_str().unwrap();
    for (nic, why) in [
        ("tap:t0,vhost=on", "a comma"),
        ("tap:a,b", "a comma"),
        ("bridge:br=1", "an '='"),
        ("bridge:b\"r", "a quote"),
        ("netns:ns,x", "a comma"),
        ("netns:ns:in,0", "a comma"),
        ("tap:a\nb", "control characters"),
    ] {
        let e = h.fails(&["boot", cfg, "--nic", nic, "--nic", "socket:/tmp/x"]);
        assert!(e.contains("--nic '") && e.contains(why), "{nic:?}: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
    h.assert_clean();
    assert!(
        !std::path::Path::new("/sys/class/net/a,b").exists(),
        "a device named from a refused spec"
    );
}

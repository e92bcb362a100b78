//! Test networks of network namespaces joined by veth pairs, with the
//! processes run inside them. Everything a [`Lab`] makes lives inside its
//! own namespaces (nothing is added to the host's), and dropping the lab
//! kills every process left in them and deletes them, also when a test
//! fails. Namespaces left behind by a test process that was killed
//! outright are removed by the next lab.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::{in_ci, is_root};

/// Prefix of every namespace a lab creates: `mbe<pid>x<n>-<name>`.
const PREFIX: &str = "mbe";

/// The Debian packages that provide the tools the namespace tests run.
pub const INSTALL: &str =
    "apt-get install -y iproute2 iputils-ping curl iperf3 ethtool python3 (or `make deps`)";

/// True when this test can run: as root with every tool in `tools` on
/// PATH. Otherwise prints a SKIP line naming `test` and returns false,
/// except under CI, where it panics with the install command.
pub fn require(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    if is_root() && missing.is_empty() {
        return true;
    }
    let why = if is_root() {
        format!("missing {}", missing.join(", "))
    } else {
        "needs root".to_string()
    };
    assert!(!in_ci(), "{test}: {why}; CI must run it as root: {INSTALL}");
    println!("SKIP {test}: {why} ({INSTALL})");
    false
}

/// Whether `tool` is on PATH, or in the sbin directories a non-login
/// root shell's PATH may lack (Open vSwitch's daemons live there).
fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(Into::into))
        .any(|d| std::fs::metadata(d.join(tool)).is_ok_and(|m| m.is_file()))
}

/// Runs `args` inside namespace `ns` (its full name), killed after `secs`
/// seconds, and returns its output (whatever its status).
pub fn exec(ns: &str, secs: u32, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", ns, "timeout", "-k", "2"])
        .arg(secs.to_string())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {args:?}: {e}"))
}

/// Waits until something in namespace `ns` (its full name) listens on TCP
/// `port`; panics after `timeout`.
pub fn wait_listening(ns: &str, port: u16, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let want = format!(":{port}");
    loop {
        let o = exec(ns, 5, &["ss", "-Hltn"]);
        let text = String::from_utf8_lossy(&o.stdout);
        if text.lines().any(|l| {
            l.split_whitespace()
                .nth(3)
                .is_some_and(|a| a.ends_with(&want))
        }) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "nothing listens on port {port} in {ns}:\n{text}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a command to completion and panics, with its standard error, if
/// it fails.
fn must(cmd: &mut Command) -> Output {
    let o = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn quiet(args: &[&str]) {
    let _ = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A set of network namespaces owned by one test.
pub struct Lab {
    prefix: String,
    namespaces: Vec<String>,
}

impl Lab {
    /// A new, empty lab; first removes the namespaces of labs whose test
    /// process no longer exists.
    pub fn new() -> Lab {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        reap_stale();
        Lab {
            prefix: format!(
                "{PREFIX}{}x{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ),
            namespaces: Vec::new(),
        }
    }

    /// The full name of this lab's namespace `name`.
    pub fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// Creates namespace `name` with loopback up and IPv6 off (its
    /// autoconfiguration traffic would only add noise).
    pub fn add_ns(&mut self, name: &str) {
        let ns = self.ns(name);
        must(Command::new("ip").args(["netns", "add", &ns]));
        self.namespaces.push(ns);
        self.ip(name, &["link", "set", "lo", "up"]);
        self.sysctl(name, "net.ipv6.conf.all.disable_ipv6", "1");
        self.sysctl(name, "net.ipv6.conf.default.disable_ipv6", "1");
    }

    /// Sets a sysctl inside namespace `name`.
    pub fn sysctl(&self, name: &str, key: &str, value: &str) {
        must(Command::new("ip").args([
            "netns",
            "exec",
            &self.ns(name),
            "sysctl",
            "-qw",
            &format!("{key}={value}"),
        ]));
    }

    /// Joins `dev_a` in namespace `a` and `dev_b` in namespace `b` by a
    /// veth pair, both up, with checksum and segmentation offloads off so
    /// that packet sockets see whole, correctly summed frames.
    pub fn veth(&self, a: &str, dev_a: &str, b: &str, dev_b: &str) {
        let (na, nb) = (self.ns(a), self.ns(b));
        must(Command::new("ip").args([
            "-n", &na, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b, "netns", &nb,
        ]));
        for (ns, dev) in [(a, dev_a), (b, dev_b)] {
            must(Command::new("ip").args([
                "netns",
                "exec",
                &self.ns(ns),
                "ethtool",
                "-K",
                dev,
                "tx",
                "off",
                "tso",
                "off",
                "gso",
                "off",
                "gro",
                "off",
            ]));
            self.ip(ns, &["link", "set", dev, "up"]);
        }
    }

    /// Runs `ip ARGS` inside namespace `name`; panics if it fails.
    pub fn ip(&self, name: &str, args: &[&str]) {
        must(Command::new("ip").arg("-n").arg(self.ns(name)).args(args));
    }

    /// Runs `args` inside namespace `name`, killed after `secs` seconds,
    /// and returns its output (whatever its status).
    pub fn run(&self, name: &str, secs: u32, args: &[&str]) -> Output {
        exec(&self.ns(name), secs, args)
    }

    /// Starts `args` inside namespace `name` in its own process group,
    /// reading its output as it comes.
    pub fn spawn(&self, name: &str, args: &[&str]) -> Daemon {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns(name)])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {args:?}: {e}"));
        let (tx, lines) = channel();
        let out = child.stdout.take().expect("stdout");
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err = Arc::new(Mutex::new(String::new()));
        let sink = err.clone();
        let mut stderr = child.stderr.take().expect("stderr");
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Daemon {
            name: args.join(" "),
            child,
            lines,
            seen: Vec::new(),
            stderr: err,
        }
    }

    /// Waits until something in namespace `name` listens on TCP `port`.
    pub fn wait_listening(&self, name: &str, port: u16, timeout: Duration) {
        wait_listening(&self.ns(name), port, timeout)
    }
}

impl Default for Lab {
    fn default() -> Lab {
        Lab::new()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            destroy(ns);
        }
    }
}

/// Kills what still runs in namespace `ns` (only this lab's own
/// processes can be there), then deletes it; its veths go with it.
fn destroy(ns: &str) {
    for _ in 0..50 {
        let pids = Command::new("ip")
            .args(["netns", "pids", ns])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let pids: Vec<i32> = pids
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            // SAFETY: kill(2) on a process inside our own namespace.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        thread::sleep(Duration::from_millis(20));
    }
    quiet(&["ip", "netns", "del", ns]);
}

/// Removes namespaces of earlier test processes that died without
/// cleaning up (their pid is in the name).
fn reap_stale() {
    let Ok(o) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('x').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            destroy(name);
        }
    }
}

/// A process running in a lab's namespace; killed (with its process
/// group) when dropped.
pub struct Daemon {
    name: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    /// Waits up to `timeout` for an output line containing `needle` and
    /// returns it; panics, with everything printed so far, otherwise.
    pub fn expect_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: no line with '{needle}' within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                    self.name,
                    self.seen.join("\n"),
                    self.stderr()
                ),
            }
        }
    }

    /// Standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit (then
    /// SIGKILL); returns the status and all of standard output.
    pub fn terminate(mut self, timeout: Duration) -> (ExitStatus, String) {
        self.signal(libc::SIGTERM);
        let status = match self.wait_for(timeout) {
            Some(s) => s,
            None => {
                self.signal(libc::SIGKILL);
                self.child.wait().expect("waiting for a child")
            }
        };
        self.finish(status)
    }

    /// Waits up to `timeout` for the process to exit by itself; returns
    /// its status and standard output, or None (it is killed when the
    /// daemon is dropped).
    pub fn wait(mut self, timeout: Duration) -> Option<(ExitStatus, String)> {
        let status = self.wait_for(timeout)?;
        Some(self.finish(status))
    }

    fn wait_for(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("waiting for a child") {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(&mut self, status: ExitStatus) -> (ExitStatus, String) {
        let mut out = std::mem::take(&mut self.seen);
        // The reader stops at end of file, just after the exit.
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            out.push(l);
        }
        (status, out.join("\n") + "\n")
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on the process group of our own child (spawned
        // as its leader), which has not been reaped yet.
        unsafe { libc::kill(-(self.child.id() as i32), sig) };
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

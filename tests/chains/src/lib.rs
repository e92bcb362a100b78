//! Helpers for the chain tests: a chain brought up from a file written for
//! the test, clients and servers in its namespaces, and the checks that
//! nothing is left behind.
#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use mb_tests_host::netns;
pub use mb_tests_host::{image, mbctl, processes, qemu_pids, repo, Scratch};
pub use mb_tests_mbctl::run_tag;

/// True (after printing SKIP) when the machine cannot run chain tests:
/// not root, or no Open vSwitch / clients. Under CI that is a failure.
pub fn skip(test: &str) -> bool {
    let tools = [
        "ovs-vswitchd",
        "ip",
        "ping",
        "curl",
        "iperf3",
        "python3",
        "qemu-system-x86_64",
    ];
    !netns::require(test, &tools)
}

/// A chain under test: its own run directory (so its own private Open
/// vSwitch), taken down on drop whatever happened.
pub struct Chain {
    /// The chain's name.
    pub name: String,
    /// Its run directory.
    pub run: Scratch,
    /// Namespaces the test made itself (removed on drop).
    pub own_netns: Vec<String>,
    up: bool,
}

impl Chain {
    /// A chain named `name` whose file is `toml` (hop configs name files
    /// of `click-configs/chains/` by absolute path).
    pub fn new(name: &str) -> Chain {
        Chain {
            name: name.to_string(),
            run: Scratch::new(&format!("chain-{name}")),
            own_netns: Vec::new(),
            up: false,
        }
    }

    /// `mbctl ARGS` with this chain's run directory.
    pub fn mbctl(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running mbctl")
    }

    /// `mbctl ARGS` with this chain's run directory, to run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(mbctl());
        c.args(args)
            .env("MBCTL_RUN_DIR", &self.run.0)
            .env("MBCTL_OVS", "private")
            .env("MB_IMAGE", image())
            .stdin(Stdio::null());
        c
    }

    /// Writes `toml` as the chain file and runs `chain up` on it.
    pub fn up(&mut self, toml: &str) -> Output {
        self.up_with_fault(toml, None)
    }

    /// [`up`](Self::up) with `MBCTL_FAULT` set to `fault` (see
    /// `mb_vm::fault`) for `chain up` and the agent it may start.
    pub fn up_with_fault(&mut self, toml: &str, fault: Option<&str>) -> Output {
        let f = self.run.join("chain.toml");
        std::fs::write(&f, toml).expect("chain file");
        let mut cmd = self.command(&["chain", "up", f.to_str().expect("utf-8 path")]);
        if let Some(fault) = fault {
            cmd.env("MBCTL_FAULT", fault);
        }
        let o = cmd.output().expect("running mbctl");
        self.up = o.status.success();
        o
    }

    /// `chain down`.
    pub fn down(&mut self) -> Output {
        self.up = false;
        self.mbctl(&["chain", "down", &self.name])
    }

    /// The private Open vSwitch's directory.
    pub fn ovs_dir(&self) -> PathBuf {
        self.run.join("ovs")
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        if self.up {
            let _ = self.mbctl(&["chain", "down", &self.name]);
        }
        // The run directory's agent (started by the first boot) outlives
        // its VMs; a failed test may also leave a QEMU.
        if self.run.join("agent.sock").exists() {
            let _ = self.mbctl(&["agent", "stop"]);
        }
        for pid in qemu_pids(&self.run.0) {
            // SAFETY: a QEMU of this test (its command line names our run dir).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for n in &self.own_netns {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// A click-configs/chains file, by absolute path.
pub fn config(name: &str) -> String {
    repo()
        .join("click-configs/chains")
        .join(name)
        .display()
        .to_string()
}

/// A background process (a server), killed on drop.
pub struct Bg(pub Child);

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` in namespace `ns`, killed after two minutes.
pub fn in_ns(ns: &str, cmd: &[&str]) -> Output {
    netns::exec(ns, 120, cmd)
}

/// Starts `cmd` in namespace `ns` in the background, output to `log`.
pub fn spawn_in(ns: &str, cmd: &[&str], log: &Path) -> Bg {
    let f = std::fs::File::create(log).expect("log file");
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(cmd)
        .stdin(Stdio::null())
        .stdout(f.try_clone().expect("log"))
        .stderr(f)
        .spawn()
        .expect("starting a server");
    Bg(child)
}

/// Waits until something listens on TCP `port` in `ns` (servers start
/// asynchronously); panics after 10 s.
pub fn wait_listening(ns: &str, port: u16) {
    netns::wait_listening(ns, port, std::time::Duration::from_secs(10));
}

/// Text of an output's stdout and stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Everything on this host that carries the chain's name or is one of
/// `namespaces`: namespaces, network devices, switch daemons of the run
/// directory, hop processes. Empty when `chain down` did its job.
pub fn leftovers(c: &Chain, namespaces: &[&str]) -> Vec<String> {
    let mut v = Vec::new();
    let ns = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .expect("ip netns list")
            .stdout,
    )
    .into_owned();
    for l in ns.lines() {
        let n = l.split_whitespace().next().unwrap_or("");
        if n == format!("mbc-{}", c.name) || namespaces.contains(&n) {
            v.push(format!("namespace {n}"));
        }
    }
    if let Ok(rd) = std::fs::read_dir("/sys/class/net") {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&format!("{}-", c.name)) {
                v.push(format!("device {n}"));
            }
        }
    }
    for d in ["ovs-vswitchd", "ovsdb-server"] {
        if let Ok(p) = std::fs::read_to_string(c.ovs_dir().join(format!("{d}.pid"))) {
            if let Ok(pid) = p.trim().parse::<i32>() {
                // SAFETY: signal 0 only probes.
                if unsafe { libc::kill(pid, 0) } == 0 {
                    v.push(format!("{d} pid {pid}"));
                }
            }
        }
    }
    // Hop processes: `mbctl run` with this chain's name in its arguments,
    // or runner hops forked by `chain up` (named `mbctl-hop`, `chain up`'s
    // command line naming this chain's file).
    let chain_arg = format!("CHAIN={} ", c.name);
    let chain_file = c.run.join("chain.toml").display().to_string();
    for (pid, cmd) in processes() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if (cmd.contains(" run ") && format!("{cmd} ").contains(&chain_arg))
            || (comm.trim() == "mbctl-hop" && cmd.contains(&chain_file))
        {
            v.push(format!("process {pid}: {cmd}"));
        }
    }
    for pid in qemu_pids(&c.run.0) {
        v.push(format!("QEMU pid {pid}"));
    }
    let taps = format!("mb{}", run_tag(&c.run.0));
    if let Ok(rd) = std::fs::read_dir("/sys/class/net") {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&taps) {
                v.push(format!("tap {n}"));
            }
        }
    }
    if c.run.join("chains").join(&c.name).exists() {
        v.push("its record".into());
    }
    v
}

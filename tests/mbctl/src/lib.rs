//! Helpers for the end-to-end tests of `mbctl` with real QEMU guests: the
//! built binary, a private run directory (its own agent and store) per
//! test, the guest image, and checks that nothing is left behind.
//!
//! Environment: `MB_IMAGE` (guest image; default: `make image` once),
//! `MB_QEMU` (QEMU binary, passed through to mbctl).

#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

// The repository root, the guest image and the freshly built `mbctl` are
// the host tests'.
pub use mb_tests_host::{image, mbctl, repo};

/// Whether this machine can run the tests: QEMU present (and root for
/// taps). Under CI a missing piece fails; otherwise the test prints SKIP.
pub fn can_run(test: &str, need_root: bool) -> bool {
    let qemu = std::env::var("MB_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into());
    let have_qemu = Command::new(&qemu)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let missing = if !have_qemu {
        Some("QEMU (apt-get install qemu-system-x86)")
    } else if need_root && !root {
        Some("root (taps and namespaces)")
    } else {
        None
    };
    match missing {
        None => true,
        Some(m) if std::env::var_os("CI").is_some() => panic!("{test}: needs {m}"),
        Some(m) => {
            println!("SKIP {test}: needs {m}");
            false
        }
    }
}

/// A private run directory with its own agent; on drop, destroys what is
/// left, stops the agent and removes the directory.
pub struct Host {
    /// The run directory (`MBCTL_RUN_DIR`).
    pub run: PathBuf,
    /// Scratch files (configs, NIC sockets).
    pub scratch: PathBuf,
}

impl Host {
    /// A fresh run directory (short path: unix sockets live there).
    pub fn new() -> Host {
        static N: AtomicUsize = AtomicUsize::new(0);
        let id = format!(
            "{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let run = std::env::temp_dir().join(format!("mbe-{id}"));
        let scratch = std::env::temp_dir().join(format!("mbs-{id}"));
        for d in [&run, &scratch] {
            let _ = std::fs::remove_dir_all(d);
        }
        std::fs::create_dir_all(&scratch).expect("scratch dir");
        Host { run, scratch }
    }

    /// `mbctl ARGS` against this run directory, to spawn or run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(mbctl());
        c.args(args)
            .env("MBCTL_RUN_DIR", &self.run)
            .env("MB_IMAGE", image())
            .env_remove("XENSTORED_PATH")
            .current_dir(&self.scratch)
            .stdin(Stdio::null());
        c
    }

    /// Runs `mbctl ARGS` against this run directory.
    pub fn mbctl(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running mbctl")
    }

    /// Runs `mbctl ARGS` and insists it succeeds; returns standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.mbctl(args);
        assert!(
            o.status.success(),
            "mbctl {args:?} failed ({}):\n{}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).expect("UTF-8 output")
    }

    /// Runs `mbctl ARGS`, insists it fails, returns standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.mbctl(args);
        assert!(
            !o.status.success(),
            "mbctl {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    /// Writes a scratch file and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.scratch.join(name);
        std::fs::write(&p, text).expect("writing scratch file");
        p
    }

    /// `XENSTORED_PATH` for this host's store.
    pub fn store_socket(&self) -> PathBuf {
        self.run.join("xenstored.sock")
    }

    /// Lists a store node's children with Debian's `xenstore-list`.
    pub fn store_list(&self, path: &str) -> Vec<String> {
        let o = Command::new("xenstore-list")
            .arg(path)
            .env("XENSTORED_PATH", self.store_socket())
            .output()
            .expect("running xenstore-list (apt-get install xenstore-utils)");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Pids of QEMU processes started for this run directory.
    pub fn qemu_pids(&self) -> Vec<i32> {
        mb_tests_host::qemu_pids(&self.run)
    }

    /// Pids of the agents serving this run directory (processes named
    /// `mbctl-agent` whose environment names it).
    pub fn agent_pids(&self) -> Vec<i32> {
        let want = format!("MBCTL_RUN_DIR={}", self.run.display());
        let mut pids: Vec<i32> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
                comm.trim() == "mbctl-agent" && env.split(|&b| b == 0).any(|v| v == want.as_bytes())
            })
            .collect();
        pids.sort();
        pids
    }

    /// Network devices named like this run directory's taps and veths.
    pub fn devices(&self) -> Vec<String> {
        let prefix = format!("mb{}", run_tag(&self.run));
        std::fs::read_dir("/sys/class/net")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix))
            .collect()
    }

    /// Asserts that no QEMU process, device, record or guest store node of
    /// this host is left.
    pub fn assert_clean(&self) {
        assert_eq!(self.qemu_pids(), Vec::<i32>::new(), "QEMU processes left");
        assert_eq!(self.devices(), Vec::<String>::new(), "devices left");
        if self.store_socket().exists() {
            assert_eq!(
                self.store_list("/mbctl/vm"),
                Vec::<String>::new(),
                "records left"
            );
            assert_eq!(
                self.store_list("/local/domain"),
                Vec::<String>::new(),
                "guest nodes left"
            );
        }
        // The VMs' files, and their QEMUs' guest directories.
        for dir in ["vms", "guests"] {
            let d = self.run.join(dir);
            let left: Vec<_> = std::fs::read_dir(&d)
                .into_iter()
                .flatten()
                .flatten()
                .collect();
            assert!(left.is_empty(), "files left in {}: {left:?}", d.display());
        }
    }
}

impl Default for Host {
    fn default() -> Self {
        Host::new()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if self.run.join("agent.sock").exists() {
            if let Ok(o) = Command::new(mbctl())
                .args(["ls", "--json"])
                .env("MBCTL_RUN_DIR", &self.run)
                .output()
            {
                for name in json_names(&String::from_utf8_lossy(&o.stdout)) {
                    let _ = self.mbctl(&["destroy", &name]);
                }
            }
            let _ = self.mbctl(&["agent", "stop"]);
        }
        for pid in self.qemu_pids() {
            // SAFETY: a QEMU this test started (its cmdline names our run dir).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = std::fs::remove_dir_all(&self.run);
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Runs `ip ARGS` and insists it succeeds.
pub fn ip(args: &[&str]) {
    let o = Command::new("ip").args(args).output().expect("running ip");
    assert!(
        o.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Pings `addr` `count` times from namespace `netns` and insists every
/// echo is answered; `through` names what the frames cross, for the message.
pub fn ping_ok(netns: &str, addr: &str, count: u32, through: &str) {
    let o = Command::new("ip")
        .args(["netns", "exec", netns, "ping", "-c"])
        .arg(count.to_string())
        .args(["-i", "0.3", "-W", "5", addr])
        .output()
        .expect("running ping");
    assert!(
        o.status.success(),
        "ping through {through}: {}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Network namespaces, deleted on drop.
pub struct Netns(pub Vec<String>);

impl Netns {
    /// Adds namespaces `names`.
    pub fn new(names: &[&str]) -> Netns {
        let ns = Netns(names.iter().map(|n| n.to_string()).collect());
        for n in names {
            ip(&["netns", "add", n]);
        }
        ns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// Two fresh namespaces, `mb{tag}l<pid>` and `mb{tag}r<pid>`, and a
/// middlebox `name` (TCG) running `config` between them: NIC 0 in the
/// left one as `eth0`, NIC 1 in the right one as `in0`; `extra` are more
/// `boot` options. Returns the namespaces and their names.
pub fn boot_between(
    h: &Host,
    tag: &str,
    config: &Path,
    name: &str,
    extra: &[&str],
) -> (Netns, String, String) {
    let id = std::process::id() % 100000;
    let (l, r) = (format!("mb{tag}l{id}"), format!("mb{tag}r{id}"));
    let ns = Netns::new(&[&l, &r]);
    let (nl, nr) = (format!("netns:{l}"), format!("netns:{r}:in0"));
    let mut args = vec![
        "boot",
        config.to_str().expect("a UTF-8 path"),
        "--name",
        name,
        "--accel",
        "tcg",
        "--nic",
        &nl,
        "--nic",
        &nr,
    ];
    args.extend_from_slice(extra);
    h.ok(&args);
    (ns, l, r)
}

/// The `"name"` values of `mbctl ls --json` output.
pub fn json_names(json: &str) -> Vec<String> {
    json.match_indices("\"name\":\"")
        .filter_map(|(i, m)| {
            let rest = &json[i + m.len()..];
            rest.find('"').map(|e| rest[..e].to_string())
        })
        .collect()
}

/// The integer value of `"key":N` in `json` (first occurrence).
pub fn json_int(json: &str, key: &str) -> Option<i64> {
    let pat = format!("\"{key}\":");
    let i = json.find(&pat)? + pat.len();
    let rest = &json[i..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The device tag mbctl uses for a run directory (see `mb_vm::net::run_tag`).
pub fn run_tag(run: &Path) -> String {
    let h = run
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0x811c_9dc5u32, |h, &b| {
            (h ^ b as u32).wrapping_mul(0x0100_0193)
        });
    format!("{:04x}", (h ^ (h >> 16)) & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_helpers() {
        let j = r#"[{"name":"a","domid":3,"nics":[{"spec":"x"}]},{"name":"b","domid":12}]"#;
        assert_eq!(json_names(j), ["a", "b"]);
        assert_eq!(json_int(j, "domid"), Some(3));
        assert_eq!(json_int(j, "none"), None);
    }
}

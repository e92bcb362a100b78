//! A private Open vSwitch: `ovsdb-server` and `ovs-vswitchd
//! --disable-system` (userspace datapath only) with every file (database,
//! sockets, pid files, logs) in one directory.

use crate::error::{bail, Context, Result};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::tool;

/// The database schema Debian's openvswitch-common installs.
pub const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

fn pid_of(dir: &Path, daemon: &str) -> Option<i32> {
    let s = std::fs::read_to_string(dir.join(format!("{daemon}.pid"))).ok()?;
    s.trim().parse().ok().filter(|&p| p > 0)
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Whether both daemons of the instance in `dir` run and the database
/// answers.
pub fn answers(dir: &Path) -> bool {
    let up = |d| pid_of(dir, d).is_some_and(alive);
    if !up("ovsdb-server") || !up("ovs-vswitchd") || !dir.join("db.sock").exists() {
        return false;
    }
    let db = format!("--db=unix:{}", dir.join("db.sock").display());
    tool::run("ovs-vsctl", &[&db, "--timeout=5", "show"], &[]).is_ok()
}

/// Holds an exclusive lock on `<dir>/lock` so two toolstack processes do
/// not start or stop the daemons at once.
struct Lock(File);

impl Lock {
    fn take(dir: &Path) -> Result<Lock> {
        let f = File::create(dir.join("lock"))
            .with_context(|| format!("creating {}", dir.join("lock").display()))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            bail!("locking {}", dir.join("lock").display());
        }
        Ok(Lock(f))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // SAFETY: as above; closing would release it too.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

fn env(dir: &Path) -> [(&'static str, String); 3] {
    let d = dir.display().to_string();
    [
        ("OVS_RUNDIR", d.clone()),
        ("OVS_DBDIR", d.clone()),
        ("OVS_LOGDIR", d),
    ]
}

/// Starts the private instance in `dir` unless it already runs.
pub fn ensure(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let _lock = Lock::take(dir)?;
    if answers(dir) {
        return Ok(());
    }
    // Leftovers of a crashed instance: only ours, found by our pid files.
    kill_leftovers(dir);
    let db = dir.join("conf.db");
    let d = |p: &str| dir.join(p).display().to_string();
    let env = env(dir);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if !db.exists() {
        if !Path::new(SCHEMA).exists() {
            bail!(
                "{SCHEMA} missing: install Open vSwitch with `apt-get install openvswitch-switch`"
            );
        }
        tool::run("ovsdb-tool", &["create", &d("conf.db"), SCHEMA], &env)
            .context("creating the private OVS database")?;
    }
    tool::run(
        "ovsdb-server",
        &[
            &d("conf.db"),
            &format!("--remote=punix:{}", d("db.sock")),
            &format!("--pidfile={}", d("ovsdb-server.pid")),
            &format!("--unixctl={}", d("ovsdb-server.ctl")),
            &format!("--log-file={}", d("ovsdb-server.log")),
            "--detach",
        ],
        &env,
    )
    .context("starting the private ovsdb-server")?;
    let dbarg = format!("--db=unix:{}", d("db.sock"));
    tool::run("ovs-vsctl", &[&dbarg, "--no-wait", "init"], &env)?;
    tool::run(
        "ovs-vswitchd",
        &[
            &format!("unix:{}", d("db.sock")),
            "--disable-system",
            &format!("--pidfile={}", d("ovs-vswitchd.pid")),
            &format!("--unixctl={}", d("ovs-vswitchd.ctl")),
            &format!("--log-file={}", d("ovs-vswitchd.log")),
            "--detach",
        ],
        &env,
    )
    .with_context(|| {
        format!(
            "starting the private ovs-vswitchd (log: {})",
            d("ovs-vswitchd.log")
        )
    })?;
    if !answers(dir) {
        bail!(
            "the private Open vSwitch in {} did not come up (see its logs there)",
            dir.display()
        );
    }
    Ok(())
}

fn kill_leftovers(dir: &Path) {
    for daemon in ["ovs-vswitchd", "ovsdb-server"] {
        if let Some(pid) = pid_of(dir, daemon).filter(|&p| alive(p)) {
            // Only if it really is that daemon: pid files can outlive reboots.
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == daemon || comm.trim().starts_with("ovs") {
                terminate(pid);
            }
        }
        let _ = std::fs::remove_file(dir.join(format!("{daemon}.pid")));
    }
    let _ = std::fs::remove_file(dir.join("db.sock"));
}

fn terminate(pid: i32) {
    // SAFETY: plain kill(2) on a pid read from our own pid file.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let t = Instant::now();
    while alive(pid) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if alive(pid) {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Stops the private instance in `dir` (its database file stays, so a
/// restart sees what was left).
pub fn stop(dir: &Path) -> Result<()> {
    let _lock = Lock::take(dir)?;
    for daemon in ["ovs-vswitchd", "ovsdb-server"] {
        let ctl = dir.join(format!("{daemon}.ctl"));
        if let Some(pid) = pid_of(dir, daemon).filter(|&p| alive(p)) {
            let _ = tool::run(
                "ovs-appctl",
                &["-t", &ctl.display().to_string(), "exit"],
                &[],
            );
            let t = Instant::now();
            while alive(pid) && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if alive(pid) {
                terminate(pid);
            }
        }
        let _ = std::fs::remove_file(dir.join(format!("{daemon}.pid")));
    }
    Ok(())
}

//! Running host tools (`ip`, `ovs-vsctl`, `tc`, `xl`, QEMU) with errors a
//! user can act on: a missing tool names the Debian package to install.

use crate::bail;
use crate::error::{Context, Result};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The Debian package that provides `tool`, for error messages.
pub fn package_of(tool: &str) -> &'static str {
    match tool {
        "ip" | "tc" => "iproute2",
        "ovs-vsctl" | "ovs-vswitchd" | "ovsdb-server" => "openvswitch-switch",
        "ethtool" => "ethtool",
        "xl" => "xen-utils-4.17",
        t if t.starts_with("qemu-system") => "qemu-system-x86",
        _ => "the package that provides it",
    }
}

pub use mb_ovs::tool::which;

/// Like [`which`], failing with the install command.
pub fn require(tool: &str) -> Result<PathBuf> {
    which(tool).with_context(|| {
        format!(
            "{tool} not found: install it with `apt-get install {}`",
            package_of(tool)
        )
    })
}

/// Runs `tool args...`; returns its standard output, or fails with its
/// standard error and the command line.
pub fn run(tool: &str, args: &[&str]) -> Result<String> {
    run_env(tool, args, &[])
}

/// Like [`run`], with extra environment variables.
pub fn run_env(tool: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    Ok(mb_ovs::tool::run_found(&require(tool)?, tool, args, env)?)
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Fails unless root, saying what needed it.
pub fn require_root(what: &str) -> Result<()> {
    if !is_root() {
        bail!("{what} needs root (run mbctl with sudo)");
    }
    Ok(())
}

/// How a [`fork_detached`] child leaves this process's job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detach {
    /// A session of its own: it outlives this process and its terminal.
    Session,
    /// A process group of its own: a ^C at the terminal does not reach it.
    Group,
}

/// Whether this process has a single thread (as `fork` without `exec`
/// needs: the child gets only the calling thread, and a lock another
/// thread held would stay taken in it forever).
pub fn single_threaded() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .is_some_and(|n| n.trim() == "1")
    })
}

/// How [`fork_detached`] starts a child.
#[derive(Clone, Copy, Debug)]
pub struct Detached<'a> {
    /// Its process name (`comm`, at most 15 bytes: what `ps -e` and `top`
    /// show; its command line stays the caller's).
    pub name: &'a str,
    /// Where its output and errors go (appended).
    pub log: &'a Path,
    /// How it leaves this process's job.
    pub detach: Detach,
    /// A network namespace (an open `/run/netns/NAME`) to enter.
    pub netns: Option<&'a std::fs::File>,
}

/// Runs `body` in a child process set up as `how` says, its standard input
/// `/dev/null`, none of this process's other files open; the child exits
/// with `body`'s status. Returns the child's pid. This is how the
/// toolstack starts its own long-running parts (the agent, a chain's
/// runner hops) without running its binary again; the caller must still
/// be single-threaded.
pub fn fork_detached(how: &Detached, body: impl FnOnce() -> i32) -> Result<i32> {
    if !single_threaded() {
        bail!("starting a background process needs a single-threaded caller");
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(how.log)
        .with_context(|| format!("opening {}", how.log.display()))?;
    // One made before the toolstack restricted its files.
    let _ = log.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let name = std::ffi::CString::new(how.name)
        .ok()
        .context("a process name with a NUL")?;
    let null = std::fs::File::open("/dev/null").context("opening /dev/null")?;
    // Whatever is buffered would otherwise be written twice.
    let _ = std::io::stdout().flush();
    // SAFETY: single-threaded (checked above), so the child's copy of the
    // address space has no lock held by a thread that no longer exists.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).context("fork");
    }
    if pid > 0 {
        return Ok(pid);
    }
    // SAFETY: plain syscalls on descriptors this child owns; from here on
    // the child never returns into the caller's code.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, name.as_ptr());
        match how.detach {
            Detach::Session => libc::setsid(),
            Detach::Group => libc::setpgid(0, 0),
        };
        libc::dup2(null.as_raw_fd(), 0);
        libc::dup2(log.as_raw_fd(), 1);
        libc::dup2(log.as_raw_fd(), 2);
        if let Some(ns) = how.netns {
            if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                let e = std::io::Error::last_os_error();
                eprintln!("entering the network namespace: {e}");
                libc::_exit(1);
            }
        }
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
    std::mem::forget((log, null));
    let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
    let _ = std::io::stdout().flush();
    // SAFETY: ends the child without running the parent's exit handlers.
    unsafe { libc::_exit(status) }
}

/// Whether child `pid` has exited (and reaps it if so); its status.
pub fn child_exited(pid: i32) -> Option<i32> {
    let mut status = 0;
    // SAFETY: waitpid on our own child, not blocking.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (r == pid).then_some(status)
}

/// Processes whose command line has `arg` as one whole argument (a VM's
/// pid file names its QEMU, also one still starting that no record or
/// pid file names yet).
pub fn processes_with_arg(arg: &Path) -> Vec<i32> {
    let want = arg.as_os_str().as_encoded_bytes();
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && crate::pidfile::alive(pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == want))
        })
        .collect()
}

/// Kills (SIGKILL) every process [`processes_with_arg`] finds for `arg`
/// and waits up to `timeout` for them to go; fails naming those left.
pub fn kill_all_with_arg(arg: &Path, timeout: std::time::Duration) -> Result<()> {
    let start = std::time::Instant::now();
    loop {
        let left = processes_with_arg(arg);
        if left.is_empty() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!(
                "processes {left:?} (of {}) did not exit after SIGKILL",
                arg.display()
            );
        }
        for &pid in &left {
            // SAFETY: plain syscall; these processes name our VM's file.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tools_name_their_package() {
        let e = require("qemu-system-nonexistent-arch").unwrap_err();
        assert!(
            e.to_string().contains("apt-get install qemu-system-x86"),
            "{e}"
        );
        assert!(which("sh").is_some());
        let e = run("sh", &["-c", "echo oops >&2; exit 3"]).unwrap_err();
        assert!(e.to_string().contains("oops"), "{e}");
        assert_eq!(run("sh", &["-c", "echo hi"]).unwrap(), "hi\n");
    }

    #[test]
    fn processes_found_and_killed_by_argument() {
        let tag = std::env::temp_dir().join(format!("mb-vm-arg-{}", std::process::id()));
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 60", "sh"])
            .arg(&tag)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let start = std::time::Instant::now();
        while processes_with_arg(&tag).is_empty() && start.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(processes_with_arg(&tag), [pid]);
        let reaper = std::thread::spawn(move || child.wait());
        kill_all_with_arg(&tag, std::time::Duration::from_secs(5)).unwrap();
        assert!(processes_with_arg(&tag).is_empty());
        let _ = reaper.join();
    }

    #[test]
    fn forked_children_refuse_threaded_callers() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        assert!(!single_threaded());
        let log = std::env::temp_dir().join(format!("mb-vm-fork-{}", std::process::id()));
        let how = Detached {
            name: "test",
            log: &log,
            detach: Detach::Group,
            netns: None,
        };
        let e = fork_detached(&how, || 0).unwrap_err();
        assert!(e.to_string().contains("single-threaded"), "{e}");
        drop(tx);
        let _ = other.join();
        assert!(!log.exists(), "nothing was started");
    }
}

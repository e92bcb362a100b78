//! Pid files: who serves a run directory (the agent), which process a VM is (QEMU).

use std::io;
use std::path::Path;

/// The pid recorded in `path`, if the file exists and holds one.
pub fn read(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&p| p > 0)
}

/// Records this process's pid in `path` (written to a temporary file, then renamed).
pub fn write(path: &Path) -> io::Result<()> {
    let tmp = path.with_extension("pid.tmp");
    std::fs::write(&tmp, format!("{}\n", std::process::id()))?;
    std::fs::rename(&tmp, path)
}

/// Whether process `pid` exists and has not exited (a zombie waiting for its
/// parent to reap it counts as gone).
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    let exists = r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && !zombie(pid)
}

fn zombie(pid: i32) -> bool {
    // The state letter follows the parenthesised command name, which may contain spaces.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Sends SIGTERM to `pid`.
pub fn terminate(pid: i32) -> io::Result<()> {
    // SAFETY: plain syscall on a pid we read from our own pid file.
    if unsafe { libc::kill(pid, libc::SIGTERM) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_liveness() {
        let d = std::env::temp_dir().join(format!("mbctl-pid-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("agent.pid");
        assert_eq!(read(&p), None);
        write(&p).unwrap();
        assert_eq!(read(&p), Some(std::process::id() as i32));
        assert!(alive(std::process::id() as i32));
        std::fs::write(&p, "garbage").unwrap();
        assert_eq!(read(&p), None);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

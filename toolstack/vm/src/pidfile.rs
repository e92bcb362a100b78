//! Pid files: who serves a run directory (the agent), which process a VM
//! is (QEMU); and the lock that makes one agent per run directory.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// An exclusive lock on a file, held until dropped or until the process
/// ends however it ends (the kernel releases it, so a `kill -9` leaves no
/// stale lock the way it leaves a stale pid file). An open file
/// description lock (`F_OFD_SETLK`): like `flock`, it belongs to the open
/// file, but [`locked`] can test for it without taking it, so a command
/// looking never makes a starting agent fail.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] File);

fn open_lock(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

fn whole_file(kind: libc::c_int) -> libc::flock {
    // SAFETY: flock is plain data; zero is a valid value of every field.
    let mut l: libc::flock = unsafe { std::mem::zeroed() };
    l.l_type = kind as libc::c_short;
    l.l_whence = libc::SEEK_SET as libc::c_short;
    l
}

/// Takes the lock on `path` (created 0600 if missing) without waiting;
/// `None` if another open file (of any process) holds it.
pub fn try_lock(path: &Path) -> io::Result<Option<Lock>> {
    let f = open_lock(path)?;
    let l = whole_file(libc::F_WRLCK);
    // SAFETY: fcntl on a descriptor we own, with a valid flock.
    if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLK, &l) } == 0 {
        return Ok(Some(Lock(f)));
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(None),
        _ => Err(e),
    }
}

/// Whether some process holds the lock on `path` (a missing file: no).
/// Only looks: the lock is never taken, even for a moment.
pub fn locked(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut l = whole_file(libc::F_WRLCK);
    // SAFETY: fcntl on a descriptor we own, with a valid flock.
    let r = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_GETLK, &mut l) };
    r == 0 && l.l_type != libc::F_UNLCK as libc::c_short
}

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
    use std::io::Write;
    let tmp = path.with_extension("pid.tmp");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?
        .write_all(format!("{}\n", std::process::id()).as_bytes())?;
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
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&p, "garbage").unwrap();
        assert_eq!(read(&p), None);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn one_lock_holder_at_a_time() {
        let d = std::env::temp_dir().join(format!("mbctl-lock-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("agent.lock");
        assert!(!locked(&p));
        let held = try_lock(&p).unwrap().expect("free lock");
        // The lock belongs to the open file: a second open is refused
        // even in the same process.
        assert!(try_lock(&p).unwrap().is_none());
        assert!(locked(&p));
        drop(held);
        assert!(!locked(&p));
        assert!(try_lock(&p).unwrap().is_some());
        std::fs::remove_dir_all(&d).unwrap();
    }
}

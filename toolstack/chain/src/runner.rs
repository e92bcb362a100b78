//! Hops run by the host runner: what `mbctl run CONFIG DEFINES...` does,
//! in a child process that entered the chain's namespace, detached, its
//! output in a log file.

use crate::error::{Context, Result};
use mb_vm::bail;
use mb_vm::sys::{self, Detach, Detached};
use std::path::Path;
use std::time::{Duration, Instant};

/// A process's start time (clock ticks after boot), which tells a live
/// process from a later one that reused its pid.
pub fn start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces and ')'.
    let rest = &s[s.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// Whether `pid` still is the process that started at `start`.
pub fn alive(pid: i32, start: u64) -> bool {
    start_time(pid) == Some(start)
}

/// Starts the host runner on `config` with `defines` in namespace
/// `netns`, output to `log`. Returns its pid and start time.
pub fn spawn(
    netns: &str,
    config: &Path,
    defines: &[(String, String)],
    log: &Path,
) -> Result<(i32, u64)> {
    let ns = std::fs::File::open(Path::new("/run/netns").join(netns))
        .with_context(|| format!("opening network namespace {netns}"))?;
    let _ = std::fs::remove_file(log);
    let opts = mb_runner::RunOptions {
        file: config.display().to_string(),
        overrides: defines.to_vec(),
        ..Default::default()
    };
    // Its own process group: a ^C at the terminal that ran `chain up`
    // must not stop the chain.
    let how = Detached {
        name: "mbctl-hop",
        log,
        detach: Detach::Group,
        netns: Some(&ns),
    };
    let pid = sys::fork_detached(&how, move || match std::fs::read_to_string(config) {
        Ok(source) => mb_runner::run(&mb_runner::RunOptions { source, ..opts }),
        Err(e) => {
            eprintln!("{}: {e}", config.display());
            1
        }
    })
    .context("starting the hop's runner")?;
    let start = start_time(pid).unwrap_or(0);
    Ok((pid, start))
}

fn packet_sockets(pid: i32) -> usize {
    let Ok(table) = std::fs::read_to_string(format!("/proc/{pid}/net/packet")) else {
        return 0;
    };
    let inodes: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.flatten()
        .filter_map(|f| std::fs::read_link(f.path()).ok())
        .filter_map(|l| {
            let s = l.to_string_lossy().into_owned();
            s.strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(str::to_string)
        })
        .filter(|i| inodes.contains(&i.as_str()))
        .count()
}

/// Waits until hop process `pid` has opened its `devices` packet sockets
/// (one per FromDevice/ToDevice: the router is then initialized), or fails
/// with its log when it exits.
pub fn wait_ready(pid: i32, start: u64, hop: &str, log: &Path, devices: usize) -> Result<()> {
    let t = Instant::now();
    loop {
        if !alive(pid, start) || is_zombie(pid) {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            bail!("hop {hop} exited at start:\n{}", text.trim_end());
        }
        if packet_sockets(pid) >= devices.max(1) {
            return Ok(());
        }
        if t.elapsed() > Duration::from_secs(20) {
            bail!(
                "hop {hop} (pid {pid}) did not open its devices within 20 s; see {}",
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with('Z')))
        .unwrap_or(false)
}

/// Stops hop process `pid` if it still is the one started at `start`:
/// SIGTERM, then SIGKILL after 5 s.
pub fn stop(pid: i32, start: u64) {
    if !alive(pid, start) {
        return;
    }
    // SAFETY: kill(2) on a pid checked against its start time just above.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let t = Instant::now();
    while alive(pid, start) && !is_zombie(pid) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    if alive(pid, start) && !is_zombie(pid) {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    // Reap it if it is our child (a failed `up` in this process).
    // SAFETY: waitpid on a pid that is ours or not a child at all (ECHILD).
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_times_tell_processes_apart() {
        let me = std::process::id() as i32;
        let t = start_time(me).expect("own start time");
        assert!(alive(me, t));
        assert!(!alive(me, t + 1));
        assert_eq!(start_time(-5), None);
    }
}

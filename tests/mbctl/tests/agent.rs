//! One agent per run directory, whatever starts it, and the run
//! directory's permissions: concurrent first commands, a stale pid file
//! naming an unrelated process, a second agent refused without touching
//! the first's sockets, 0700/0600 on what the toolstack creates.

use mb_tests_mbctl::Host;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn concurrent_first_commands_start_one_agent() {
    let h = Host::new();
    for round in 0..3 {
        let children: Vec<_> = (0..6)
            .map(|_| {
                h.command(&["ls"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawning mbctl ls")
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(
                o.status.success(),
                "round {round}: mbctl ls failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let agents = h.agent_pids();
        assert_eq!(agents.len(), 1, "round {round}: agents {agents:?}");
        let pid: i32 = std::fs::read_to_string(h.run.join("agent.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(agents, [pid], "the pid file names the agent");
        h.ok(&["agent", "stop"]);
        assert_eq!(h.agent_pids(), Vec::<i32>::new());
    }
}

#[test]
fn stale_pid_file_of_another_process_does_not_block() {
    let h = Host::new();
    h.ok(&["ls"]);
    let first = h.agent_pids();
    // SAFETY: SIGKILL to the agent this test started.
    unsafe { libc::kill(first[0], libc::SIGKILL) };
    while !h.agent_pids().is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // The killed agent's pid now "belongs" to an unrelated live process.
    let mut other = Command::new("sleep").arg("60").spawn().unwrap();
    std::fs::write(h.run.join("agent.pid"), format!("{}\n", other.id())).unwrap();
    h.ok(&["ls"]);
    let second = h.agent_pids();
    assert_eq!(second.len(), 1);
    assert_ne!(second[0] as u32, other.id());
    // A second agent is refused, and the first keeps its sockets.
    let e = h.fails(&["agent"]);
    assert!(e.contains("already serves"), "{e}");
    h.ok(&["ls"]);
    assert_eq!(h.agent_pids(), second);
    h.ok(&["agent", "stop"]);
    assert!(
        other.try_wait().unwrap().is_none(),
        "stop signalled the process a stale pid file named"
    );
    // With no agent, a stale pid file is noticed and removed, nothing signalled.
    std::fs::write(h.run.join("agent.pid"), format!("{}\n", other.id())).unwrap();
    let o = h.mbctl(&["agent", "stop"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(other.try_wait().unwrap().is_none());
    assert!(!h.run.join("agent.pid").exists());
    other.kill().unwrap();
    let _ = other.wait();
}

#[test]
fn run_directory_and_files_are_private() {
    let h = Host::new();
    // One made by hand, world-readable: the agent restricts it.
    std::fs::create_dir_all(&h.run).unwrap();
    std::fs::set_permissions(&h.run, std::fs::Permissions::from_mode(0o755)).unwrap();
    h.ok(&["ls"]);
    assert_eq!(mode(&h.run), 0o700);
    for f in ["agent.log", "agent.pid", "agent.lock"] {
        assert_eq!(mode(&h.run.join(f)), 0o600, "{f}");
    }
    let sock = h.run.join("agent.sock");
    assert!(std::fs::metadata(&sock).unwrap().file_type().is_socket());
    assert_eq!(mode(&sock), 0o600, "agent.sock");
    // The store's snapshot and log, written with the agent's umask.
    for e in std::fs::read_dir(h.run.join("store")).unwrap().flatten() {
        let m = mode(&e.path());
        assert_eq!(m & 0o077, 0, "{}: {m:o}", e.path().display());
    }
}

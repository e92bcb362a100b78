//! The agent's run directory and the files in it.

use std::path::{Path, PathBuf};

/// Default run directory when `MBCTL_RUN_DIR` is not set.
pub const DEFAULT_RUN_DIR: &str = "/run/mbctl";

/// `$MBCTL_RUN_DIR` (or `/run/mbctl`) and the paths the agent keeps there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> RunDir {
        RunDir { root: root.into() }
    }

    /// From `MBCTL_RUN_DIR`, defaulting to `/run/mbctl`.
    pub fn from_env() -> RunDir {
        match std::env::var_os("MBCTL_RUN_DIR") {
            Some(d) if !d.is_empty() => RunDir::new(d),
            _ => RunDir::new(DEFAULT_RUN_DIR),
        }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store's privileged socket (what `XENSTORED_PATH` points at).
    pub fn store_socket(&self) -> PathBuf {
        self.root.join("xenstored.sock")
    }

    /// The socket a guest's console connects to, acting as domain `domid`.
    pub fn guest_socket(&self, domid: u32) -> PathBuf {
        self.root.join("guests").join(format!("{domid}.sock"))
    }

    /// The store's snapshot and log.
    pub fn store_state(&self) -> PathBuf {
        self.root.join("store")
    }

    /// The agent's control socket (requests from `mbctl` commands).
    pub fn control_socket(&self) -> PathBuf {
        self.root.join("agent.sock")
    }

    /// Where a background agent's messages go.
    pub fn agent_log(&self) -> PathBuf {
        self.root.join("agent.log")
    }

    /// The agent's pid file.
    pub fn pid_file(&self) -> PathBuf {
        self.root.join("agent.pid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let r = RunDir::new("/tmp/x");
        assert_eq!(r.store_socket(), Path::new("/tmp/x/xenstored.sock"));
        assert_eq!(r.guest_socket(3), Path::new("/tmp/x/guests/3.sock"));
        assert_eq!(r.pid_file(), Path::new("/tmp/x/agent.pid"));
    }
}

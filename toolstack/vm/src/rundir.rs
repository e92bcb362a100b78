//! The agent's run directory and the files in it.

use std::path::{Path, PathBuf};

/// Default run directory when `MBCTL_RUN_DIR` is not set.
pub const DEFAULT_RUN_DIR: &str = "/run/mbctl";

/// `$MBCTL_RUN_DIR` (or `/run/mbctl`) and the paths the agent keeps there,
/// with the store socket this host's clients use, resolved once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
    store: PathBuf,
}

impl RunDir {
    /// The run directory at `root`, its clients on its own store.
    pub fn new(root: impl Into<PathBuf>) -> RunDir {
        let root = root.into();
        let store = root.join("xenstored.sock");
        RunDir { root, store }
    }

    /// From `MBCTL_RUN_DIR`, defaulting to `/run/mbctl`; the clients' store
    /// as [`mb_store_client::socket_path`] resolves it (`XENSTORED_PATH`,
    /// else a Xen dom0's xenstored, else the agent's).
    pub fn from_env() -> RunDir {
        let r = match std::env::var_os("MBCTL_RUN_DIR") {
            Some(d) if !d.is_empty() => RunDir::new(d),
            _ => RunDir::new(DEFAULT_RUN_DIR),
        };
        let store = mb_store_client::socket_path(&r.store_socket());
        r.with_client_store(store)
    }

    /// The same directory, its clients on the store at `socket`.
    pub fn with_client_store(mut self, socket: impl Into<PathBuf>) -> RunDir {
        self.store = socket.into();
        self
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store socket this host's clients (commands, the agent's own
    /// requests) connect to: the agent's [`store_socket`](Self::store_socket)
    /// unless the host has another store.
    pub fn client_store(&self) -> &Path {
        &self.store
    }

    /// Connects a store client to [`client_store`](Self::client_store).
    pub fn connect_store(&self) -> mb_store_client::Result<mb_store_client::Store> {
        mb_store_client::Store::connect(&self.store)
    }

    /// The store's privileged socket (what `XENSTORED_PATH` points at).
    pub fn store_socket(&self) -> PathBuf {
        self.root.join("xenstored.sock")
    }

    /// The directory of domain `domid`'s QEMU: its root once confined
    /// (`-chroot`), holding only its store socket.
    pub fn guest_dir(&self, domid: u32) -> PathBuf {
        self.root.join("guests").join(domid.to_string())
    }

    /// The socket a guest's console connects to, acting as domain `domid`.
    pub fn guest_socket(&self, domid: u32) -> PathBuf {
        self.guest_dir(domid).join("store.sock")
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

    /// The file the serving agent holds locked for its life:
    /// the lock, not the pid file, says whether an agent runs.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("agent.lock")
    }

    /// Creates the directory private to root (0700), or makes an existing
    /// one so: it holds the store, the agent's sockets and the guests'
    /// logs.
    pub fn prepare(&self) -> std::io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)?;
        std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let r = RunDir::new("/tmp/x");
        assert_eq!(r.store_socket(), Path::new("/tmp/x/xenstored.sock"));
        assert_eq!(r.guest_socket(3), Path::new("/tmp/x/guests/3/store.sock"));
        assert_eq!(r.pid_file(), Path::new("/tmp/x/agent.pid"));
        assert_eq!(r.client_store(), r.store_socket());
    }

    #[test]
    fn prepared_directories_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("mbctl-rundir-{}", std::process::id()));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let r = RunDir::new(d.join("run"));
        r.prepare().unwrap();
        assert_eq!(mode(r.root()), 0o700);
        std::fs::set_permissions(r.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
        r.prepare().unwrap();
        assert_eq!(mode(r.root()), 0o700);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

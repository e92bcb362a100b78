//! The toolstack's store client, shared by every command.
//!
//! Plain reads, writes, listings and removals go through xenstore-rs's
//! blocking `XsUnix`, so the same code works against a real xenstored on a
//! Xen host. xenstore-rs 0.8 has no transactions, permissions, mkdir or
//! watches in blocking mode; those use our own client (`xenstore::client`)
//! on a second connection to the same socket.

use crate::rundir::RunDir;
use anyhow::{anyhow, Context, Result};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;
use xenstore::client::{BlockingClient, Error as XsError, StreamTransport, Txn, WatchEvent};
use xenstore::wire::PermList;
use xenstore::Errno;
use xenstore_rs::unix::XsUnix;
use xenstore_rs::Xs;

type Own = BlockingClient<StreamTransport<UnixStream>>;

/// The system xenstored's socket on a Xen dom0.
pub const XEN_SOCKET: &str = "/run/xenstored/socket";

/// Makes store clients default to the agent's socket: sets `XENSTORED_PATH`
/// to `$MBCTL_RUN_DIR/xenstored.sock` unless it is already set, or this is
/// a Xen dom0 (whose xenstored xenstore-rs finds by itself). Call at the
/// start of `main`, before any thread exists.
pub fn default_store_path() {
    if std::env::var_os("XENSTORED_PATH").is_none() && !crate::backend::xl::host_is_dom0() {
        std::env::set_var("XENSTORED_PATH", RunDir::from_env().store_socket());
    }
}

/// The socket store clients use: `$XENSTORED_PATH`, else the agent's.
pub fn socket_path() -> PathBuf {
    match std::env::var_os("XENSTORED_PATH") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ if crate::backend::xl::host_is_dom0() => PathBuf::from(XEN_SOCKET),
        _ => RunDir::from_env().store_socket(),
    }
}

/// A connection to the store (privileged: dom0's view).
pub struct Store {
    xs: XsUnix,
    own: Option<Own>,
    socket: PathBuf,
}

fn xs_err(e: XsError<std::io::Error>) -> anyhow::Error {
    anyhow!("{e}")
}

impl Store {
    /// Connects to the store at [`socket_path`].
    pub fn connect() -> Result<Store> {
        let socket = socket_path();
        if std::env::var_os("XENSTORED_PATH").is_none() {
            // xenstore-rs reads only this variable.
            std::env::set_var("XENSTORED_PATH", &socket);
        }
        let xs = XsUnix::new().with_context(|| {
            format!(
                "connecting to the store at {} (is `mbctl agent` running?)",
                socket.display()
            )
        })?;
        Ok(Store {
            xs,
            own: None,
            socket,
        })
    }

    fn own(&mut self) -> Result<&mut Own> {
        if self.own.is_none() {
            let s = UnixStream::connect(&self.socket)
                .with_context(|| format!("connecting to the store at {}", self.socket.display()))?;
            self.own = Some(BlockingClient::new(StreamTransport(s)));
        }
        self.own.as_mut().ok_or_else(|| anyhow!("store connection"))
    }

    /// Reads a value; `None` if the node does not exist.
    pub fn read(&self, path: &str) -> Result<Option<String>> {
        match self.xs.read(path) {
            Ok(v) => Ok(Some(v.into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {path}")),
        }
    }

    /// Writes a value, creating missing parents.
    pub fn write(&self, path: &str, value: &str) -> Result<()> {
        self.xs
            .write(path, value)
            .with_context(|| format!("writing {path}"))
    }

    /// Lists a node's children; empty if it does not exist.
    pub fn list(&self, path: &str) -> Result<Vec<String>> {
        match self.xs.directory(path) {
            Ok(v) => Ok(v.iter().map(|s| s.to_string()).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("listing {path}")),
        }
    }

    /// Removes a subtree.
    pub fn rm(&self, path: &str) -> Result<()> {
        self.xs.rm(path).with_context(|| format!("removing {path}"))
    }

    /// Creates a node if missing.
    pub fn mkdir(&mut self, path: &str) -> Result<()> {
        self.own()?
            .mkdir(path)
            .map_err(xs_err)
            .with_context(|| format!("creating {path}"))
    }

    /// Sets a node's permissions (`["n0", "r7"]`: owner first).
    pub fn set_perms(&mut self, path: &str, perms: &[&str]) -> Result<()> {
        let list = PermList::parse_list(perms.iter().map(|p| p.as_bytes()))
            .ok_or_else(|| anyhow!("bad permission list {perms:?}"))?;
        self.own()?
            .set_perms(path, &list)
            .map_err(xs_err)
            .with_context(|| format!("setting permissions of {path}"))
    }

    /// A node's permissions as text (`n0 r7`).
    pub fn get_perms(&mut self, path: &str) -> Result<String> {
        Ok(self.own()?.get_perms(path).map_err(xs_err)?.to_text())
    }

    /// Runs `f` in a transaction, retrying on conflicts.
    pub fn transaction<R>(
        &mut self,
        f: impl FnMut(&mut Txn<'_, StreamTransport<UnixStream>>) -> Result<R, XsError<std::io::Error>>,
    ) -> Result<R> {
        self.own()?.transaction(f).map_err(xs_err)
    }

    /// Starts watching `path` (its initial event follows).
    pub fn watch(&mut self, path: &str, token: &str) -> Result<()> {
        self.own()?.watch(path, token.as_bytes()).map_err(xs_err)
    }

    /// Waits for the next watch event.
    pub fn wait_event(&mut self) -> Result<WatchEvent> {
        self.own()?.wait_event().map_err(xs_err)
    }

    /// Waits up to `max` (at most 50 ms at a time) for a watch event on
    /// this connection; `Ok(None)` if none came.
    pub fn wait_event_for(&mut self, max: Duration) -> Result<Option<WatchEvent>> {
        let c = self.own()?;
        let t = max.clamp(Duration::from_millis(1), Duration::from_millis(50));
        c.transport_mut()
            .0
            .set_read_timeout(Some(t))
            .context("setting the store socket's timeout")?;
        let r = c.poll_event().map_err(xs_err);
        let _ = c.transport_mut().0.set_read_timeout(None);
        r
    }

    /// Stops watching.
    pub fn unwatch(&mut self, path: &str, token: &str) -> Result<()> {
        self.own()?.unwatch(path, token.as_bytes()).map_err(xs_err)
    }

    /// Whether an error is "no such node".
    pub fn is_not_found(e: &XsError<std::io::Error>) -> bool {
        e.errno() == Some(Errno::ENOENT)
    }
}

impl crate::clickos::StoreOps for Store {
    fn read(&mut self, path: &str) -> Result<Option<String>> {
        Store::read(self, path)
    }
    fn write(&mut self, path: &str, value: &str) -> Result<()> {
        Store::write(self, path, value)
    }
    fn rm(&mut self, path: &str) -> Result<()> {
        match self.xs.rm(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {path}")),
        }
    }
    fn list(&mut self, path: &str) -> Result<Vec<String>> {
        Store::list(self, path)
    }
}

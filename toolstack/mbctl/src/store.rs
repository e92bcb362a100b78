//! The toolstack's store client, shared by every command.
//!
//! Plain reads, writes, listings and removals go through xenstore-rs's
//! blocking `XsUnix`, so the same code works against a real xenstored on a
//! Xen host. xenstore-rs 0.8 has no transactions, permissions, mkdir or
//! watches in blocking mode; those use our own client (`xenstore::client`)
//! on a second connection to the same socket.

use crate::rundir::RunDir;
use anyhow::{anyhow, Context, Result};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;
use xenstore::client::{
    BlockingClient, ClientError, Error as XsError, Reply, Request, StreamTransport, Txn, WatchEvent,
};
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
    /// Opened on first use: handler calls need only `own`, and each
    /// connection costs the server two threads.
    xs: std::cell::OnceCell<XsUnix>,
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
        let mut st = Store {
            xs: std::cell::OnceCell::new(),
            own: None,
            socket,
        };
        let shown = st.socket.display().to_string();
        st.own().with_context(|| {
            format!("connecting to the store at {shown} (is `mbctl agent` running?)")
        })?;
        Ok(st)
    }

    /// xenstore-rs's connection, opened on first use.
    fn xs(&self) -> Result<&XsUnix> {
        if self.xs.get().is_none() {
            let xs = XsUnix::new()
                .with_context(|| format!("connecting to the store at {}", self.socket.display()))?;
            let _ = self.xs.set(xs);
        }
        self.xs.get().ok_or_else(|| anyhow!("store connection"))
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
        match self.xs()?.read(path) {
            Ok(v) => Ok(Some(v.into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {path}")),
        }
    }

    /// Writes a value, creating missing parents.
    pub fn write(&self, path: &str, value: &str) -> Result<()> {
        self.xs()?
            .write(path, value)
            .with_context(|| format!("writing {path}"))
    }

    /// Lists a node's children; empty if it does not exist.
    pub fn list(&self, path: &str) -> Result<Vec<String>> {
        match self.xs()?.directory(path) {
            Ok(v) => Ok(v.iter().map(|s| s.to_string()).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("listing {path}")),
        }
    }

    /// Removes a subtree.
    pub fn rm(&self, path: &str) -> Result<()> {
        self.xs()?
            .rm(path)
            .with_context(|| format!("removing {path}"))
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

    /// Sends every request before reading any reply (the store answers a
    /// connection's requests in order), so a batch costs one round trip;
    /// returns each request's outcome, in order. Watch events that arrive
    /// meanwhile are kept for [`wait_event_for`](Self::wait_event_for).
    pub fn pipeline(&mut self, reqs: &[Request<'_>]) -> Result<Vec<Result<Reply, ClientError>>> {
        let c = self.own()?;
        let ids = reqs
            .iter()
            .map(|r| c.machine().send(0, r))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("store request: {e}"))?;
        let out = c.machine().output().to_vec();
        c.transport_mut()
            .0
            .write_all(&out)
            .context("sending to the store")?;
        c.machine().consume_output(out.len());
        let mut got: Vec<Option<Result<Reply, ClientError>>> = ids.iter().map(|_| None).collect();
        let mut buf = vec![0u8; 4096 + 16];
        loop {
            for (slot, id) in got.iter_mut().zip(&ids) {
                if slot.is_none() {
                    *slot = c.machine().take_reply(*id);
                }
            }
            if got.iter().all(Option::is_some) {
                return Ok(got.into_iter().flatten().collect());
            }
            let n = c
                .transport_mut()
                .0
                .read(&mut buf)
                .context("reading from the store")?;
            if n == 0 {
                anyhow::bail!("the store closed the connection");
            }
            c.machine()
                .input(&buf[..n])
                .map_err(|e| anyhow!("store reply: {e}"))?;
        }
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
        match self.xs()?.rm(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {path}")),
        }
    }
    fn list(&mut self, path: &str) -> Result<Vec<String>> {
        Store::list(self, path)
    }
    fn apply_ops(&mut self, ops: &[crate::clickos::Op]) -> Result<()> {
        use crate::clickos::Op;
        let reqs: Vec<Request<'_>> = ops
            .iter()
            .map(|op| match op {
                Op::Rm(p) => Request::Rm(p),
                Op::Write(p, v) => Request::Write(p, v.as_bytes()),
            })
            .collect();
        for (op, r) in ops.iter().zip(self.pipeline(&reqs)?) {
            match (op, r) {
                (_, Ok(_)) => {}
                (Op::Rm(_), Err(ClientError::Xs(Errno::ENOENT))) => {}
                (Op::Rm(p), Err(e)) => return Err(anyhow!("removing {p}: {e}")),
                (Op::Write(p, _), Err(e)) => return Err(anyhow!("writing {p}: {e}")),
            }
        }
        Ok(())
    }
    fn read_many(&mut self, paths: &[&str]) -> Result<Vec<Option<String>>> {
        let reqs: Vec<Request<'_>> = paths.iter().map(|p| Request::Read(p)).collect();
        paths
            .iter()
            .zip(self.pipeline(&reqs)?)
            .map(|(p, r)| match r {
                Ok(v) => Ok(Some(String::from_utf8_lossy(v.bytes()).into_owned())),
                Err(ClientError::Xs(Errno::ENOENT)) => Ok(None),
                Err(e) => Err(anyhow!("reading {p}: {e}")),
            })
            .collect()
    }
}

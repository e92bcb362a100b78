//! The host's store client, shared by the agent, the chains and every
//! command, and the ClickOS store layout it speaks ([`clickos`]).
//!
//! One type, [`Store`], one connection to an explicit socket: the
//! agent's store, or the system xenstored on a Xen dom0 (the same wire
//! protocol, so Debian's `xenstore-*` tools and xenstore-rs work against
//! either). [`socket_path`] says which, once per process.

#![warn(missing_docs)]

pub mod clickos;
pub mod handler;
#[cfg(any(test, feature = "mem"))]
pub mod mem;

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use xenstore::client::{
    BlockingClient, ClientError, Error as XsError, Reply, Request, StreamTransport, Txn, WatchEvent,
};
use xenstore::wire::PermList;
use xenstore::Errno;

type Conn = BlockingClient<StreamTransport<UnixStream>>;

/// What went wrong talking to the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket did not take the connection.
    #[error("connecting to the store at {} (is `mbctl agent` running?)", socket.display())]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The store refused a request, or the connection failed during it.
    #[error("{what}")]
    Request {
        /// The request, with its path (`reading /a/b`).
        what: String,
        /// The store's error.
        source: XsError<io::Error>,
    },
    /// A request of a pipelined batch could not be sent or its reply read.
    #[error("{what}")]
    Pipeline {
        /// What failed.
        what: &'static str,
        /// The protocol's error.
        source: ClientError,
    },
    /// The connection failed outside a request.
    #[error("{what}")]
    Io {
        /// What failed.
        what: &'static str,
        /// The system's error.
        source: io::Error,
    },
    /// The store hung up.
    #[error("the store closed the connection")]
    Closed,
    /// A permission list that does not parse.
    #[error("bad permission list {0:?}")]
    Perms(Vec<String>),
    /// A request of a pipelined batch that the store refused or lost.
    #[error("{what}")]
    Refused {
        /// The request, with its path (`writing /a/b`).
        what: String,
        /// The store's answer.
        source: ClientError,
    },
    /// A handler call the guest failed or did not answer, or whose
    /// request the store refused, said in full (`e.h: ...`).
    #[error("{0}")]
    Handler(String),
    /// A handler name the store cannot carry, said in full.
    #[error("{0}")]
    HandlerName(String),
}

/// The store client's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn req(what: impl FnOnce() -> String) -> impl FnOnce(XsError<io::Error>) -> Error {
    move |source| Error::Request {
        what: what(),
        source,
    }
}

fn not_found(e: &XsError<io::Error>) -> bool {
    e.errno() == Some(Errno::ENOENT)
}

/// The system xenstored's socket on a Xen dom0.
pub const XEN_SOCKET: &str = "/run/xenstored/socket";

/// Whether this host is a Xen dom0 (then the store is the system's).
pub fn host_is_dom0() -> bool {
    std::fs::read_to_string("/proc/xen/capabilities").is_ok_and(|c| c.contains("control_d"))
}

/// The socket this host's store clients use: `$XENSTORED_PATH`, else a Xen
/// dom0's xenstored, else `agent_store` (the agent's). Resolve it once and
/// hand it down.
pub fn socket_path(agent_store: &Path) -> PathBuf {
    match std::env::var_os("XENSTORED_PATH") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ if host_is_dom0() => PathBuf::from(XEN_SOCKET),
        _ => agent_store.to_path_buf(),
    }
}

/// A connection to the store (privileged: dom0's view).
pub struct Store {
    c: Conn,
}

impl Store {
    /// Connects to the store at `socket` (see [`socket_path`]).
    pub fn connect(socket: &Path) -> Result<Store> {
        let s = UnixStream::connect(socket).map_err(|source| Error::Connect {
            socket: socket.to_path_buf(),
            source,
        })?;
        Ok(Store {
            c: BlockingClient::new(StreamTransport(s)),
        })
    }

    /// Reads a value; `None` if the node does not exist.
    pub fn read(&mut self, path: &str) -> Result<Option<String>> {
        match self.c.read(path) {
            Ok(v) => Ok(Some(String::from_utf8_lossy(&v).into_owned())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(req(|| format!("reading {path}"))(e)),
        }
    }

    /// Writes a value, creating missing parents.
    pub fn write(&mut self, path: &str, value: &str) -> Result<()> {
        self.c
            .write(path, value.as_bytes())
            .map_err(req(|| format!("writing {path}")))
    }

    /// Lists a node's children; empty if it does not exist.
    pub fn list(&mut self, path: &str) -> Result<Vec<String>> {
        match self.c.directory(path) {
            Ok(v) => Ok(v),
            Err(e) if not_found(&e) => Ok(Vec::new()),
            Err(e) => Err(req(|| format!("listing {path}"))(e)),
        }
    }

    /// Removes a subtree.
    pub fn rm(&mut self, path: &str) -> Result<()> {
        self.c.rm(path).map_err(req(|| format!("removing {path}")))
    }

    /// Creates a node if missing.
    pub fn mkdir(&mut self, path: &str) -> Result<()> {
        self.c
            .mkdir(path)
            .map_err(req(|| format!("creating {path}")))
    }

    /// Sets a node's permissions (`["n0", "r7"]`: owner first).
    pub fn set_perms(&mut self, path: &str, perms: &[&str]) -> Result<()> {
        let list = PermList::parse_list(perms.iter().map(|p| p.as_bytes()))
            .ok_or_else(|| Error::Perms(perms.iter().map(|p| p.to_string()).collect()))?;
        self.c
            .set_perms(path, &list)
            .map_err(req(|| format!("setting permissions of {path}")))
    }

    /// A node's permissions as text (`n0 r7`).
    pub fn get_perms(&mut self, path: &str) -> Result<String> {
        Ok(self
            .c
            .get_perms(path)
            .map_err(req(|| format!("reading permissions of {path}")))?
            .to_text())
    }

    /// Runs `f` in a transaction, retrying on conflicts.
    pub fn transaction<R>(
        &mut self,
        f: impl FnMut(&mut Txn<'_, StreamTransport<UnixStream>>) -> Result<R, XsError<io::Error>>,
    ) -> Result<R> {
        self.c
            .transaction(f)
            .map_err(req(|| "a transaction".to_string()))
    }

    /// Starts watching `path` (its initial event follows).
    pub fn watch(&mut self, path: &str, token: &str) -> Result<()> {
        self.c
            .watch(path, token.as_bytes())
            .map_err(req(|| format!("watching {path}")))
    }

    /// Waits for the next watch event.
    pub fn wait_event(&mut self) -> Result<WatchEvent> {
        self.c
            .wait_event()
            .map_err(req(|| "waiting for a watch event".to_string()))
    }

    /// Waits up to `max` (at most 50 ms at a time) for a watch event on
    /// this connection; `Ok(None)` if none came.
    pub fn wait_event_for(&mut self, max: Duration) -> Result<Option<WatchEvent>> {
        let t = max.clamp(Duration::from_millis(1), Duration::from_millis(50));
        let sock = &self.c.transport_mut().0;
        sock.set_read_timeout(Some(t)).map_err(|source| Error::Io {
            what: "setting the store socket's timeout",
            source,
        })?;
        let r = self
            .c
            .poll_event()
            .map_err(req(|| "waiting for a watch event".to_string()));
        let _ = self.c.transport_mut().0.set_read_timeout(None);
        r
    }

    /// Sends every request before reading any reply (the store answers a
    /// connection's requests in order), so a batch costs one round trip;
    /// returns each request's outcome, in order. Watch events that arrive
    /// meanwhile are kept for [`wait_event_for`](Self::wait_event_for).
    pub fn pipeline(&mut self, reqs: &[Request<'_>]) -> Result<Vec<Result<Reply, ClientError>>> {
        let c = &mut self.c;
        let ids = reqs
            .iter()
            .map(|r| c.machine().send(0, r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| Error::Pipeline {
                what: "store request",
                source,
            })?;
        let out = c.machine().output().to_vec();
        c.transport_mut()
            .0
            .write_all(&out)
            .map_err(|source| Error::Io {
                what: "sending to the store",
                source,
            })?;
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
                .map_err(|source| Error::Io {
                    what: "reading from the store",
                    source,
                })?;
            if n == 0 {
                return Err(Error::Closed);
            }
            c.machine()
                .input(&buf[..n])
                .map_err(|source| Error::Pipeline {
                    what: "store reply",
                    source,
                })?;
        }
    }

    /// Stops watching.
    pub fn unwatch(&mut self, path: &str, token: &str) -> Result<()> {
        self.c
            .unwatch(path, token.as_bytes())
            .map_err(req(|| format!("unwatching {path}")))
    }
}

impl clickos::StoreOps for Store {
    fn read(&mut self, path: &str) -> Result<Option<String>> {
        Store::read(self, path)
    }
    fn write(&mut self, path: &str, value: &str) -> Result<()> {
        Store::write(self, path, value)
    }
    fn rm(&mut self, path: &str) -> Result<()> {
        match self.c.rm(path) {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(req(|| format!("removing {path}"))(e)),
        }
    }
    fn list(&mut self, path: &str) -> Result<Vec<String>> {
        Store::list(self, path)
    }
    fn apply_ops(&mut self, ops: &[clickos::Op]) -> Result<()> {
        use clickos::Op;
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
                (Op::Rm(p), Err(source)) => {
                    return Err(Error::Refused {
                        what: format!("removing {p}"),
                        source,
                    })
                }
                (Op::Write(p, _), Err(source)) => {
                    return Err(Error::Refused {
                        what: format!("writing {p}"),
                        source,
                    })
                }
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
                Err(source) => Err(Error::Refused {
                    what: format!("reading {p}"),
                    source,
                }),
            })
            .collect()
    }
}

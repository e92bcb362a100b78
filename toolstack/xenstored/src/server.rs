//! Listening sockets, the shared store, and the server's public API.

use crate::conn;
use crate::guestwatch::GuestWatches;
use crate::persist::Persist;
use std::collections::HashMap;
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use xenstore::store::{Change, ConnId, Outgoing, Quota, Store};
use xenstore::wire::Message;
use xenstore::Errno;

/// Connections one guest socket accepts at a time (QEMU needs one).
pub const GUEST_CONNS_MAX: usize = 4;

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Config {
    /// The privileged (dom0) socket.
    pub socket: PathBuf,
    /// Where the snapshot and log live; `None` keeps the store in memory only.
    pub state_dir: Option<PathBuf>,
    /// Each guest domain's limits (C xenstored's defaults).
    pub quota: Quota,
    /// Dom0's limits: larger, still finite.
    pub dom0_quota: Quota,
    /// Log size (bytes) that triggers compaction into a new snapshot.
    pub compact_bytes: u64,
    /// Fsync the log before acknowledging each write (survives a host
    /// crash, at one disk flush per write). Off, every write still
    /// reaches the log first, so the server's own crash or restart loses
    /// nothing; this is what C xenstored offers (it does not sync at all).
    pub fsync: bool,
}

impl Config {
    /// A config serving `socket`, in memory, with default quotas.
    pub fn new(socket: impl Into<PathBuf>) -> Config {
        Config {
            socket: socket.into(),
            state_dir: None,
            quota: Quota::default(),
            dom0_quota: Quota::privileged(),
            compact_bytes: 4 << 20,
            fsync: true,
        }
    }

    /// The same config, without a disk flush per write (see [`Config::fsync`]).
    pub fn without_fsync(mut self) -> Config {
        self.fsync = false;
        self
    }

    /// The same config, durable in `dir`.
    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Config {
        self.state_dir = Some(dir.into());
        self
    }
}

/// A live connection as the server sees it.
pub(crate) struct ConnHandle {
    pub domid: u32,
    pub out: Arc<crate::outbox::Outbox>,
    pub stream: UnixStream,
}

struct Listener {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Everything behind the lock.
pub(crate) struct State {
    pub store: Store,
    pub conns: HashMap<ConnId, ConnHandle>,
    /// The connections of each domain (so finding them scans no one else's).
    by_domain: HashMap<u32, Vec<ConnId>>,
    persist: Option<Persist>,
    /// Set while the log fails: writes are refused (EIO) until it works again.
    log_failing: bool,
    /// When a broken log was last rewritten (at most once a second).
    last_rewrite: Option<Instant>,
    pub guest_watches: GuestWatches,
}

pub(crate) struct Shared {
    pub state: Mutex<State>,
    stopping: AtomicBool,
    /// The origin of the store's clock (transaction timeouts).
    epoch: Instant,
    /// Replies and events queued for a guest connection before its
    /// requests wait (C xenstored's outstanding-requests quota).
    pub max_outstanding: usize,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug; keep serving the
        // others rather than cascading it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Milliseconds since the server started (the store's clock).
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl State {
    /// Makes the store's changes durable, then sends what the store
    /// produced. If they cannot be made durable they are taken back, nothing
    /// is sent, and the error is returned.
    pub fn commit_and_deliver(&mut self, out: Vec<Outgoing>) -> io::Result<()> {
        self.commit_and_deliver_from(out, None)
    }

    /// As [`commit_and_deliver`](Self::commit_and_deliver) for a request of
    /// connection `from`, whose reader thread sends that connection's
    /// bytes itself right after: its writer thread is not woken for them
    /// (a needless context switch per round trip on a busy host). If the
    /// request's changes cannot be made durable, its reply becomes `EIO`.
    pub fn commit_and_deliver_from(
        &mut self,
        mut out: Vec<Outgoing>,
        from: Option<ConnId>,
    ) -> io::Result<()> {
        let changes = self.store.take_changes();
        let result = self.make_durable(&changes);
        if result.is_err() {
            // Never acknowledge what is not in the log: the request did
            // not happen, and no one hears of it.
            self.store.rollback();
            out = match (from, out.first()) {
                (Some(c), Some(o)) if o.conn == c => vec![Outgoing {
                    conn: c,
                    msg: Message::error(o.msg.req_id, o.msg.tx_id, Errno::EIO),
                }],
                _ => Vec::new(),
            };
        }
        let mut dead = Vec::new();
        for o in out {
            let Some(h) = self.conns.get(&o.conn) else {
                continue;
            };
            let Ok(bytes) = o.msg.encode() else { continue };
            // A client that does not read its replies and events is cut
            // off instead of growing the server's memory.
            if !h.out.push(&bytes, from != Some(o.conn)) {
                dead.push(o.conn);
            }
        }
        for c in dead {
            self.close(c);
        }
        for domid in self.store.take_released() {
            self.close_domain(domid);
        }
        result
    }

    /// Writes `changes` to the log. While the log fails, each write tries
    /// it again: a plain append if the failed one was cut off cleanly, else
    /// (at most once a second) a compaction that rewrites snapshot and log.
    fn make_durable(&mut self, changes: &[Change]) -> io::Result<()> {
        let Some(p) = &mut self.persist else {
            return Ok(());
        };
        if changes.is_empty() {
            return Ok(());
        }
        let r = if p.is_broken() {
            let due = self
                .last_rewrite
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
            if !due {
                return Err(io::Error::other("the store's log is failing"));
            }
            self.last_rewrite = Some(Instant::now());
            p.compact(&self.store.snapshot())
        } else {
            p.append(changes).map(|()| {
                if p.needs_compaction() {
                    if let Err(e) = p.compact(&self.store.snapshot()) {
                        // The appended changes are safe; only a broken
                        // log stops later ones.
                        eprintln!("mb-xenstored: compaction failed: {e}");
                    }
                }
            })
        };
        match (&r, self.log_failing) {
            (Err(e), false) => {
                eprintln!("mb-xenstored: write-ahead log failed, refusing writes: {e}");
                self.log_failing = true;
            }
            (Ok(()), true) => {
                eprintln!("mb-xenstored: write-ahead log works again");
                self.log_failing = false;
            }
            _ => {}
        }
        r
    }

    /// Registers a connection.
    pub fn add_conn(&mut self, id: ConnId, h: ConnHandle) {
        self.by_domain.entry(h.domid).or_default().push(id);
        self.conns.insert(id, h);
    }

    /// How many connections `domid` has open.
    pub fn conn_count(&self, domid: u32) -> usize {
        self.by_domain.get(&domid).map_or(0, Vec::len)
    }

    /// Closes every connection of `domid`.
    pub fn close_domain(&mut self, domid: u32) {
        for id in self.by_domain.remove(&domid).unwrap_or_default() {
            self.close(id);
        }
    }

    /// Forgets a connection and shuts its socket (its threads then exit).
    pub fn close(&mut self, conn: ConnId) {
        if let Some(h) = self.conns.remove(&conn) {
            if let Some(ids) = self.by_domain.get_mut(&h.domid) {
                ids.retain(|&i| i != conn);
                if ids.is_empty() {
                    self.by_domain.remove(&h.domid);
                }
            }
            h.out.close();
            let _ = h.stream.shutdown(std::net::Shutdown::Both);
        }
        self.store.disconnect(conn);
    }
}

/// A running server. Dropping it does not stop it; call [`shutdown`](Self::shutdown).
pub struct Server {
    shared: Arc<Shared>,
    socket: PathBuf,
    listeners: Mutex<HashMap<Option<u32>, Listener>>,
}

impl Server {
    /// Loads the durable state (if any), binds the privileged socket and starts serving.
    pub fn start(cfg: Config) -> io::Result<Server> {
        let mut store = Store::with_quotas(cfg.quota, cfg.dom0_quota);
        let mut persist = None;
        if let Some(dir) = &cfg.state_dir {
            let (mut p, changes) = Persist::open(dir)?;
            for c in &changes {
                store.apply(c);
            }
            p.set_compact_threshold(cfg.compact_bytes);
            p.set_fsync(cfg.fsync);
            if !changes.is_empty() {
                // Fold the replayed log into a fresh snapshot at every start.
                p.compact(&store.snapshot())?;
            }
            store.enable_journal();
            persist = Some(p);
        }
        let guest_watches = GuestWatches::open(cfg.state_dir.as_ref());
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                store,
                conns: HashMap::new(),
                by_domain: HashMap::new(),
                persist,
                log_failing: false,
                last_rewrite: None,
                guest_watches,
            }),
            stopping: AtomicBool::new(false),
            epoch: Instant::now(),
            max_outstanding: cfg.quota.max_outstanding.max(1),
        });
        let server = Server {
            shared,
            socket: cfg.socket.clone(),
            listeners: Mutex::new(HashMap::new()),
        };
        server.listen(None, &cfg.socket, None)?;
        Ok(server)
    }

    fn listen(&self, domid: Option<u32>, path: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
        let l = crate::files::bind_private(path, owner)?;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = self.shared.clone();
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name(format!(
                "xs-accept-{}",
                domid.map_or("dom0".into(), |d| d.to_string())
            ))
            .spawn(move || {
                for s in l.incoming() {
                    if flag.load(Ordering::SeqCst) || shared.stopping() {
                        break;
                    }
                    let Ok(s) = s else { continue };
                    if let Some(d) = domid {
                        // Each connection costs two threads: a guest gets a few, not unlimited.
                        if shared.lock().conn_count(d) >= GUEST_CONNS_MAX {
                            continue;
                        }
                    }
                    conn::spawn(shared.clone(), s, domid.unwrap_or(0));
                }
            })?;
        let old = self
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                domid,
                Listener {
                    path: path.to_path_buf(),
                    stop,
                    thread: Some(thread),
                },
            );
        if let Some(old) = old {
            old.stop();
        }
        Ok(())
    }

    /// The privileged socket's path.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// Serves domain `domid` on `path`: creates its home `/local/domain/<domid>`
    /// (owned by it) if missing, introduces it (firing `@introduceDomain`), and
    /// treats every connection on `path` as that unprivileged domain. A new
    /// connection gets the domain's earlier watches back, also those from
    /// before a restart of the server (see `guestwatch`).
    pub fn add_guest_socket(&self, domid: u32, path: impl AsRef<Path>) -> io::Result<()> {
        self.add_guest_socket_owned(domid, path, None)
    }

    /// As [`add_guest_socket`](Self::add_guest_socket), with the socket
    /// (mode 0600) owned by `owner` (uid, gid) instead of the server's
    /// user: for a guest's VMM that runs as an unprivileged user.
    pub fn add_guest_socket_owned(
        &self,
        domid: u32,
        path: impl AsRef<Path>,
        owner: Option<(u32, u32)>,
    ) -> io::Result<()> {
        if domid == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "domain 0 is the privileged socket",
            ));
        }
        {
            let mut st = self.shared.lock();
            let mut out = Vec::new();
            st.store
                .ensure_home(domid, &mut out)
                .and_then(|()| st.store.introduce(domid, &mut out))
                .map_err(|e| io::Error::other(format!("introducing domain {domid}: {e}")))?;
            st.commit_and_deliver(out)
                .map_err(|e| io::Error::other(format!("introducing domain {domid}: {e}")))?;
        }
        self.listen(Some(domid), path.as_ref(), owner)
    }

    /// Serves an already connected stream (one end of a socket pair, a
    /// chardev's socket) as domain `domid`; 0 makes it privileged.
    pub fn attach(&self, domid: u32, stream: UnixStream) {
        conn::spawn(self.shared.clone(), stream, domid);
    }

    /// Stops serving `domid`: closes its socket and connections and releases it
    /// (firing `@releaseDomain`) and forgets its watches. Its home stays;
    /// remove it with `RM` if wanted.
    pub fn remove_guest(&self, domid: u32) -> io::Result<()> {
        let l = self
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&Some(domid));
        if let Some(l) = l {
            l.stop();
        }
        let mut st = self.shared.lock();
        st.guest_watches.forget(domid);
        let mut out = Vec::new();
        let r = st.store.release(domid, &mut out);
        let logged = st.commit_and_deliver(out);
        // Connections that are left (release found nothing to release) go too.
        st.close_domain(domid);
        r.map_err(|e| io::Error::other(format!("releasing domain {domid}: {e}")))?;
        logged.map_err(|e| io::Error::other(format!("releasing domain {domid}: {e}")))
    }

    /// Number of open connections (all sockets).
    pub fn connection_count(&self) -> usize {
        self.shared.lock().conns.len()
    }

    /// Runs `f` on the store, under the server's lock (for inspection and tests).
    pub fn with_store<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.shared.lock().store)
    }

    /// Stops accepting, closes every connection, removes the sockets, and
    /// compacts the log into a snapshot.
    pub fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let ls: Vec<Listener> = self
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, l)| l)
            .collect();
        for l in ls {
            l.stop();
        }
        let mut st = self.shared.lock();
        let ids: Vec<ConnId> = st.conns.keys().copied().collect();
        for id in ids {
            st.close(id);
        }
        let snap = st.store.snapshot();
        if let Some(p) = &mut st.persist {
            if let Err(e) = p.compact(&snap) {
                eprintln!("mb-xenstored: final compaction failed: {e}");
            }
        }
    }
}

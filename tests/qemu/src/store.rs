//! A real store for guests under test: the project's xenstore server in
//! process, a privileged client for the host's side of ClickOS's layout,
//! and a per-guest socket QEMU's virtio-console connects to.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mb_xenstored::{Config, Server};
use xenstore::client::{BlockingClient, StreamTransport};
use xenstore::Errno;

use crate::{Scratch, WAIT};

/// Most bytes in one config chunk (ClickOS's toolstack limit).
pub const CHUNK: usize = 992;

type Client = BlockingClient<StreamTransport<UnixStream>>;

/// A running store server with one privileged client.
pub struct StoreHost {
    server: Server,
    dir: Scratch,
    client: Client,
}

impl StoreHost {
    /// Starts a server on a fresh socket.
    pub fn start() -> StoreHost {
        let dir = Scratch::new("store");
        let sock = dir.join("xs.sock");
        let server = Server::start(Config::new(&sock)).expect("starting the store");
        let client = connect(&sock);
        StoreHost {
            server,
            dir,
            client,
        }
    }

    /// The privileged socket (`XENSTORED_PATH` for Debian's tools).
    pub fn socket(&self) -> &Path {
        self.server.socket_path()
    }

    /// Serves domain `domid` on its own socket (for QEMU's chardev) and
    /// returns that socket's path.
    pub fn guest(&self, domid: u32) -> PathBuf {
        let p = self.dir.join(&format!("guest{domid}.sock"));
        self.server
            .add_guest_socket(domid, &p)
            .expect("adding a guest socket");
        p
    }

    /// The ClickOS router path of `domid`.
    pub fn router_path(domid: u32) -> String {
        format!("/local/domain/{domid}/data/clickos/0")
    }

    /// A node under the router path of `domid` (`rel` like `status`).
    pub fn router_node(domid: u32, rel: &str) -> String {
        format!("{}/{rel}", Self::router_path(domid))
    }

    /// Installs `config` as cosmos does: `config_name` and the chunks in one
    /// transaction (old chunks removed first), then `status` = `Running`.
    pub fn install(&mut self, domid: u32, name: &str, config: &str) {
        let base = Self::router_path(domid);
        self.client
            .transaction(|t| {
                match t.rm(&format!("{base}/config")) {
                    Err(e) if e.errno() != Some(Errno::ENOENT) => return Err(e),
                    _ => {}
                }
                t.write(&format!("{base}/config_name"), name.as_bytes())?;
                for (i, chunk) in config.as_bytes().chunks(CHUNK).enumerate() {
                    t.write(&format!("{base}/config/{i}"), chunk)?;
                }
                Ok(())
            })
            .expect("writing the config");
        self.write(&format!("{base}/status"), "Running");
    }

    /// Writes a value.
    pub fn write(&mut self, path: &str, value: &str) {
        self.client
            .write(path, value.as_bytes())
            .unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }

    /// Reads a value; `None` if the node does not exist.
    pub fn read(&mut self, path: &str) -> Option<String> {
        match self.client.read(path) {
            Ok(v) => Some(String::from_utf8_lossy(&v).into_owned()),
            Err(e) if e.errno() == Some(Errno::ENOENT) => None,
            Err(e) => panic!("reading {path}: {e}"),
        }
    }

    /// Polls `path` until `ok` accepts its value; returns it. Panics after
    /// [`WAIT`] with the last value seen.
    pub fn wait_for(&mut self, path: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.read(path);
            if let Some(v) = &v {
                if ok(v) {
                    return v.clone();
                }
            }
            if Instant::now() > deadline {
                panic!("{path} never became what was expected; last value {v:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Reads handler `element.handler` of `domid` the way cosmos does: a
    /// request under `control/read/`, then the answer under `elements/`,
    /// cleared afterwards. The answer node is also where write requests go
    /// (ClickOS's layout), so it is cleared first too: do not call this
    /// while a write request to the same handler may still be unhandled.
    pub fn read_handler(&mut self, domid: u32, element: &str, handler: &str) -> String {
        let base = Self::router_path(domid);
        let answer = format!("{base}/elements/{element}/{handler}");
        self.write(&answer, "");
        self.write(&format!("{base}/control/read/{element}/{handler}"), " ");
        let v = self.wait_for(&answer, |v| !v.is_empty());
        self.write(&answer, "");
        v
    }

    /// Reads `element.handler` until `ok` accepts the value; returns it.
    pub fn wait_for_handler(
        &mut self,
        domid: u32,
        element: &str,
        handler: &str,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.read_handler(domid, element, handler);
            if ok(&v) {
                return v;
            }
            if Instant::now() > deadline {
                panic!("{element}.{handler} never became what was expected; last value {v:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Calls write handler `element.handler` of `domid` with `value`.
    pub fn write_handler(&mut self, domid: u32, element: &str, handler: &str, value: &str) {
        let base = Self::router_path(domid);
        self.write(&format!("{base}/elements/{element}/{handler}"), value);
    }
}

impl Drop for StoreHost {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

fn connect(sock: &Path) -> Client {
    let s = UnixStream::connect(sock).expect("connecting to the store");
    BlockingClient::new(StreamTransport(s))
}

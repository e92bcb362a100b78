//! Shared helpers for the integration tests: a server on a temp socket,
//! clients, and the Debian tools.
#![allow(dead_code)]

use mb_xenstored::{Config, Server};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use xenstore::client::{BlockingClient, StreamTransport};

/// A client of ours over a unix socket.
pub type SockClient = BlockingClient<StreamTransport<UnixStream>>;

/// A server on a fresh temporary directory, shut down on drop.
pub struct TestServer {
    pub server: Server,
    pub dir: PathBuf,
    pub sock: PathBuf,
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mbxs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("creating temp dir");
    d
}

impl TestServer {
    pub fn start(name: &str) -> TestServer {
        let dir = temp_dir(name);
        let sock = dir.join("xenstored.sock");
        let server = Server::start(Config::new(&sock)).expect("starting server");
        TestServer { server, dir, sock }
    }

    pub fn start_durable(name: &str) -> TestServer {
        let dir = temp_dir(name);
        let sock = dir.join("xenstored.sock");
        let server = Server::start(Config::new(&sock).with_state_dir(dir.join("state")))
            .expect("starting server");
        TestServer { server, dir, sock }
    }

    /// A privileged (dom0) client.
    pub fn client(&self) -> SockClient {
        connect(&self.sock)
    }

    /// Serves `domid` on its own socket and returns the socket path.
    pub fn guest(&self, domid: u32) -> PathBuf {
        let p = self.dir.join(format!("guest{domid}.sock"));
        self.server
            .add_guest_socket(domid, &p)
            .expect("adding guest socket");
        p
    }

    /// Runs a Debian xenstore tool against `sock`.
    pub fn tool_at(&self, sock: &Path, tool: &str, args: &[&str]) -> Output {
        Command::new(tool)
            .args(args)
            .env("XENSTORED_PATH", sock)
            .output()
            .unwrap_or_else(|e| panic!("running {tool}: {e}"))
    }

    /// Runs a Debian xenstore tool as dom0 and insists it succeeds; returns stdout.
    pub fn tool(&self, tool: &str, args: &[&str]) -> String {
        let o = self.tool_at(&self.sock, tool, args);
        assert!(
            o.status.success(),
            "{tool} {args:?} failed: {}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).expect("tool output is UTF-8")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn connect(sock: &Path) -> SockClient {
    let s = UnixStream::connect(sock)
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", sock.display()));
    BlockingClient::new(StreamTransport(s))
}

/// Whether the Debian tools are present. Missing tools fail the test under CI
/// and print a SKIP line otherwise.
pub fn have_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            !std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
                .unwrap_or(false)
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{test}: missing {} (install Debian's xenstore-utils: apt-get install xenstore-utils)",
        missing.join(", ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    println!("SKIP {msg}");
    false
}

//! Element state of running middleboxes, from the host: a client of each
//! guest's state channel (a unix socket QEMU serves for the guest's second
//! virtio-console, `click::state::channel` frames on it), and the
//! operations `mbctl state` and the controller use: list, get, put,
//! delete ([`Channel`]), moving flows between instances ([`moving`]),
//! clone, merge, snapshot and restore ([`whole`]).
//!
//! Chunks are opaque here, as OpenMB wants them for the controller: the
//! element that exported them checks them when they are put
//! (`click::state::json` looks inside, to print them).

pub mod moving;
pub mod whole;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use click::state::channel::{decode_response, request_frame, ElementState, Reply, Request, WINDOW};
use click::state::{Chunks, Parts, PutCount};
use mb_vm::files::VmFiles;
use mb_vm::rundir::RunDir;

/// How long a request may take before the channel counts as dead (a
/// 100k-flow get under TCG takes about a second).
const TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to one middlebox's state channel.
pub struct Channel {
    name: String,
    sock: UnixStream,
}

/// The state channel's socket of middlebox `name`.
pub fn socket_of(run: &RunDir, name: &str) -> PathBuf {
    VmFiles::new(run, name).state_socket()
}

impl Channel {
    /// Connects to middlebox `name` of `run`.
    pub fn open(run: &RunDir, name: &str) -> Result<Channel> {
        Channel::connect(name, &socket_of(run, name))
    }

    /// Connects to the socket at `path`, naming the middlebox `name` in
    /// errors.
    pub fn connect(name: &str, path: &Path) -> Result<Channel> {
        if !path.exists() {
            bail!(
                "'{name}' has no state channel ({} is missing: not a running QEMU middlebox, or one started before state channels)",
                path.display()
            );
        }
        let sock = UnixStream::connect(path)
            .with_context(|| format!("connecting to '{name}''s state channel"))?;
        sock.set_read_timeout(Some(TIMEOUT))?;
        sock.set_write_timeout(Some(TIMEOUT))?;
        Ok(Channel {
            name: name.to_string(),
            sock,
        })
    }

    /// The middlebox's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `req` and waits for its reply; the guest's error message
    /// becomes this error.
    pub fn call(&mut self, req: &Request) -> Result<Reply> {
        let what = || format!("'{}''s state channel", self.name);
        self.sock
            .write_all(&request_frame(req))
            .with_context(what)?;
        let mut len = [0u8; 4];
        self.sock
            .read_exact(&mut len)
            .with_context(|| format!("{}: no reply (is the router running?)", what()))?;
        let len = u32::from_le_bytes(len) as usize;
        if len > click::state::channel::FRAME_MAX {
            bail!("{}: a reply of {len} bytes is over the limit", what());
        }
        // The first window came free; each further one needs a credit
        // byte for the one before (see `click::state::channel`).
        let mut msg = vec![0u8; len];
        let mut got = 0;
        let mut credited = WINDOW.saturating_sub(4);
        while got < len {
            if got >= credited {
                self.sock.write_all(&[1]).with_context(what)?;
                credited += WINDOW;
            }
            let end = len.min(credited);
            self.sock
                .read_exact(&mut msg[got..end])
                .with_context(what)?;
            got = end;
        }
        decode_response(&msg).map_err(|e| anyhow::anyhow!("{}: {e}", self.name))
    }

    /// Sends `bytes` and gets them back (to measure the channel).
    pub fn echo(&mut self, bytes: Vec<u8>) -> Result<usize> {
        match self.call(&Request::Echo(bytes))? {
            Reply::Echo(b) => Ok(b.len()),
            r => unexpected(r),
        }
    }
}

fn unexpected<T>(r: Reply) -> Result<T> {
    bail!("unexpected reply on the state channel: {r:?}")
}

/// Something that answers state requests: a guest's [`Channel`], or a
/// router in this process (tests).
pub trait Link {
    /// The instance's name, for messages.
    fn name(&self) -> &str;
    /// Sends a request and waits for its reply.
    fn call(&mut self, req: &Request) -> Result<Reply>;
}

impl Link for Channel {
    fn name(&self) -> &str {
        Channel::name(self)
    }
    fn call(&mut self, req: &Request) -> Result<Reply> {
        Channel::call(self, req)
    }
}

/// The elements that keep state.
pub fn list(l: &mut dyn Link) -> Result<Vec<ElementState>> {
    match l.call(&Request::List)? {
        Reply::List(v) => Ok(v),
        r => unexpected(r),
    }
}

/// `parts` of `element`'s state, per-flow state by `filter`.
pub fn get(l: &mut dyn Link, element: &str, filter: &str, parts: Parts) -> Result<Chunks> {
    let req = Request::Get {
        element: element.into(),
        filter: filter.into(),
        parts,
    };
    match l.call(&req)? {
        Reply::Chunks(b) => Ok(Chunks::from_bytes(&b)?),
        r => unexpected(r),
    }
}

/// Installs `chunks` into `element` (shared parts merge).
pub fn put(l: &mut dyn Link, element: &str, chunks: &Chunks) -> Result<PutCount> {
    let req = Request::Put {
        element: element.into(),
        chunks: chunks.to_bytes(),
    };
    match l.call(&req)? {
        Reply::Put(n) => Ok(n),
        r => unexpected(r),
    }
}

/// Deletes `element`'s per-flow state that `filter` selects; returns
/// how many flows.
pub fn delete(l: &mut dyn Link, element: &str, filter: &str) -> Result<u64> {
    let req = Request::Delete {
        element: element.into(),
        filter: filter.into(),
    };
    count(l.call(&req)?)
}

/// The count a request answers with.
pub(crate) fn count(r: Reply) -> Result<u64> {
    match r {
        Reply::Count(n) => Ok(n),
        r => unexpected(r),
    }
}

//! A blocking client over any byte transport.

use super::machine::{Client, ClientError};
use super::request::{Reply, Request, WatchEvent};
use crate::wire::PermList;
use crate::Errno;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A byte stream to the server: a virtio-console, the Xen ring, a socket.
pub trait Transport {
    /// The transport's own error.
    type Error;
    /// Reads what is available now into `buf`; `Ok(0)` means nothing yet.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error>;
    /// Writes what fits now; `Ok(0)` means no room yet.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error>;
    /// Waits until `read` or `write` may make progress (halt until an
    /// interrupt, spin, or return at once for transports that block anyway).
    fn poll(&mut self) -> Result<(), Self::Error>;
    /// Re-establishes the connection if the transport can (the Xen ring's
    /// reconnection handshake); `Ok(false)` if it cannot.
    fn reconnect(&mut self) -> Result<bool, Self::Error> {
        Ok(false)
    }
}

/// A failure of the blocking client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error<E> {
    /// The request failed (server errno, protocol error, reset).
    Client(ClientError),
    /// The transport failed.
    Transport(E),
}

impl<E> Error<E> {
    /// The server's errno, if that is what this is.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Client(c) => c.errno(),
            Error::Transport(_) => None,
        }
    }
}

impl<E> From<ClientError> for Error<E> {
    fn from(e: ClientError) -> Self {
        Error::Client(e)
    }
}

impl<E> From<Errno> for Error<E> {
    fn from(e: Errno) -> Self {
        Error::Client(ClientError::Xs(e))
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Client(c) => c.fmt(f),
            Error::Transport(e) => write!(f, "xenstore transport: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl<E: fmt::Debug + fmt::Display> std::error::Error for Error<E> {}

/// How many times [`BlockingClient::transaction`] retries after `EAGAIN`.
const TXN_ATTEMPTS: usize = 64;

/// A blocking client: each call sends one request and waits for its reply,
/// queueing any watch events that arrive meanwhile.
pub struct BlockingClient<T: Transport> {
    machine: Client,
    transport: T,
    buf: Vec<u8>,
}

impl<T: Transport> BlockingClient<T> {
    /// A client over `transport`.
    pub fn new(transport: T) -> Self {
        BlockingClient {
            machine: Client::new(),
            transport,
            buf: alloc::vec![0u8; 4096 + 16],
        }
    }

    /// The transport.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// The state machine (for callers mixing blocking and sans-IO use).
    pub fn machine(&mut self) -> &mut Client {
        &mut self.machine
    }

    fn flush(&mut self) -> Result<(), Error<T::Error>> {
        while !self.machine.output().is_empty() {
            let n = self
                .transport
                .write(self.machine.output())
                .map_err(Error::Transport)?;
            if n == 0 {
                self.transport.poll().map_err(Error::Transport)?;
            } else {
                self.machine.consume_output(n);
            }
        }
        Ok(())
    }

    /// Reads once from the transport into the machine; `false` if nothing came.
    fn pump(&mut self) -> Result<bool, Error<T::Error>> {
        let n = self
            .transport
            .read(&mut self.buf)
            .map_err(Error::Transport)?;
        if n == 0 {
            return Ok(false);
        }
        let n = n.min(self.buf.len());
        self.machine.input(&self.buf[..n])?;
        Ok(true)
    }

    /// Sends `req` in transaction `tx` (0 for none) and waits for its reply.
    pub fn call(&mut self, tx: u32, req: &Request) -> Result<Reply, Error<T::Error>> {
        let id = self.machine.send(tx, req)?;
        self.flush()?;
        loop {
            if let Some(r) = self.machine.take_reply(id) {
                return r.map_err(Error::Client);
            }
            if !self.pump()? {
                self.transport.poll().map_err(Error::Transport)?;
            }
        }
    }

    /// Reads a value.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, Error<T::Error>> {
        read_in(self, 0, path)
    }

    /// Reads a value as UTF-8 text.
    pub fn read_string(&mut self, path: &str) -> Result<String, Error<T::Error>> {
        let v = self.read(path)?;
        String::from_utf8(v).map_err(|_| Error::Client(ClientError::Protocol("value is not UTF-8")))
    }

    /// Writes a value, creating missing parents.
    pub fn write(&mut self, path: &str, value: &[u8]) -> Result<(), Error<T::Error>> {
        self.call(0, &Request::Write(path, value)).map(|_| ())
    }

    /// Creates a node if missing.
    pub fn mkdir(&mut self, path: &str) -> Result<(), Error<T::Error>> {
        self.call(0, &Request::Mkdir(path)).map(|_| ())
    }

    /// Removes a subtree.
    pub fn rm(&mut self, path: &str) -> Result<(), Error<T::Error>> {
        self.call(0, &Request::Rm(path)).map(|_| ())
    }

    /// Lists children, falling back to `DIRECTORY_PART` for long listings.
    pub fn directory(&mut self, path: &str) -> Result<Vec<String>, Error<T::Error>> {
        directory_in(self, 0, path)
    }

    /// Reads a node's permissions.
    pub fn get_perms(&mut self, path: &str) -> Result<PermList, Error<T::Error>> {
        let r = self.call(0, &Request::GetPerms(path))?;
        r.perms()
            .ok_or(Error::Client(ClientError::Protocol("bad permission list")))
    }

    /// Replaces a node's permissions.
    pub fn set_perms(&mut self, path: &str, perms: &PermList) -> Result<(), Error<T::Error>> {
        self.call(0, &Request::SetPerms(path, perms)).map(|_| ())
    }

    /// Registers a watch; its initial event follows.
    pub fn watch(&mut self, path: &str, token: &[u8]) -> Result<(), Error<T::Error>> {
        self.call(0, &Request::Watch(path, token)).map(|_| ())
    }

    /// Removes a watch.
    pub fn unwatch(&mut self, path: &str, token: &[u8]) -> Result<(), Error<T::Error>> {
        self.call(0, &Request::Unwatch(path, token)).map(|_| ())
    }

    /// The home path of `domid` (`/local/domain/<domid>`).
    pub fn get_domain_path(&mut self, domid: u32) -> Result<String, Error<T::Error>> {
        let r = self.call(0, &Request::GetDomainPath(domid))?;
        r.string()
            .ok_or(Error::Client(ClientError::Protocol("bad domain path")))
    }

    /// A queued watch event, without waiting or reading.
    pub fn next_event(&mut self) -> Option<WatchEvent> {
        self.machine.next_event()
    }

    /// Reads what the transport has now and returns a watch event if one is
    /// queued (never waits, provided the transport's `read` does not).
    pub fn poll_event(&mut self) -> Result<Option<WatchEvent>, Error<T::Error>> {
        if let Some(e) = self.machine.next_event() {
            return Ok(Some(e));
        }
        self.flush()?;
        while self.pump()? {
            if let Some(e) = self.machine.next_event() {
                return Ok(Some(e));
            }
        }
        Ok(self.machine.next_event())
    }

    /// Waits for the next watch event.
    pub fn wait_event(&mut self) -> Result<WatchEvent, Error<T::Error>> {
        self.flush()?;
        loop {
            if let Some(e) = self.machine.next_event() {
                return Ok(e);
            }
            if !self.pump()? {
                self.transport.poll().map_err(Error::Transport)?;
            }
        }
    }

    /// Starts a transaction; use the returned handle, then commit or abort it.
    pub fn start_transaction(&mut self) -> Result<Txn<'_, T>, Error<T::Error>> {
        let r = self.call(0, &Request::TransactionStart)?;
        let id = r
            .string()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|&id| id != 0)
            .ok_or(Error::Client(ClientError::Protocol("bad transaction id")))?;
        Ok(Txn { client: self, id })
    }

    /// Runs `f` in a transaction and commits; on `EAGAIN` (from `f` or from
    /// the commit) starts over, as Xen's clients do. Other errors abort it.
    pub fn transaction<R>(
        &mut self,
        mut f: impl FnMut(&mut Txn<'_, T>) -> Result<R, Error<T::Error>>,
    ) -> Result<R, Error<T::Error>> {
        let mut last = Error::Client(ClientError::Xs(Errno::EAGAIN));
        for _ in 0..TXN_ATTEMPTS {
            let mut t = self.start_transaction()?;
            match f(&mut t) {
                Ok(r) => match t.commit() {
                    Ok(()) => return Ok(r),
                    Err(e) if e.errno() == Some(Errno::EAGAIN) => last = e,
                    Err(e) => return Err(e),
                },
                Err(e) => {
                    let again = e.errno() == Some(Errno::EAGAIN);
                    // The abort's own failure does not matter more than `e`.
                    let _ = t.abort();
                    if !again {
                        return Err(e);
                    }
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// Resets the transport's connection and the client's state: requests in
    /// flight fail with `Disconnected`, watches are registered again.
    pub fn reconnect(&mut self) -> Result<bool, Error<T::Error>> {
        if !self.transport.reconnect().map_err(Error::Transport)? {
            return Ok(false);
        }
        self.machine.reconnected();
        self.flush()?;
        Ok(true)
    }
}

fn read_in<T: Transport>(
    c: &mut BlockingClient<T>,
    tx: u32,
    path: &str,
) -> Result<Vec<u8>, Error<T::Error>> {
    Ok(c.call(tx, &Request::Read(path))?.payload)
}

fn directory_in<T: Transport>(
    c: &mut BlockingClient<T>,
    tx: u32,
    path: &str,
) -> Result<Vec<String>, Error<T::Error>> {
    match c.call(tx, &Request::Directory(path)) {
        Ok(r) => r.strings().ok_or(Error::Client(ClientError::Protocol(
            "bad directory listing",
        ))),
        Err(e) if e.errno() == Some(Errno::E2BIG) => directory_parts(c, tx, path),
        Err(e) => Err(e),
    }
}

fn directory_parts<T: Transport>(
    c: &mut BlockingClient<T>,
    tx: u32,
    path: &str,
) -> Result<Vec<String>, Error<T::Error>> {
    let bad = || Error::Client(ClientError::Protocol("bad DIRECTORY_PART reply"));
    'restart: for _ in 0..TXN_ATTEMPTS {
        let mut names: Vec<u8> = Vec::new();
        let mut gen: Option<Vec<u8>> = None;
        loop {
            let r = c.call(tx, &Request::DirectoryPart(path, names.len() as u64))?;
            let p = r.payload;
            let g_end = p.iter().position(|&b| b == 0).ok_or_else(bad)?;
            let g = p[..g_end].to_vec();
            if gen.as_ref().is_some_and(|old| *old != g) {
                continue 'restart;
            }
            gen = Some(g);
            let chunk = &p[g_end + 1..];
            // The last chunk ends with an extra empty string.
            let last = chunk.is_empty() || chunk.ends_with(&[0, 0]) || chunk == [0];
            let body = if last {
                &chunk[..chunk.len().saturating_sub(1)]
            } else {
                chunk
            };
            if body.is_empty() && !last {
                return Err(bad());
            }
            names.extend_from_slice(body);
            if last {
                let reply = Reply {
                    ty: crate::MsgType::Directory,
                    payload: names,
                };
                return reply.strings().ok_or_else(bad);
            }
        }
    }
    Err(Error::Client(ClientError::Xs(Errno::EAGAIN)))
}

/// An open transaction; dropping it without [`commit`](Self::commit) leaves it
/// open on the server until the connection closes, so prefer [`abort`](Self::abort).
pub struct Txn<'a, T: Transport> {
    client: &'a mut BlockingClient<T>,
    id: u32,
}

impl<T: Transport> Txn<'_, T> {
    /// The transaction id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Reads a value inside the transaction.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, Error<T::Error>> {
        read_in(self.client, self.id, path)
    }

    /// Writes a value inside the transaction.
    pub fn write(&mut self, path: &str, value: &[u8]) -> Result<(), Error<T::Error>> {
        self.client
            .call(self.id, &Request::Write(path, value))
            .map(|_| ())
    }

    /// Creates a node inside the transaction.
    pub fn mkdir(&mut self, path: &str) -> Result<(), Error<T::Error>> {
        self.client.call(self.id, &Request::Mkdir(path)).map(|_| ())
    }

    /// Removes a subtree inside the transaction.
    pub fn rm(&mut self, path: &str) -> Result<(), Error<T::Error>> {
        self.client.call(self.id, &Request::Rm(path)).map(|_| ())
    }

    /// Lists children inside the transaction.
    pub fn directory(&mut self, path: &str) -> Result<Vec<String>, Error<T::Error>> {
        directory_in(self.client, self.id, path)
    }

    /// Commits; `EAGAIN` means another change conflicted and nothing was applied.
    pub fn commit(self) -> Result<(), Error<T::Error>> {
        self.client
            .call(self.id, &Request::TransactionEnd(true))
            .map(|_| ())
    }

    /// Discards the transaction.
    pub fn abort(self) -> Result<(), Error<T::Error>> {
        self.client
            .call(self.id, &Request::TransactionEnd(false))
            .map(|_| ())
    }
}

#[cfg(feature = "std")]
mod stream {
    use super::Transport;
    use std::io::{self, Read, Write};

    /// A [`Transport`] over a blocking byte stream such as a `UnixStream`.
    /// End of stream is reported as `UnexpectedEof`.
    pub struct StreamTransport<S>(pub S);

    impl<S: Read + Write> Transport for StreamTransport<S> {
        type Error = io::Error;

        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf) {
                Ok(0) => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "xenstore connection closed",
                )),
                Ok(n) => Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
                Err(e) => Err(e),
            }
        }

        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            match self.0.write(buf) {
                Ok(0) => Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "xenstore connection closed",
                )),
                Ok(n) => Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
                Err(e) => Err(e),
            }
        }

        fn poll(&mut self) -> io::Result<()> {
            std::thread::yield_now();
            Ok(())
        }
    }
}

#[cfg(feature = "std")]
pub use stream::StreamTransport;

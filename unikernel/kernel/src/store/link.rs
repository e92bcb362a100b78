//! A non-blocking xenstore client: the sans-IO `xenstore` state machine
//! plus a tag per request, pumped over a [`ByteStream`] by the main loop.
//! Nothing here waits: requests queue, bytes move when the stream takes
//! them, and replies come back with the tag they were sent with.

use alloc::vec::Vec;

use xenstore::client::{Client, ClientError, Reply, ReqId, Request, WatchEvent};

use crate::stream::ByteStream;

/// A store connection whose requests carry tags of type `T`.
pub struct Link<T> {
    machine: Client,
    waiting: Vec<(ReqId, T)>,
    buf: [u8; 512],
}

impl<T> Default for Link<T> {
    fn default() -> Self {
        Link::new()
    }
}

impl<T> Link<T> {
    /// A link with nothing in flight.
    pub fn new() -> Link<T> {
        Link {
            machine: Client::new(),
            waiting: Vec::new(),
            buf: [0; 512],
        }
    }

    /// Queues `req`; its reply comes back from [`next_reply`](Self::next_reply)
    /// with `tag`. Fails only for requests that cannot be encoded (a bad
    /// path, a value over 4 KiB) or on a broken connection.
    pub fn send(&mut self, req: &Request, tag: T) -> Result<(), ClientError> {
        let id = self.machine.send(0, req)?;
        self.waiting.push((id, tag));
        Ok(())
    }

    /// Moves bytes both ways as far as the stream allows now; true if any
    /// moved.
    pub fn pump(&mut self, stream: &mut dyn ByteStream) -> bool {
        let mut moved = false;
        loop {
            let out = self.machine.output();
            if out.is_empty() {
                break;
            }
            let n = stream.write(out);
            if n == 0 {
                break;
            }
            self.machine.consume_output(n);
            moved = true;
        }
        loop {
            let n = stream.read(&mut self.buf);
            if n == 0 {
                break;
            }
            moved = true;
            if let Err(e) = self.machine.input(&self.buf[..n]) {
                // A framing error: the server cannot be trusted to resync,
                // so start over (pending requests fail, watches re-register).
                crate::kprintln!("mb: store: {e}; resetting the client");
                self.machine.reconnected();
            }
        }
        moved
    }

    /// A reply that has arrived, with its tag (in any order).
    pub fn next_reply(&mut self) -> Option<(T, Result<Reply, ClientError>)> {
        for i in 0..self.waiting.len() {
            if let Some(r) = self.machine.take_reply(self.waiting[i].0) {
                let (_, tag) = self.waiting.remove(i);
                return Some((tag, r));
            }
        }
        None
    }

    /// The oldest unseen watch event.
    pub fn next_event(&mut self) -> Option<WatchEvent> {
        self.machine.next_event()
    }

    /// Requests still waiting for replies.
    pub fn in_flight(&self) -> usize {
        self.waiting.len()
    }
}

//! A non-blocking xenstore client: the sans-IO `xenstore` state machine
//! plus a tag per request, pumped over a [`ByteStream`] by the main loop.
//! Nothing here waits: requests queue, bytes move when the stream takes
//! them, and replies come back with the tag they were sent with.

use alloc::vec::Vec;

use xenstore::client::{Client, ClientError, Reply, ReqId, Request, WatchEvent};

use crate::stream::ByteStream;

/// How long requests may wait with nothing heard from the store before
/// the link counts as stalled (see [`Link::stalled`]).
pub const STALL_NS: u64 = 2_000_000_000;

/// A store connection whose requests carry tags of type `T`.
pub struct Link<T> {
    machine: Client,
    waiting: Vec<(ReqId, T)>,
    buf: [u8; 512],
    /// When bytes last arrived, or a request was sent to an idle link.
    heard_ns: u64,
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
            heard_ns: 0,
        }
    }

    /// Forgets everything in flight and starts a fresh client: late
    /// replies to the old requests are dropped (unknown ids).
    pub fn reset(&mut self) {
        self.machine = Client::new();
        self.waiting.clear();
    }

    /// True when requests have waited [`STALL_NS`] with nothing heard:
    /// the host side lost them (the agent restarted, or QEMU dropped
    /// console bytes while its chardev was disconnected, as it does for
    /// virtconsole), and they must be sent again.
    pub fn stalled(&self, now_ns: u64) -> bool {
        !self.waiting.is_empty() && now_ns.saturating_sub(self.heard_ns) >= STALL_NS
    }

    /// When [`stalled`](Self::stalled) would become true, while requests
    /// wait.
    pub fn stall_deadline(&self) -> Option<u64> {
        (!self.waiting.is_empty()).then(|| self.heard_ns + STALL_NS)
    }

    /// Queues `req`; its reply comes back from [`next_reply`](Self::next_reply)
    /// with `tag`. Fails only for requests that cannot be encoded (a bad
    /// path, a value over 4 KiB) or on a broken connection.
    pub fn send(&mut self, req: &Request, tag: T) -> Result<(), ClientError> {
        let id = self.machine.send(0, req)?;
        if self.waiting.is_empty() {
            self.heard_ns = crate::time::now_ns();
        }
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
            self.heard_ns = crate::time::now_ns();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that swallows everything and never answers.
    struct Void;

    impl ByteStream for Void {
        fn read(&mut self, _buf: &mut [u8]) -> usize {
            0
        }
        fn write(&mut self, buf: &[u8]) -> usize {
            buf.len()
        }
    }

    #[test]
    fn unanswered_requests_stall_and_reset_clears_them() {
        let mut l: Link<u8> = Link::new();
        assert!(!l.stalled(u64::MAX));
        assert_eq!(l.stall_deadline(), None);
        // Host tests read the clock as 0.
        l.send(&Request::Read("data/clickos/0/status"), 1).unwrap();
        assert!(l.pump(&mut Void));
        assert_eq!(l.stall_deadline(), Some(STALL_NS));
        assert!(!l.stalled(STALL_NS - 1));
        assert!(l.stalled(STALL_NS));
        l.reset();
        assert!(!l.stalled(u64::MAX));
        assert!(l.next_reply().is_none());
        assert!(l.send(&Request::Read("a//b"), 2).is_err());
    }
}

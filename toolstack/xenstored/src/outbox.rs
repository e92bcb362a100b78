//! A connection's outgoing bytes: one queue, one writer at a time.
//!
//! Whoever finds the queue idle writes it: usually the connection's own
//! reader thread, right after handling a request (saving a thread hand-off
//! per round trip), otherwise the connection's writer thread, which wakes for
//! watch events caused by other connections. Taking bytes from one queue,
//! one writer at a time, keeps everything in the order the store produced it.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Bytes queued for one connection before it counts as not reading.
const QUEUE_MAX: usize = 1 << 20;
/// Replies (or bytes) a reader queues for a pipelining client before it
/// writes them, rather than one write per reply.
const BATCH_MSGS: usize = 16;
const BATCH_BYTES: usize = 64 << 10;

#[derive(Default)]
struct Queue {
    bytes: Vec<u8>,
    /// Messages queued or being written, not yet sent.
    unsent: usize,
    writing: bool,
    closed: bool,
}

/// See the module docs.
#[derive(Default)]
pub(crate) struct Outbox {
    q: Mutex<Queue>,
    cv: Condvar,
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.q.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues bytes, waking the writer thread if `wake`; `false` if the
    /// connection is closed or too far behind.
    pub fn push(&self, bytes: &[u8], wake: bool) -> bool {
        let mut q = self.lock();
        if q.closed || q.bytes.len() + bytes.len() > QUEUE_MAX {
            return false;
        }
        q.bytes.extend_from_slice(bytes);
        q.unsent += 1;
        if wake && !q.writing {
            self.cv.notify_one();
        }
        true
    }

    /// Messages queued or being written.
    pub fn unsent(&self) -> usize {
        self.lock().unsent
    }

    /// Whether enough is queued to be worth a write of its own.
    pub fn batch_full(&self) -> bool {
        let q = self.lock();
        q.unsent >= BATCH_MSGS || q.bytes.len() >= BATCH_BYTES
    }

    /// Waits until fewer than `max` messages are unsent; `false` if the
    /// connection closed meanwhile.
    pub fn wait_below(&self, max: usize) -> bool {
        let mut q = self.lock();
        while !q.closed && q.unsent >= max {
            q = self.cv.wait(q).unwrap_or_else(|p| p.into_inner());
        }
        !q.closed
    }

    /// Marks the connection closed and wakes the writer thread so it exits.
    pub fn close(&self) {
        self.lock().closed = true;
        self.cv.notify_all();
    }

    /// Writes everything queued if no one else is writing; `false` on a write error.
    pub fn flush(&self, s: &mut UnixStream) -> bool {
        let q = self.lock();
        if q.writing {
            return true;
        }
        self.drain(q, s)
    }

    fn drain<'a>(&'a self, mut q: MutexGuard<'a, Queue>, s: &mut UnixStream) -> bool {
        while !q.bytes.is_empty() && !q.closed {
            let batch = std::mem::take(&mut q.bytes);
            let msgs = q.unsent;
            q.writing = true;
            drop(q);
            let ok = s.write_all(&batch).is_ok();
            q = self.lock();
            q.writing = false;
            q.unsent -= msgs;
            self.cv.notify_all();
            if !ok {
                q.closed = true;
                return false;
            }
        }
        // Someone may have queued while we wrote and left it to us.
        true
    }

    /// The writer thread: waits for bytes and writes them until closed.
    pub fn run_writer(&self, mut s: UnixStream) {
        loop {
            let mut q = self.lock();
            while !q.closed && (q.bytes.is_empty() || q.writing) {
                q = self.cv.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            if q.closed || !self.drain(q, &mut s) {
                break;
            }
        }
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn requests_wait_while_too_much_is_unsent() {
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        let out = Arc::new(Outbox::default());
        for _ in 0..3 {
            assert!(out.push(b"0123456789abcdef", false));
        }
        assert_eq!(out.unsent(), 3);
        assert!(out.wait_below(4), "below the limit: no wait");
        let waiter = {
            let out = out.clone();
            std::thread::spawn(move || out.wait_below(2))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished(), "three unsent, limit two: waits");
        let mut w = theirs.try_clone().unwrap();
        assert!(out.flush(&mut w));
        assert!(waiter.join().unwrap());
        assert_eq!(out.unsent(), 0);
        let mut got = [0u8; 48];
        ours.read_exact(&mut got).unwrap();
        // A closed connection ends the wait too.
        out.push(b"x", false);
        out.close();
        assert!(!out.wait_below(1));
    }
}

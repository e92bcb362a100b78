//! The state channel: the host's bulk path to the router's element state
//! (get, put, delete, events mode, re-process), on its own byte stream
//! (a second virtio-console on KVM) so megabytes of state never pass
//! through the store, whose values are at most 4 KiB. Requests and
//! replies are `click::state::channel` frames; one request is answered
//! at a time, in order, its reply sent in credited windows (see
//! `click::state::channel`): bytes arriving while a reply goes out are
//! credits.

use alloc::vec::Vec;

use click::state::channel::{response_frame, serve_message, Framer, Response, WINDOW};

use super::app::App;
use crate::stream::ByteStream;

/// Bytes read from the stream per poll at most, so a big put does not
/// hold up packets for long.
const READ_PER_POLL: usize = 64 << 10;

/// The channel's state between polls.
#[derive(Default)]
pub struct StateChannel {
    framer: Framer,
    /// Reply bytes not yet taken by the stream.
    out: Vec<u8>,
    sent: usize,
    /// Offset in `out` up to which the host has given credit.
    allowed: usize,
}

impl StateChannel {
    /// Moves bytes both ways and answers whole requests; true if anything
    /// happened.
    pub fn poll(&mut self, stream: &mut dyn ByteStream, app: &App) -> bool {
        let mut worked = false;
        if !self.out.is_empty() {
            let mut credits = [0u8; 16];
            let n = stream.read(&mut credits);
            self.allowed = (self.allowed + n * WINDOW).min(self.out.len());
            worked = n > 0;
        }
        worked |= self.flush(stream);
        let mut buf = [0u8; 4096];
        let mut took = 0;
        while took < READ_PER_POLL && self.out.is_empty() {
            let n = stream.read(&mut buf);
            if n == 0 {
                break;
            }
            took += n;
            worked = true;
            self.framer.push(&buf[..n]);
            if self.answer(app) {
                self.flush(stream);
            }
        }
        if self.out.is_empty() && self.answer(app) {
            self.flush(stream);
        }
        worked
    }

    /// Answers the next whole request, if there is one and no reply is
    /// still going out.
    fn answer(&mut self, app: &App) -> bool {
        if !self.out.is_empty() {
            return false;
        }
        let resp: Response = match self.framer.next_message() {
            None => return false,
            Some(Err(e)) => Err(e),
            Some(Ok(msg)) => match app.engine() {
                Some(r) => serve_message(r, &msg),
                None => Err("no router is running".into()),
            },
        };
        self.out = response_frame(&resp);
        self.sent = 0;
        self.allowed = self.out.len().min(WINDOW);
        true
    }

    fn flush(&mut self, stream: &mut dyn ByteStream) -> bool {
        let mut moved = false;
        while self.sent < self.allowed {
            // The device takes one buffer per write; 64 KiB pieces keep
            // each descriptor's copy short.
            let end = self.allowed.min(self.sent + (64 << 10));
            let n = stream.write(&self.out[self.sent..end]);
            if n == 0 {
                break;
            }
            self.sent += n;
            moved = true;
        }
        if self.sent == self.out.len() {
            self.out = Vec::new();
            self.sent = 0;
            self.allowed = 0;
        }
        moved
    }
}

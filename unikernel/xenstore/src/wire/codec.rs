//! Reassembling messages from a byte stream that arrives in arbitrary pieces.

use super::{Header, Message, HEADER_LEN, PAYLOAD_MAX};
use alloc::vec::Vec;
use core::fmt;

/// A framing error; the stream cannot be resynchronised after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// A header announced (or a caller tried to send) a payload above 4096 bytes.
    TooLong(usize),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::TooLong(n) => write!(f, "payload of {n} bytes exceeds {PAYLOAD_MAX}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for WireError {}

/// Incremental decoder: feed bytes with [`push`](Self::push), take messages with
/// [`next_message`](Self::next_message).
///
/// It buffers at most one header plus one maximal payload beyond what the caller
/// has already consumed, so a hostile peer cannot make it grow without bound as
/// long as the caller drains messages between pushes.
#[derive(Debug, Default, Clone)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    failed: Option<WireError>,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// How many more bytes complete the message being received (at least 1 if idle).
    pub fn wanted(&self) -> usize {
        let have = self.buffered();
        if have < HEADER_LEN {
            return HEADER_LEN - have;
        }
        let len = self.peek_len();
        (HEADER_LEN + len).saturating_sub(have).max(1)
    }

    fn peek_len(&self) -> usize {
        let b = &self.buf[self.start + 12..self.start + 16];
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize
    }

    /// The next complete message, `Ok(None)` if more bytes are needed, or the
    /// framing error that makes the stream unusable (sticky).
    pub fn next_message(&mut self) -> Result<Option<Message>, WireError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let avail = &self.buf[self.start..];
        if avail.len() < HEADER_LEN {
            self.compact();
            return Ok(None);
        }
        let mut hb = [0u8; HEADER_LEN];
        hb.copy_from_slice(&avail[..HEADER_LEN]);
        let h = Header::decode(&hb);
        let len = h.len as usize;
        if len > PAYLOAD_MAX {
            let e = WireError::TooLong(len);
            self.failed = Some(e);
            return Err(e);
        }
        if avail.len() < HEADER_LEN + len {
            self.compact();
            return Ok(None);
        }
        let payload = avail[HEADER_LEN..HEADER_LEN + len].to_vec();
        self.start += HEADER_LEN + len;
        Ok(Some(Message::new(h.ty, h.req_id, h.tx_id, payload)))
    }

    /// Forgets everything buffered and any sticky error (after a reconnection).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.failed = None;
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MsgType;
    use alloc::vec;

    #[test]
    fn reassembles_byte_by_byte() {
        let a = Message::new(MsgType::Write, 1, 0, b"/a\0xyz".to_vec());
        let b = Message::new(MsgType::Read, 2, 5, b"/a\0".to_vec());
        let mut bytes = a.encode().unwrap();
        b.encode_into(&mut bytes).unwrap();
        let mut d = FrameDecoder::new();
        let mut got = vec![];
        for byte in bytes {
            d.push(&[byte]);
            while let Some(m) = d.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, vec![a, b]);
        assert_eq!(d.buffered(), 0);
        assert_eq!(d.wanted(), HEADER_LEN);
    }

    #[test]
    fn too_long_is_sticky() {
        let mut h = Header {
            ty: MsgType::Write,
            req_id: 1,
            tx_id: 0,
            len: 4097,
        }
        .encode()
        .to_vec();
        h.extend_from_slice(&[0; 8]);
        let mut d = FrameDecoder::new();
        d.push(&h);
        assert_eq!(d.next_message(), Err(WireError::TooLong(4097)));
        assert_eq!(d.next_message(), Err(WireError::TooLong(4097)));
        d.reset();
        assert_eq!(d.next_message(), Ok(None));
    }

    #[test]
    fn max_payload_is_accepted() {
        let m = Message::new(MsgType::Write, 9, 0, vec![7u8; PAYLOAD_MAX]);
        let mut d = FrameDecoder::new();
        d.push(&m.encode().unwrap());
        assert_eq!(d.next_message().unwrap(), Some(m));
    }
}

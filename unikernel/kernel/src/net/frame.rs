//! An Ethernet frame in an owned buffer, with room in front.
//!
//! The layout (buffer, offset of the first byte, length) is the one
//! `click::Packet::from_buffer`/`into_buffer` use, so frames move between
//! the drivers and the engine without copying. Drivers receive into
//! buffers of [`BUF_SIZE`] bytes with the data at [`HEADROOM`], which
//! leaves space to prepend headers (and the virtio-net header on send).

use alloc::boxed::Box;
use alloc::vec;

/// Size of a driver receive buffer.
pub const BUF_SIZE: usize = 2048;
/// Bytes in front of received data.
pub const HEADROOM: usize = 64;

/// A frame: `buf[head..head + len]` holds the bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    buf: Box<[u8]>,
    head: usize,
    len: usize,
}

impl Frame {
    /// Wraps a buffer; `None` if the window does not fit in it.
    pub fn from_parts(buf: Box<[u8]>, head: usize, len: usize) -> Option<Frame> {
        (head.checked_add(len)? <= buf.len()).then_some(Frame { buf, head, len })
    }

    /// Copies `data` into a fresh buffer with [`HEADROOM`] in front.
    pub fn from_slice(data: &[u8]) -> Frame {
        let mut buf = vec![0u8; HEADROOM + data.len()].into_boxed_slice();
        buf[HEADROOM..].copy_from_slice(data);
        Frame {
            buf,
            head: HEADROOM,
            len: data.len(),
        }
    }

    /// Gives back (buffer, head, len).
    pub fn into_parts(self) -> (Box<[u8]>, usize, usize) {
        (self.buf, self.head, self.len)
    }

    /// The frame bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.head..self.head + self.len]
    }

    /// The frame bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.head..self.head + self.len]
    }

    /// Length of the frame.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes free in front of the data.
    pub fn headroom(&self) -> usize {
        self.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip_and_bounds() {
        let f = Frame::from_slice(b"abc");
        assert_eq!(f.data(), b"abc");
        assert_eq!(f.headroom(), HEADROOM);
        let (buf, head, len) = f.into_parts();
        let f = Frame::from_parts(buf, head, len).unwrap();
        assert_eq!(f.data(), b"abc");
        let (buf, _, _) = f.into_parts();
        assert!(Frame::from_parts(buf.clone(), HEADROOM, 4).is_none());
        assert!(Frame::from_parts(buf, usize::MAX, 2).is_none());
    }
}

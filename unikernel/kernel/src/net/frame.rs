//! An Ethernet frame: a `click::Packet` (one header and one buffer, with
//! room in front) as the drivers see it, and the pool of spare frames
//! every NIC receives into.
//!
//! A frame *is* the engine's packet, so a received frame enters the
//! element graph and a sent packet reaches the driver without a copy or an
//! allocation. Drivers receive into buffers of at least [`BUF_SIZE`] bytes
//! with the data at [`HEADROOM`], which leaves space to prepend headers
//! (and the virtio-net header on send). Frames the devices are done with
//! go back to [`POOL`], shared by all NICs because a frame received on one
//! is usually sent on another: with per-NIC pools the receiving NIC would
//! allocate and the sending one free a buffer per frame.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use alloc::vec::Vec;
use click::Packet;

/// Size of a driver receive buffer.
pub const BUF_SIZE: usize = 2048;
/// Bytes in front of received data.
pub const HEADROOM: usize = 64;

/// A frame: the data window of its packet holds the bytes.
#[derive(Debug)]
#[repr(transparent)]
pub struct Frame(Packet);

impl Frame {
    /// A fresh frame with a [`BUF_SIZE`] buffer and an empty window at
    /// [`HEADROOM`]; `None` when memory is short.
    pub fn try_new() -> Option<Frame> {
        Packet::try_with_room(HEADROOM, 0, BUF_SIZE - HEADROOM).map(Frame)
    }

    /// Copies `data` into a fresh buffer with [`HEADROOM`] in front.
    pub fn from_slice(data: &[u8]) -> Frame {
        let mut p = Packet::with_room(HEADROOM, data.len(), 0);
        p.data_mut().copy_from_slice(data);
        Frame(p)
    }

    /// The engine's packet as a frame (no copy).
    pub fn from_packet(p: Packet) -> Frame {
        Frame(p)
    }

    /// The frame as the engine's packet (no copy).
    pub fn into_packet(self) -> Packet {
        self.0
    }

    /// The frame bytes.
    pub fn data(&self) -> &[u8] {
        self.0.data()
    }

    /// The frame bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.0.data_mut()
    }

    /// Length of the frame.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Bytes free in front of the data (the data's offset in the buffer).
    pub fn headroom(&self) -> usize {
        self.0.headroom()
    }

    /// The whole buffer.
    pub fn buffer(&self) -> &[u8] {
        self.0.buffer()
    }

    /// The whole buffer, writable (for a device to fill).
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        self.0.buffer_mut()
    }

    /// Marks `head..head + len` of the buffer as the frame, with fresh
    /// annotations; false if it does not fit.
    pub fn set_window(&mut self, head: usize, len: usize) -> bool {
        self.0.reset_window(head, len)
    }
}

/// Spare frames, at most `MAX`.
pub struct FramePool {
    /// Set while `free` is in use: the only access path, so a reentrant
    /// call (an interrupt handler, which never touches it today) would
    /// just see an empty pool instead of a second `&mut`.
    busy: AtomicBool,
    free: UnsafeCell<Vec<Frame>>,
}

// SAFETY: `free` is only reached through `with`, which holds `busy`.
unsafe impl Sync for FramePool {}

/// Spares kept: two full virtio rings' worth.
const MAX: usize = 512;

/// The frames shared by every NIC.
pub static POOL: FramePool = FramePool::new();

impl FramePool {
    /// An empty pool.
    pub const fn new() -> FramePool {
        FramePool {
            busy: AtomicBool::new(false),
            free: UnsafeCell::new(Vec::new()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Vec<Frame>) -> R) -> Option<R> {
        if self.busy.swap(true, Ordering::Acquire) {
            return None;
        }
        // SAFETY: winning the flag makes this the only reference.
        let r = f(unsafe { &mut *self.free.get() });
        self.busy.store(false, Ordering::Release);
        Some(r)
    }

    /// A frame to receive into (window unspecified): a spare, else a fresh
    /// one; `None` when the heap is exhausted.
    pub fn take(&self) -> Option<Frame> {
        match self.with(|v| v.pop()).flatten() {
            Some(f) => Some(f),
            None => Frame::try_new(),
        }
    }

    /// Keeps `f` for reuse if its buffer is a full receive buffer and
    /// there is room; frees it otherwise.
    pub fn give(&self, f: Frame) {
        if f.buffer().len() < BUF_SIZE {
            return;
        }
        self.with(move |v| {
            if v.len() < MAX && click::fallible::reserve(v, 1) {
                v.push(f);
            }
        });
    }

    /// Spare frames held.
    pub fn spare(&self) -> usize {
        self.with(|v| v.len()).unwrap_or(0)
    }

    /// Tops the pool up to `low` spares with `next` (for example the
    /// router's spare packets, so frames the graph dropped go back to the
    /// devices instead of the heap).
    pub fn refill(&self, low: usize, mut next: impl FnMut() -> Option<Frame>) {
        let mut want = low.saturating_sub(self.spare());
        while want > 0 {
            match next() {
                Some(f) => self.give(f),
                None => break,
            }
            want -= 1;
        }
    }
}

impl Default for FramePool {
    fn default() -> Self {
        FramePool::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_packets_without_copies() {
        let f = Frame::from_slice(b"abc");
        assert_eq!(f.data(), b"abc");
        assert_eq!(f.headroom(), HEADROOM);
        let addr = f.data().as_ptr();
        let p = f.into_packet();
        assert_eq!(p.data().as_ptr(), addr);
        let mut f = Frame::from_packet(p);
        assert!(!f.set_window(f.buffer().len(), 1));
        assert!(f.set_window(HEADROOM + 1, 2));
        assert_eq!(f.data(), b"bc");
    }

    #[test]
    fn the_pool_reuses_full_buffers_only() {
        let pool = FramePool::new();
        let f = pool.take().expect("fresh");
        assert_eq!(f.buffer().len(), BUF_SIZE);
        let addr = f.buffer().as_ptr();
        pool.give(f);
        pool.give(Frame::from_slice(b"small"));
        assert_eq!(pool.spare(), 1);
        let g = pool.take().unwrap();
        assert_eq!(g.buffer().as_ptr(), addr, "the same buffer back");
        assert_eq!(pool.spare(), 0);
        let mut spares = alloc::vec![Frame::try_new().unwrap(), Frame::try_new().unwrap()];
        pool.refill(1, || spares.pop());
        assert_eq!((pool.spare(), spares.len()), (1, 1));
    }
}

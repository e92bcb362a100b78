//! A split virtqueue driven directly, for the packet path: the driver
//! decides which descriptor carries which buffer (one fixed descriptor
//! per slot, so recycling a buffer is one descriptor write and one avail
//! entry, with no free-list or token bookkeeping), publishes a whole batch
//! with one index store, and tells the device only when it asked to be
//! told (`VIRTQ_USED_F_NO_NOTIFY` clear). Interrupts are suppressed per
//! queue (`VIRTQ_AVAIL_F_NO_INTERRUPT`) except while the guest sleeps on
//! it. Event indices are not negotiated.
//!
//! The layout is the legacy one (descriptors, avail ring, used ring on
//! the next page boundary, in one page-aligned allocation), which the
//! modern transports accept too.

use core::ptr::{addr_of_mut, read_volatile, write_volatile};
use core::sync::atomic::{fence, Ordering};

use virtio_drivers::transport::Transport;
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE};

use super::hal::KernelHal;

/// Descriptors per queue.
pub const SIZE: usize = 256;
const MASK: u16 = SIZE as u16 - 1;

const DESC_F_WRITE: u16 = 2;
const AVAIL_F_NO_INTERRUPT: u16 = 1;
const USED_F_NO_NOTIFY: u16 = 1;

#[repr(C)]
struct Desc {
    addr: u64,
    len: u32,
    flags: u16,
    next: u16,
}

#[repr(C)]
struct Avail {
    flags: u16,
    idx: u16,
    ring: [u16; SIZE],
    used_event: u16,
}

#[repr(C)]
struct UsedElem {
    id: u32,
    len: u32,
}

#[repr(C)]
struct Used {
    flags: u16,
    idx: u16,
    ring: [UsedElem; SIZE],
    avail_event: u16,
}

const fn align_up(n: usize) -> usize {
    (n + PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

const DESC_BYTES: usize = core::mem::size_of::<Desc>() * SIZE;
const USED_OFFSET: usize = align_up(DESC_BYTES + core::mem::size_of::<Avail>());
const PAGES: usize = align_up(USED_OFFSET + core::mem::size_of::<Used>()) / PAGE_SIZE;

/// One virtqueue, shared with the device.
pub struct Ring {
    desc: *mut Desc,
    avail: *mut Avail,
    used: *mut Used,
    /// The next avail index to publish (entries below it are written).
    avail_idx: u16,
    /// The used index up to which completions were taken.
    used_seen: u16,
    /// Avail entries written but not yet published.
    unpublished: bool,
}

/// Why a queue could not be set up.
#[derive(Debug)]
pub struct RingError(pub &'static str);

impl Ring {
    /// Allocates queue `idx`'s memory and hands it to the device.
    pub fn new<T: Transport>(transport: &mut T, idx: u16) -> Result<Ring, RingError> {
        if transport.queue_used(idx) {
            return Err(RingError("queue already in use"));
        }
        if transport.max_queue_size(idx) < SIZE as u32 {
            return Err(RingError("queue smaller than 256"));
        }
        // Zeroed, page-aligned and identity-mapped (see `KernelHal`).
        let (paddr, vaddr) = KernelHal::dma_alloc(PAGES, BufferDirection::Both);
        let base = vaddr.as_ptr();
        transport.queue_set(
            idx,
            SIZE as u32,
            paddr,
            paddr + DESC_BYTES as u64,
            paddr + USED_OFFSET as u64,
        );
        // SAFETY: the three parts lie within the allocation, at the
        // offsets just given to the device.
        let ring = unsafe {
            Ring {
                desc: base.cast(),
                avail: base.add(DESC_BYTES).cast(),
                used: base.add(USED_OFFSET).cast(),
                avail_idx: 0,
                used_seen: 0,
                unpublished: false,
            }
        };
        Ok(ring)
    }

    /// Points descriptor `id` at `addr..addr + len`, device-writable if
    /// `write`, and makes it available (published by [`publish`](Self::publish)).
    #[inline]
    pub fn offer(&mut self, id: u16, addr: u64, len: u32, write: bool) {
        let flags = if write { DESC_F_WRITE } else { 0 };
        // SAFETY: `id & MASK` indexes the descriptor table and the avail
        // ring; the device reads neither entry until the index is published.
        unsafe {
            let d = self.desc.add(usize::from(id & MASK));
            write_volatile(
                d,
                Desc {
                    addr,
                    len,
                    flags,
                    next: 0,
                },
            );
            let slot = addr_of_mut!((*self.avail).ring[usize::from(self.avail_idx & MASK)]);
            write_volatile(slot, id & MASK);
        }
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.unpublished = true;
    }

    /// Publishes the entries offered since the last call; true if the
    /// device wants a notification for them.
    #[inline]
    pub fn publish(&mut self) -> bool {
        if !self.unpublished {
            return false;
        }
        self.unpublished = false;
        // The descriptors and ring entries before the index.
        fence(Ordering::Release);
        // SAFETY: the avail index is ours to write.
        unsafe { write_volatile(addr_of_mut!((*self.avail).idx), self.avail_idx) };
        // The index before reading whether the device sleeps on it
        // (virtio 1.2, 2.7.10: a full barrier).
        fence(Ordering::SeqCst);
        // SAFETY: the used flags are the device's, read only.
        let flags = unsafe { read_volatile(addr_of_mut!((*self.used).flags)) };
        flags & USED_F_NO_NOTIFY == 0
    }

    /// The device's used index now.
    #[inline]
    fn used_idx(&self) -> u16 {
        // SAFETY: the device's used index, read only.
        let idx = unsafe { read_volatile(addr_of_mut!((*self.used).idx)) };
        // Entries before the index are complete.
        fence(Ordering::Acquire);
        idx
    }

    /// The next completion: (descriptor id, bytes written by the device).
    #[inline]
    pub fn pop(&mut self) -> Option<(u16, u32)> {
        if self.used_seen == self.used_idx() {
            return None;
        }
        // SAFETY: entries below the used index are written and stay put
        // until we offer their descriptors again.
        let e = unsafe {
            read_volatile(addr_of_mut!(
                (*self.used).ring[usize::from(self.used_seen & MASK)]
            ))
        };
        self.used_seen = self.used_seen.wrapping_add(1);
        Some(((e.id & u32::from(MASK)) as u16, e.len))
    }

    /// Whether completions wait to be popped.
    pub fn pending(&self) -> bool {
        self.used_seen != self.used_idx()
    }

    /// Asks the device to interrupt on completions (`on`) or not.
    pub fn interrupts(&mut self, on: bool) {
        let flags = if on { 0 } else { AVAIL_F_NO_INTERRUPT };
        // SAFETY: the avail flags are ours to write.
        unsafe { write_volatile(addr_of_mut!((*self.avail).flags), flags) };
        // Before any later look at the used ring.
        fence(Ordering::SeqCst);
    }
}

//! The front end of a split-driver shared ring (io/ring.h) on one 4 KiB
//! page: a 64-byte header (`req_prod`, `req_event`, `rsp_prod`,
//! `rsp_event`, padding) and a power-of-two array of slots, each the size
//! of the larger of request and response.

use core::sync::atomic::{fence, AtomicU32, Ordering};

use crate::xen::page::{Page, PAGE_SIZE};

const HEADER: usize = 64;
const REQ_PROD: usize = 0;
const REQ_EVENT: usize = 4;
const RSP_PROD: usize = 8;
const RSP_EVENT: usize = 12;

/// Slots in a ring of `slot`-byte entries on one page (`__RING_SIZE`).
pub const fn ring_size(slot: usize) -> u32 {
    let n = (PAGE_SIZE - HEADER) / slot;
    // Round down to a power of two.
    1 << (usize::BITS - 1 - n.leading_zeros())
}

/// Our end of one shared ring: private producer and consumer indices, the
/// page shared with the backend.
pub struct FrontRing {
    page: Page,
    slot: usize,
    size: u32,
    /// Requests written but not yet published.
    pub req_prod_pvt: u32,
    /// Responses consumed.
    pub rsp_cons: u32,
}

impl FrontRing {
    /// A fresh ring (`SHARED_RING_INIT` + `FRONT_RING_INIT`) of `slot`-byte entries.
    pub fn new(page: Page, slot: usize) -> FrontRing {
        let r = FrontRing {
            page,
            slot,
            size: ring_size(slot),
            req_prod_pvt: 0,
            rsp_cons: 0,
        };
        r.idx(REQ_PROD).store(0, Ordering::Relaxed);
        r.idx(RSP_PROD).store(0, Ordering::Relaxed);
        r.idx(REQ_EVENT).store(1, Ordering::Relaxed);
        r.idx(RSP_EVENT).store(1, Ordering::Relaxed);
        r
    }

    /// Guest frame of the shared page.
    pub fn pfn(&self) -> u64 {
        self.page.pfn()
    }

    fn idx(&self, off: usize) -> &AtomicU32 {
        // SAFETY: a 4-byte aligned index inside our page.
        unsafe { &*(self.page.ptr().add(off) as *const AtomicU32) }
    }

    /// Pointer to slot `i` (any index; it wraps).
    pub fn slot(&self, i: u32) -> *mut u8 {
        // SAFETY: the masked slot lies inside the page.
        unsafe {
            self.page
                .ptr()
                .add(HEADER + self.slot * (i & (self.size - 1)) as usize)
        }
    }

    /// Responses published by the backend (read with acquire ordering, so
    /// their contents may be read after).
    pub fn rsp_prod(&self) -> u32 {
        let p = self.idx(RSP_PROD).load(Ordering::Acquire);
        fence(Ordering::Acquire);
        p
    }

    /// Requests the backend has room for (`RING_FREE_REQUESTS`).
    pub fn free_requests(&self) -> u32 {
        self.size - self.req_prod_pvt.wrapping_sub(self.rsp_cons)
    }

    /// Publishes private requests; returns whether the backend asked to be
    /// notified (`RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`).
    pub fn push_requests(&mut self) -> bool {
        let old = self.idx(REQ_PROD).load(Ordering::Relaxed);
        let new = self.req_prod_pvt;
        if old == new {
            return false;
        }
        // Slots before index.
        fence(Ordering::Release);
        self.idx(REQ_PROD).store(new, Ordering::Release);
        // Index before reading the backend's event threshold.
        fence(Ordering::SeqCst);
        let event = self.idx(REQ_EVENT).load(Ordering::Acquire);
        new.wrapping_sub(event) < new.wrapping_sub(old)
    }

    /// Asks for an event at the next response and reports whether
    /// responses are already waiting (`RING_FINAL_CHECK_FOR_RESPONSES`).
    pub fn final_check_for_responses(&mut self) -> bool {
        if self.rsp_prod() != self.rsp_cons {
            return true;
        }
        self.idx(RSP_EVENT)
            .store(self.rsp_cons.wrapping_add(1), Ordering::Release);
        fence(Ordering::SeqCst);
        self.rsp_prod() != self.rsp_cons
    }
}

/// Reads a little-endian u16 at `p + off`.
///
/// # Safety
/// `p + off` must be inside a live ring slot.
pub unsafe fn get16(p: *const u8, off: usize) -> u16 {
    unsafe { core::ptr::read_volatile(p.add(off) as *const u16) }
}

/// Writes a u16 at `p + off`.
///
/// # Safety
/// As for [`get16`].
pub unsafe fn put16(p: *mut u8, off: usize, v: u16) {
    unsafe { core::ptr::write_volatile(p.add(off) as *mut u16, v) }
}

/// Writes a u32 at `p + off`.
///
/// # Safety
/// As for [`get16`].
pub unsafe fn put32(p: *mut u8, off: usize, v: u32) {
    unsafe { core::ptr::write_volatile(p.add(off) as *mut u32, v) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_sizes_match_netif() {
        // netif_tx_request is 12 bytes, the rx slots 8: both give 256.
        assert_eq!(ring_size(12), 256);
        assert_eq!(ring_size(8), 256);
        // xen_blkif-sized slots (112 bytes) give 32.
        assert_eq!(ring_size(112), 32);
    }
}

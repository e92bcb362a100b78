//! Whole 4 KiB pages from the heap, for memory Xen or a backend shares
//! with us (rings, grant-table frames, shared info, packet buffers).

use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use core::ptr::NonNull;

/// Bytes in a page.
pub const PAGE_SIZE: usize = 4096;

/// An owned, zeroed, page-aligned page. Memory is identity-mapped, so its
/// address is also its guest-physical address.
pub struct Page {
    ptr: NonNull<u8>,
}

// SAFETY: a plain heap allocation owned by this value.
unsafe impl Send for Page {}

fn layout() -> Layout {
    // A constant, valid layout: size and alignment are one page.
    Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).unwrap_or(Layout::new::<u8>())
}

impl Page {
    /// Allocates a zeroed page; `None` when the heap is exhausted.
    pub fn new() -> Option<Page> {
        // SAFETY: the layout has a non-zero size.
        NonNull::new(unsafe { alloc_zeroed(layout()) }).map(|ptr| Page { ptr })
    }

    /// Guest frame number.
    pub fn pfn(&self) -> u64 {
        self.ptr.as_ptr() as u64 >> 12
    }

    /// Address of the first byte.
    pub fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The page contents.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the page is ours and PAGE_SIZE long.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), PAGE_SIZE) }
    }

    /// The page contents, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes the access unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), PAGE_SIZE) }
    }

    /// Gives the page up for good (Xen now backs this frame with one of
    /// its own pages, e.g. shared info); returns its address.
    pub fn leak(self) -> *mut u8 {
        let p = self.ptr.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with the same layout.
        unsafe { dealloc(self.ptr.as_ptr(), layout()) }
    }
}

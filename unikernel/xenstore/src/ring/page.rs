//! Access to the shared page: indices as 32-bit atomics, data byte by byte.

use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::sync::Arc;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU8, Ordering};

const PAGE: usize = 4096;

/// A view of one `xenstore_domain_interface` page.
///
/// Another domain (or thread) writes the same memory concurrently, so every
/// access goes through atomics; the ring code adds the barriers the protocol asks for.
#[derive(Clone)]
pub struct Interface {
    base: NonNull<u8>,
    // Keeps a host-allocated page alive; `None` for memory the guest maps itself.
    _owner: Option<Arc<SharedPage>>,
}

// SAFETY: all accesses are atomic; the page outlives the view (see constructors).
unsafe impl Send for Interface {}

impl Interface {
    /// A view of the page at `base`. Field access is crate-internal and uses
    /// only the fixed offsets of the layout, so it always stays in the page.
    ///
    /// # Safety
    /// `base` must point to a 4096-byte, 4-byte-aligned page that stays mapped
    /// for the lifetime of the view (and every clone of it).
    pub unsafe fn from_raw(base: NonNull<u8>) -> Interface {
        Interface { base, _owner: None }
    }

    fn word(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off & 3 == 0 && off + 4 <= PAGE);
        // SAFETY: the offset lies in the page, is aligned, and the page is alive.
        unsafe { &*(self.base.as_ptr().add(off) as *const AtomicU32) }
    }

    fn byte(&self, off: usize) -> &AtomicU8 {
        debug_assert!(off < PAGE);
        // SAFETY: the offset lies in the page, which is alive.
        unsafe { &*(self.base.as_ptr().add(off) as *const AtomicU8) }
    }

    /// Loads the 32-bit field at `off`.
    pub(crate) fn load(&self, off: usize) -> u32 {
        self.word(off).load(Ordering::Relaxed)
    }

    /// Stores the 32-bit field at `off`.
    pub(crate) fn store(&self, off: usize, v: u32) {
        self.word(off).store(v, Ordering::Relaxed)
    }

    /// Reads one data byte.
    pub(crate) fn read_byte(&self, off: usize) -> u8 {
        self.byte(off).load(Ordering::Relaxed)
    }

    /// Writes one data byte.
    pub(crate) fn write_byte(&self, off: usize, v: u8) {
        self.byte(off).store(v, Ordering::Relaxed)
    }
}

/// A zeroed, page-aligned page in host memory, shareable between threads:
/// lets both ends of the ring run on the host (tests, emulation).
pub struct SharedPage {
    ptr: NonNull<u8>,
}

// SAFETY: the page is only accessed through `Interface`'s atomics.
unsafe impl Send for SharedPage {}
// SAFETY: as above.
unsafe impl Sync for SharedPage {}

impl SharedPage {
    fn layout() -> Layout {
        // A constant, valid layout: size and alignment are one page.
        Layout::from_size_align(PAGE, PAGE).unwrap_or(Layout::new::<u8>())
    }

    /// Allocates a zeroed page; `None` if memory is exhausted.
    pub fn new() -> Option<Arc<SharedPage>> {
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc_zeroed(Self::layout()) };
        NonNull::new(p).map(|ptr| Arc::new(SharedPage { ptr }))
    }

    /// A view of the page that keeps it alive.
    pub fn interface(self: &Arc<Self>) -> Interface {
        Interface {
            base: self.ptr,
            _owner: Some(self.clone()),
        }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with the same layout.
        unsafe { dealloc(self.ptr.as_ptr(), Self::layout()) }
    }
}

//! The global allocator: talc over the usable RAM regions, with an
//! emergency reserve for configuration builds.
//!
//! On stable Rust a failed infallible allocation ends in a panic, and the
//! guest's panic handler powers it off. Traffic-driven growth in the engine
//! is fallible (`click::fallible`), so at run time the heap running out is
//! a counted drop. A configuration build, though, allocates infallibly all
//! over the parser and the elements, and a config too big for the VM must
//! be an error that leaves the old router running, not a dead guest.
//!
//! Design: at boot a block ([`reserve_bytes`]) is taken from the heap and
//! held back. An *infallible* allocation that fails frees that block and is
//! retried; a *fallible* one (the engine's `click::fallible` helpers, which
//! say so through `click::fallible::trying`) just fails, and while the
//! reserve is out fallible requests are refused outright, so traffic-driven
//! tables fill the heap but never the reserve. The reserve is taken back
//! as soon as memory allows ([`recover`], every main-loop round).
//!
//! While a configuration build runs ([`guarded`]), running out also tells
//! the build (`click::fallible::set_exhausted`), so it stops configuring
//! elements and returns an error; the half-built router is dropped and the
//! reserve taken back. The reserve only has to carry one element's
//! configuration and the unwinding, not the rest of the config. At run
//! time it carries the store traffic and handler replies of a guest whose
//! tables filled the heap. This is sound because the reserve is an
//! ordinary allocation: the allocator only ever hands out memory talc
//! owns, and nothing else touches the block.

use alloc::string::String;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use talc::lock_api::{GuardSend, RawMutex};
use talc::source::Manual;
use talc::TalcLock;

use super::memmap::Region;

/// A spin lock for the allocator. Interrupt handlers never allocate, so on
/// one CPU it is never contended; it exists to make the type `Sync`.
pub struct SpinLock(AtomicBool);

// SAFETY: a standard test-and-set lock: `lock` returns only after winning
// the swap, `unlock` releases with Release ordering.
unsafe impl RawMutex for SpinLock {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: SpinLock = SpinLock(AtomicBool::new(false));
    type GuardMarker = GuardSend;

    fn lock(&self) {
        while !self.try_lock() {
            core::hint::spin_loop();
        }
    }

    fn try_lock(&self) -> bool {
        !self.0.swap(true, Ordering::Acquire)
    }

    unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}

/// talc plus the emergency reserve.
pub struct Heap {
    talc: TalcLock<SpinLock, Manual>,
    /// Set while a configuration is built.
    armed: AtomicBool,
    /// Set when an allocation failed while armed.
    failed: AtomicBool,
    /// Set when the reserve was given out to an infallible request.
    used: AtomicBool,
    /// The reserve block, or null while it is released (or not made).
    reserve: AtomicPtr<u8>,
    reserve_len: AtomicUsize,
    bytes: AtomicU64,
    /// Bytes of live allocations (the reserve not counted), for the
    /// monitoring record.
    in_use: AtomicUsize,
    /// Tells the engine's build that memory ran out (or is back).
    notify: fn(bool),
    /// Whether the allocation under way is a fallible one.
    trying: fn() -> bool,
}

const RESERVE_ALIGN: usize = 16;
/// Bounds of the reserve: a sixteenth of the heap, within these.
const RESERVE_MIN: usize = 64 << 10;
const RESERVE_MAX: usize = 256 << 10;

impl Heap {
    const fn new(notify: fn(bool), trying: fn() -> bool) -> Heap {
        Heap {
            talc: TalcLock::new(Manual),
            armed: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            used: AtomicBool::new(false),
            reserve: AtomicPtr::new(null_mut()),
            reserve_len: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            in_use: AtomicUsize::new(0),
            notify,
            trying,
        }
    }

    fn reserve_layout(&self) -> Layout {
        // Cannot fail: the size is at most RESERVE_MAX.
        Layout::from_size_align(self.reserve_len.load(Ordering::Relaxed), RESERVE_ALIGN)
            .unwrap_or(Layout::new::<u8>())
    }

    /// Takes the reserve block from the heap if it is not held; true if
    /// it is held afterwards.
    fn take_reserve(&self) -> bool {
        if !self.reserve.load(Ordering::Relaxed).is_null() {
            return true;
        }
        if self.reserve_len.load(Ordering::Relaxed) == 0 {
            return false;
        }
        // SAFETY: a non-zero size.
        let p = unsafe { self.talc.alloc(self.reserve_layout()) };
        self.reserve.store(p, Ordering::Relaxed);
        !p.is_null()
    }

    /// True when a fallible request must fail without asking talc: the
    /// reserve is out and what is left belongs to infallible callers.
    #[inline]
    fn refuse(&self) -> bool {
        self.reserve.load(Ordering::Relaxed).is_null()
            && self.reserve_len.load(Ordering::Relaxed) != 0
            && (self.trying)()
    }

    /// The slow path of a failed allocation of `size` bytes. During a
    /// build, a request the reserve could have served means the heap ran
    /// out: note it and tell the build. (A larger request says nothing
    /// about the rest of the heap: a table sized from the config, asked for
    /// fallibly.) Then, for an infallible request, give the reserve back to
    /// talc and let the caller retry once.
    #[cold]
    fn on_failure(&self, size: usize) -> bool {
        let fits = size <= self.reserve_len.load(Ordering::Relaxed);
        if self.armed.load(Ordering::Relaxed) && fits {
            self.failed.store(true, Ordering::Relaxed);
            (self.notify)(true);
        }
        if (self.trying)() {
            return false;
        }
        let r = self.reserve.swap(null_mut(), Ordering::Relaxed);
        if r.is_null() {
            return false;
        }
        self.used.store(true, Ordering::Relaxed);
        // SAFETY: `r` came from `take_reserve` with this layout.
        unsafe { self.talc.dealloc(r, self.reserve_layout()) };
        true
    }

    /// Takes the reserve back after it was used, if memory allows; true
    /// once per use, when it is back.
    pub fn recover(&self) -> bool {
        if !self.reserve.load(Ordering::Relaxed).is_null()
            || self.reserve_len.load(Ordering::Relaxed) == 0
        {
            return false;
        }
        self.take_reserve() && self.used.swap(false, Ordering::Relaxed)
    }

    /// Runs `build` (a configuration build) armed; returns its result, or
    /// `Err` naming out of memory when the heap ran out during it (the
    /// result is dropped first, which frees what it held).
    pub fn guarded<T>(&self, build: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
        self.take_reserve();
        self.failed.store(false, Ordering::Relaxed);
        self.armed.store(true, Ordering::Relaxed);
        let r = build();
        self.armed.store(false, Ordering::Relaxed);
        (self.notify)(false);
        if !self.failed.load(Ordering::Relaxed) {
            return r;
        }
        let detail = match r {
            Ok(done) => {
                drop(done);
                None
            }
            Err(msg) => Some(msg),
        };
        self.take_reserve();
        self.used.store(false, Ordering::Relaxed);
        let heap_kib = self.bytes.load(Ordering::Relaxed) >> 10;
        Err(match detail {
            Some(msg) if msg.contains("out of memory") => msg,
            Some(msg) => alloc::format!(
                "out of memory building the configuration ({heap_kib} KiB heap); {msg}"
            ),
            None => {
                alloc::format!("out of memory building the configuration ({heap_kib} KiB heap)")
            }
        })
    }

    /// Gives `len` bytes at `start` to talc; false if talc refused them.
    ///
    /// # Safety
    /// The memory must be unused, mapped and writable for the rest of the run.
    unsafe fn claim(&self, start: *mut u8, len: usize) -> bool {
        // SAFETY: per the function contract.
        unsafe { self.talc.lock().claim(start, len) }.is_some()
    }

    /// Sizes and takes the reserve once the heap has its memory.
    fn make_reserve(&self, total: u64) {
        let want = ((total / 16) as usize).clamp(RESERVE_MIN, RESERVE_MAX);
        self.reserve_len.store(want, Ordering::Relaxed);
        if !self.take_reserve() {
            self.reserve_len.store(0, Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards to talc's `GlobalAlloc`; the failure path
// only frees the reserve block (a live talc allocation) before retrying.
unsafe impl GlobalAlloc for Heap {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.refuse() {
            return null_mut();
        }
        // SAFETY: the caller's contract is talc's.
        let mut p = unsafe { self.talc.alloc(layout) };
        if p.is_null() && self.on_failure(layout.size()) {
            // SAFETY: as above.
            p = unsafe { self.talc.alloc(layout) };
        }
        if !p.is_null() {
            self.in_use.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.in_use.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is talc's.
        unsafe { self.talc.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.refuse() {
            return null_mut();
        }
        // SAFETY: the caller's contract is talc's; a failed realloc leaves
        // the old block as it was, so it may be retried.
        let mut p = unsafe { self.talc.realloc(ptr, layout, new_size) };
        if p.is_null() && self.on_failure(new_size) {
            // SAFETY: as above.
            p = unsafe { self.talc.realloc(ptr, layout, new_size) };
        }
        if !p.is_null() {
            self.in_use.fetch_add(new_size, Ordering::Relaxed);
            self.in_use.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[cfg_attr(not(test), global_allocator)]
static ALLOCATOR: Heap = Heap::new(click::fallible::set_exhausted, click::fallible::trying);

/// Gives the regions to the allocator and takes the emergency reserve;
/// returns the bytes claimed.
///
/// # Safety
/// The regions must be unused RAM, identity-mapped, for the rest of the run.
pub unsafe fn init(regions: &[Region]) -> u64 {
    let mut total = 0;
    for r in regions {
        // SAFETY: per the function contract.
        if unsafe { ALLOCATOR.claim(r.start as *mut u8, r.len() as usize) } {
            total += r.len();
        }
    }
    ALLOCATOR.bytes.store(total, Ordering::Relaxed);
    ALLOCATOR.make_reserve(total);
    total
}

/// Bytes handed to the allocator at boot.
pub fn heap_bytes() -> u64 {
    ALLOCATOR.bytes.load(Ordering::Relaxed)
}

/// Bytes of live allocations.
pub fn used_bytes() -> u64 {
    ALLOCATOR.in_use.load(Ordering::Relaxed) as u64
}

/// Bytes allocations can have: the heap less the emergency reserve.
pub fn usable_bytes() -> u64 {
    heap_bytes().saturating_sub(reserve_bytes() as u64)
}

/// Bytes held back for configuration builds that run out of memory.
pub fn reserve_bytes() -> usize {
    ALLOCATOR.reserve_len.load(Ordering::Relaxed)
}

/// Takes the emergency reserve back if an infallible allocation used it
/// and memory allows; true once per such use, when it is back (for a log
/// line). Cheap when the reserve is held: the main loop calls it often.
pub fn recover() -> bool {
    ALLOCATOR.recover()
}

/// Runs a configuration build with the emergency reserve armed (see the
/// module comment): out of memory it returns an error instead of the
/// guest dying.
pub fn guarded<T>(build: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    ALLOCATOR.guarded(build)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A heap of its own over a leaked buffer (the tests' global allocator
    /// is the host's).
    fn heap(bytes: usize) -> &'static Heap {
        // Tests run in parallel: the engine's global flags are left alone.
        let h = Heap::new(|_| {}, || TRYING.with(|t| t.get()));
        let h: &'static Heap = alloc::boxed::Box::leak(alloc::boxed::Box::new(h));
        let mem: &'static mut [u8] = alloc::vec![0u8; bytes].leak();
        // SAFETY: leaked, so unused by anything else for the rest of the run.
        assert!(unsafe { h.claim(mem.as_mut_ptr(), mem.len()) });
        h.bytes.store(bytes as u64, Ordering::Relaxed);
        h.make_reserve(bytes as u64);
        h
    }

    std::thread_local! {
        static TRYING: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    }

    /// Allocates `n`-byte blocks until one fails; returns them.
    fn fill(h: &Heap, n: usize) -> Vec<*mut u8> {
        let l = Layout::from_size_align(n, 8).unwrap();
        let mut got = Vec::new();
        loop {
            // SAFETY: a non-zero size.
            let p = unsafe { h.alloc(l) };
            if p.is_null() {
                return got;
            }
            got.push(p);
        }
    }

    fn free(h: &Heap, blocks: Vec<*mut u8>, n: usize) {
        let l = Layout::from_size_align(n, 8).unwrap();
        for p in blocks {
            // SAFETY: allocated by `fill` with this layout.
            unsafe { h.dealloc(p, l) };
        }
    }

    #[test]
    fn live_bytes_are_counted_through_alloc_realloc_and_dealloc() {
        let h = heap(1 << 20);
        let at = |n| Layout::from_size_align(n, 8).unwrap();
        assert_eq!(
            h.in_use.load(Ordering::Relaxed),
            0,
            "the reserve is not counted"
        );
        // SAFETY: non-zero sizes; each block is freed with its layout.
        unsafe {
            let a = h.alloc(at(100));
            let b = h.alloc(at(4000));
            assert_eq!(h.in_use.load(Ordering::Relaxed), 4100);
            let a = h.realloc(a, at(100), 300);
            assert_eq!(h.in_use.load(Ordering::Relaxed), 4300);
            h.dealloc(b, at(4000));
            h.dealloc(a, at(300));
        }
        assert_eq!(h.in_use.load(Ordering::Relaxed), 0);
        // A failed request counts nothing.
        TRYING.with(|t| t.set(true));
        let blocks = fill(h, 4096);
        TRYING.with(|t| t.set(false));
        assert_eq!(h.in_use.load(Ordering::Relaxed), blocks.len() * 4096);
        free(h, blocks, 4096);
        assert_eq!(h.in_use.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn fallible_requests_fill_the_heap_but_never_the_reserve() {
        let h = heap(1 << 20);
        assert_eq!(h.reserve_len.load(Ordering::Relaxed), RESERVE_MIN);
        TRYING.with(|t| t.set(true));
        let tables = fill(h, 4096);
        TRYING.with(|t| t.set(false));
        assert!(!h.reserve.load(Ordering::Relaxed).is_null(), "kept");
        // An infallible request then gets the reserve...
        let store = fill(h, 4096);
        assert!(!store.is_empty());
        assert!(h.reserve.load(Ordering::Relaxed).is_null());
        // ...and while it is out, fallible requests are refused even when
        // talc has the memory.
        free(h, store, 4096);
        TRYING.with(|t| t.set(true));
        assert!(fill(h, 64).is_empty());
        TRYING.with(|t| t.set(false));
        assert!(!h.failed.load(Ordering::Relaxed), "not a build");
        // Taken back once memory allows, and reported once.
        assert!(h.recover());
        assert!(!h.reserve.load(Ordering::Relaxed).is_null());
        assert!(!h.recover());
        free(h, tables, 4096);
    }

    #[test]
    fn a_build_that_runs_out_gets_the_reserve_and_an_error() {
        let h = heap(1 << 20);
        let mut held = 0;
        let r: Result<(), String> = h.guarded(|| {
            let blocks = fill(h, 4096);
            held = blocks.len() * 4096;
            assert!(h.failed.load(Ordering::Relaxed));
            assert!(h.reserve.load(Ordering::Relaxed).is_null(), "released");
            free(h, blocks, 4096);
            Ok(())
        });
        let e = r.unwrap_err();
        assert!(
            e.starts_with("out of memory building the configuration (1024 KiB heap)"),
            "{e}"
        );
        // The reserve was used (more than the unarmed heap gave), then
        // taken back once the build's memory was freed.
        assert!(held > (1 << 20) - RESERVE_MIN - 64 * 1024, "{held}");
        assert!(!h.reserve.load(Ordering::Relaxed).is_null());
        // A fallible request larger than the reserve fails alone: the
        // build's own error stands and the reserve stays.
        let r: Result<(), String> = h.guarded(|| {
            let big = Layout::from_size_align(4 << 20, 8).unwrap();
            TRYING.with(|t| t.set(true));
            // SAFETY: a non-zero size.
            assert!(unsafe { h.alloc(big) }.is_null());
            TRYING.with(|t| t.set(false));
            assert!(!h.failed.load(Ordering::Relaxed));
            Err("q: out of memory for CAPACITY 9".into())
        });
        assert_eq!(r.unwrap_err(), "q: out of memory for CAPACITY 9");
        assert!(!h.reserve.load(Ordering::Relaxed).is_null());
        // A build that fits is untouched.
        assert_eq!(h.guarded(|| Ok::<_, String>(5)), Ok(5));
        // A build's own out-of-memory error is kept as it is.
        let r: Result<(), String> = h.guarded(|| {
            let blocks = fill(h, 4096);
            free(h, blocks, 4096);
            Err("q: out of memory for CAPACITY 9".into())
        });
        assert_eq!(r.unwrap_err(), "q: out of memory for CAPACITY 9");
    }
}

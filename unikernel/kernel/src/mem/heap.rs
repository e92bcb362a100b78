//! The global allocator: talc over the usable RAM regions.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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

#[cfg_attr(not(test), global_allocator)]
static ALLOCATOR: TalcLock<SpinLock, Manual> = TalcLock::new(Manual);

static HEAP_BYTES: AtomicU64 = AtomicU64::new(0);

/// Gives the regions to the allocator; returns the bytes claimed.
///
/// # Safety
/// The regions must be unused RAM, identity-mapped, for the rest of the run.
pub unsafe fn init(regions: &[Region]) -> u64 {
    let mut talc = ALLOCATOR.lock();
    let mut total = 0;
    for r in regions {
        // SAFETY: per the function contract.
        if unsafe { talc.claim(r.start as *mut u8, r.len() as usize) }.is_some() {
            total += r.len();
        }
    }
    HEAP_BYTES.store(total, Ordering::Relaxed);
    total
}

/// Bytes handed to the allocator at boot.
pub fn heap_bytes() -> u64 {
    HEAP_BYTES.load(Ordering::Relaxed)
}

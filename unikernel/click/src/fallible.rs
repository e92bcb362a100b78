//! Fallible growth for what grows with traffic (flow tables, host tables,
//! packet queues, packets themselves).
//!
//! In the guest an allocation failure is fatal (no_std's alloc error
//! handler panics), so nothing the traffic controls may allocate
//! infallibly: it grows through these helpers and, when they say no, drops
//! the packet and counts it in a handler.
//!
//! `BTreeMap` has no fallible insert, so before inserting a new key an
//! element asks [`room_for_btree_insert`], which allocates and frees a
//! block as large as the nodes one insert can create. With one thread and
//! nothing allocating in between, the insert then finds that memory free.
//!
//! A build can also be told that memory ran out elsewhere
//! ([`set_exhausted`]: the guest's allocator says so when it had to dip
//! into its emergency reserve); it then stops configuring elements and
//! fails with an "out of memory" error instead of allocating on.
//!
//! While a helper asks the allocator, [`trying`] is true, so an allocator
//! that keeps an emergency reserve for infallible allocations (the
//! guest's does) knows a failure here is handled and leaves the reserve
//! alone: tables fill the heap, not the reserve.
//!
//! Unit tests make every helper fail with [`fail_in_tests`].

use alloc::collections::VecDeque;
use alloc::vec::Vec;

#[cfg(test)]
std::thread_local! {
    static FAIL: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    static EXHAUSTED: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

// Tests run in parallel threads, so there the flag is per thread.
#[cfg(not(test))]
static EXHAUSTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Tells a configuration build in progress that the heap ran out (or that
/// it has memory again).
pub fn set_exhausted(on: bool) {
    #[cfg(test)]
    EXHAUSTED.with(|f| f.set(on));
    #[cfg(not(test))]
    EXHAUSTED.store(on, core::sync::atomic::Ordering::Relaxed);
}

/// True after [`set_exhausted`]`(true)`: builds stop configuring elements.
pub fn exhausted() -> bool {
    #[cfg(test)]
    {
        EXHAUSTED.with(|f| f.get())
    }
    #[cfg(not(test))]
    {
        EXHAUSTED.load(core::sync::atomic::Ordering::Relaxed)
    }
}

/// Makes every helper of this module report failure on the calling thread
/// (unit tests only): the allocation-failure hook.
#[cfg(test)]
pub fn fail_in_tests(on: bool) {
    FAIL.with(|f| f.set(on));
}

#[cfg(not(test))]
static TRYING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

#[cfg(test)]
std::thread_local! {
    static TRYING: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

fn set_trying(on: bool) -> bool {
    #[cfg(test)]
    {
        TRYING.with(|t| t.replace(on))
    }
    #[cfg(not(test))]
    {
        TRYING.swap(on, core::sync::atomic::Ordering::Relaxed)
    }
}

/// True while a helper of this module is asking the allocator for memory
/// (a failure will be handled, not turned into a panic).
pub fn trying() -> bool {
    #[cfg(test)]
    {
        TRYING.with(|t| t.get())
    }
    #[cfg(not(test))]
    {
        TRYING.load(core::sync::atomic::Ordering::Relaxed)
    }
}

/// Runs an allocation attempt with [`trying`] set.
#[inline]
fn attempt<R>(f: impl FnOnce() -> R) -> R {
    let outer = set_trying(true);
    let r = f();
    set_trying(outer);
    r
}

#[inline]
fn injected() -> bool {
    #[cfg(test)]
    {
        FAIL.with(|f| f.get())
    }
    #[cfg(not(test))]
    {
        false
    }
}

/// Makes room for `extra` more items in `v`; false when memory is short.
/// Where doubling the capacity does not fit, it grows by an eighth, so a
/// big table can use the heap it has rather than fail at half of it.
#[inline]
pub fn reserve<T>(v: &mut Vec<T>, extra: usize) -> bool {
    if v.capacity() - v.len() >= extra {
        return true;
    }
    !injected()
        && attempt(|| {
            v.try_reserve(extra).is_ok() || v.try_reserve_exact(extra.max(v.len() / 8)).is_ok()
        })
}

/// Makes room for `extra` more items in `q`, as [`reserve`] does.
#[inline]
pub fn reserve_deque<T>(q: &mut VecDeque<T>, extra: usize) -> bool {
    if q.capacity() - q.len() >= extra {
        return true;
    }
    !injected()
        && attempt(|| {
            q.try_reserve(extra).is_ok() || q.try_reserve_exact(extra.max(q.len() / 8)).is_ok()
        })
}

/// `Vec::try_reserve_exact` of `n` items filled with `value`.
pub fn filled_vec<T: Clone>(n: usize, value: T) -> Option<Vec<T>> {
    if injected() {
        return None;
    }
    let mut v = Vec::new();
    attempt(|| v.try_reserve_exact(n)).ok()?;
    v.resize(n, value);
    Some(v)
}

/// `Box::new(value)`, or `value` back when memory is short (stable Rust
/// has no `Box::try_new`).
pub fn try_box<T>(value: T) -> Result<alloc::boxed::Box<T>, T> {
    let mut v = Vec::new();
    if injected() || attempt(|| v.try_reserve_exact(1)).is_err() {
        return Err(value);
    }
    v.push(value);
    let raw = alloc::boxed::Box::into_raw(v.into_boxed_slice()) as *mut T;
    // SAFETY: a boxed one-element slice is one `T` allocated with `T`'s
    // layout (`Layout::array::<T>(1)` has the size and alignment of `T`),
    // so the pointer may be owned by a `Box<T>`.
    Ok(unsafe { alloc::boxed::Box::from_raw(raw) })
}

/// True when a `BTreeMap<K, V>` insert of a new key can get its memory:
/// a leaf split at every level of a tall tree and a new root.
pub fn room_for_btree_insert<K, V>() -> bool {
    // A node holds up to 11 keys and values, plus 12 child pointers for an
    // internal node; six levels cover far more entries than any table here.
    const LEVELS: usize = 6;
    let node = 11 * (core::mem::size_of::<K>() + core::mem::size_of::<V>()) + 12 * 8 + 32;
    probe(node * LEVELS)
}

/// True when `bytes` bytes can be allocated right now.
pub fn probe(bytes: usize) -> bool {
    if injected() {
        return false;
    }
    let mut v: Vec<u8> = Vec::new();
    attempt(|| v.try_reserve_exact(bytes).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_failure_says_no_but_spare_capacity_still_serves() {
        let mut v: Vec<u8> = Vec::with_capacity(4);
        fail_in_tests(true);
        assert!(reserve(&mut v, 4), "no allocation needed");
        assert!(!reserve(&mut v, 5));
        assert!(!probe(1));
        assert!(filled_vec(3, 0u8).is_none());
        assert_eq!(try_box(5u32), Err(5));
        fail_in_tests(false);
        assert_eq!(*try_box(5u32).unwrap(), 5);
        assert!(reserve(&mut v, 5));
        assert!(room_for_btree_insert::<u32, u64>());
        assert_eq!(filled_vec(3, 7u8).unwrap(), [7, 7, 7]);
    }

    #[test]
    fn absurd_requests_fail_instead_of_aborting() {
        let mut v: Vec<u64> = Vec::new();
        assert!(!reserve(&mut v, usize::MAX / 4));
        assert!(!probe(usize::MAX / 2));
    }

    #[test]
    fn trying_is_set_only_during_an_attempt() {
        assert!(!trying());
        assert!(attempt(trying));
        assert!(!trying());
    }
}

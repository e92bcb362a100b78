//! The shared info page (`struct shared_info`, xen.h): vCPU 0's event
//! flags and time info, and the 2-level event-channel bitmaps. We ask Xen
//! to place it over one of our pages with `XENMEM_add_to_physmap`.

use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, Ordering};

use super::hypercall::{self, MEMORY_OP};
use super::page::Page;
use super::DOMID_SELF;
use crate::time::pvclock::PvclockInfo;

const XENMEM_ADD_TO_PHYSMAP: u64 = 7;
/// `XENMAPSPACE_shared_info`.
pub const MAPSPACE_SHARED_INFO: u32 = 0;
/// `XENMAPSPACE_grant_table`.
pub const MAPSPACE_GRANT_TABLE: u32 = 1;

// Offsets in `struct shared_info` (x86_64): 32 `vcpu_info`s of 64 bytes,
// then the pending and mask bitmaps (64 words each).
const VCPU0_UPCALL_PENDING: usize = 0;
const VCPU0_PENDING_SEL: usize = 8;
const VCPU0_TIME: usize = 32;
const EVTCHN_PENDING: usize = 2048;
const EVTCHN_MASK: usize = 2048 + 512;
/// Ports the 2-level ABI has on x86_64.
pub const NR_PORTS: u32 = 64 * 64;

static SHARED: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());

/// `struct xen_add_to_physmap`.
#[repr(C)]
struct AddToPhysmap {
    domid: u16,
    size: u16,
    space: u32,
    idx: u64,
    gpfn: u64,
}

/// Maps entry `idx` of `space` at guest frame `gpfn`.
pub fn add_to_physmap(space: u32, idx: u64, gpfn: u64) -> Result<(), i64> {
    let mut a = AddToPhysmap {
        domid: DOMID_SELF,
        size: 0,
        space,
        idx,
        gpfn,
    };
    // SAFETY: `a` is a live `xen_add_to_physmap`.
    let rc = unsafe { hypercall::op(MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, &mut a) };
    if rc < 0 {
        Err(rc)
    } else {
        Ok(())
    }
}

/// Maps the shared info page (once).
pub fn init() -> Result<(), &'static str> {
    let page = Page::new().ok_or("no memory for the shared info page")?;
    add_to_physmap(MAPSPACE_SHARED_INFO, 0, page.pfn())
        .map_err(|_| "XENMEM_add_to_physmap(shared_info) failed")?;
    SHARED.store(page.leak(), Ordering::Release);
    Ok(())
}

fn base() -> Option<*mut u8> {
    let p = SHARED.load(Ordering::Acquire);
    (!p.is_null()).then_some(p)
}

/// vCPU 0's `vcpu_time_info`, once mapped.
pub fn time_info() -> Option<*const PvclockInfo> {
    // SAFETY: offset inside the mapped page.
    base().map(|b| unsafe { b.add(VCPU0_TIME) } as *const PvclockInfo)
}

fn word(off: usize, port: u32) -> Option<(&'static AtomicU64, u64)> {
    if port >= NR_PORTS {
        return None;
    }
    let b = base()?;
    // SAFETY: the bitmaps lie inside the mapped page; Xen updates them
    // with locked operations, so atomics are the right access.
    let w = unsafe { &*(b.add(off + 8 * (port as usize / 64)) as *const AtomicU64) };
    Some((w, 1u64 << (port % 64)))
}

/// Whether `port` is pending.
pub fn is_pending(port: u32) -> bool {
    word(EVTCHN_PENDING, port).is_some_and(|(w, bit)| w.load(Ordering::Acquire) & bit != 0)
}

/// Clears `port`'s pending bit; returns whether it was set.
pub fn clear_pending(port: u32) -> bool {
    word(EVTCHN_PENDING, port)
        .is_some_and(|(w, bit)| w.fetch_and(!bit, Ordering::AcqRel) & bit != 0)
}

/// Sets `port`'s mask bit (no upcalls for it).
pub fn mask(port: u32) {
    if let Some((w, bit)) = word(EVTCHN_MASK, port) {
        w.fetch_or(bit, Ordering::AcqRel);
    }
}

/// Clears vCPU 0's upcall flags, so the next event raises a new upcall.
/// Call before checking the rings an upcall would be about.
pub fn ack_upcall() {
    if let Some(b) = base() {
        // SAFETY: fields of vcpu_info[0] inside the mapped page.
        unsafe {
            (*(b.add(VCPU0_UPCALL_PENDING) as *const AtomicU8)).store(0, Ordering::SeqCst);
            (*(b.add(VCPU0_PENDING_SEL) as *const AtomicU64)).store(0, Ordering::SeqCst);
        }
    }
}

//! The hypercall page: Xen fills a page of ours with one 32-byte stub per
//! hypercall (`vmcall`/`vmmcall` as the CPU needs) when we write its
//! address to the MSR named by CPUID leaf `base + 2`.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::x86_64::cpu::{cpuid, wrmsr};

/// `__HYPERVISOR_memory_op`.
pub const MEMORY_OP: usize = 12;
/// `__HYPERVISOR_xen_version`.
pub const XEN_VERSION: usize = 17;
/// `__HYPERVISOR_grant_table_op`.
pub const GRANT_TABLE_OP: usize = 20;
/// `__HYPERVISOR_sched_op`.
pub const SCHED_OP: usize = 29;
/// `__HYPERVISOR_event_channel_op`.
pub const EVENT_CHANNEL_OP: usize = 32;
/// `__HYPERVISOR_hvm_op`.
pub const HVM_OP: usize = 34;

const STUB_SIZE: usize = 32;

/// The page Xen writes the stubs into. The boot page tables map all RAM
/// writable and executable (no NX), so an ordinary static does.
#[repr(C, align(4096))]
struct Page([u8; 4096]);

static mut PAGE: Page = Page([0; 4096]);

static READY: AtomicBool = AtomicBool::new(false);

/// Asks Xen (whose CPUID leaves start at `base`) to fill the hypercall page.
pub fn init(base: u32) -> Result<(), &'static str> {
    let leaf = cpuid(base + 2, 0);
    if leaf.eax == 0 {
        return Err("Xen offers no hypercall pages");
    }
    let page = (&raw mut PAGE) as u64;
    // SAFETY: the MSR is the one Xen named; the page is ours, identity-mapped
    // and never used for anything else.
    unsafe { wrmsr(leaf.ebx, page) };
    READY.store(true, Ordering::Release);
    Ok(())
}

/// Whether [`init`] succeeded.
pub fn ready() -> bool {
    READY.load(Ordering::Acquire)
}

/// Issues hypercall `op` with up to five arguments; returns Xen's result
/// (negative errno on failure).
///
/// # Safety
/// The arguments must be valid for `op`: pointers must reference live,
/// identity-mapped memory of the layout Xen expects.
pub unsafe fn call(op: usize, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    if !ready() {
        return -38; // ENOSYS
    }
    let stub = (&raw const PAGE) as usize + op * STUB_SIZE;
    let ret: i64;
    // Debug builds of Xen scribble over the argument registers of HVM
    // hypercalls, so they are all declared clobbered.
    unsafe {
        asm!(
            "call {stub}",
            stub = in(reg) stub,
            inlateout("rdi") a1 => _,
            inlateout("rsi") a2 => _,
            inlateout("rdx") a3 => _,
            inlateout("r10") a4 => _,
            inlateout("r8") a5 => _,
            lateout("rax") ret,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}

/// Hypercall with a command and one argument pointer (most of Xen's ops).
///
/// # Safety
/// As for [`call`]: `arg` must point to the structure `op`/`cmd` expects.
pub unsafe fn op<T>(op: usize, cmd: u64, arg: *mut T) -> i64 {
    unsafe { call(op, cmd, arg as u64, 0, 0, 0) }
}

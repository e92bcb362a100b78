//! PVH boot: the 32-bit entry (entry.S), and reading `hvm_start_info`.

#[cfg(not(test))]
core::arch::global_asm!(
    include_str!("entry.S"),
    boot_tsc = sym crate::time::BOOT_TSC,
    kmain = sym crate::kmain,
);

pub mod start_info;

const STACK_CANARY: u64 = 0x6d62_2d73_7461_636b; // "mb-stack"

fn stack_bottom() -> *mut u64 {
    unsafe extern "C" {
        static mut boot_stack: u64;
    }
    &raw mut boot_stack
}

/// Marks the lowest word of the boot stack; [`stack_intact`] checks it.
/// There is no guard page (the kernel maps 2 MiB pages), so this is how an
/// overflow into .bss gets noticed.
pub fn arm_stack_canary() {
    // SAFETY: the lowest stack word is far below anything in use this early.
    unsafe { core::ptr::write_volatile(stack_bottom(), STACK_CANARY) }
}

/// Whether the stack never grew down to its last word.
pub fn stack_intact() -> bool {
    // SAFETY: reading a word of our own stack region.
    unsafe { core::ptr::read_volatile(stack_bottom()) == STACK_CANARY }
}

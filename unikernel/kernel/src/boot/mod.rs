//! PVH boot: the 32-bit entry (entry.S), and reading `hvm_start_info`.

#[cfg(not(test))]
core::arch::global_asm!(
    include_str!("entry.S"),
    boot_tsc = sym crate::time::BOOT_TSC,
    kmain = sym crate::kmain,
);

pub mod start_info;

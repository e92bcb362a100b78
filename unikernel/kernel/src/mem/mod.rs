//! Physical memory: the loader's memory map and the kernel heap. Memory is
//! identity-mapped (virtual = physical): RAM in the first GiB, MMIO in the
//! last GiB below 4 GiB, so device DMA uses
//! heap addresses as they are.

#[cfg(test)]
pub mod counting;
pub mod heap;
pub mod memmap;

/// End of the RAM the boot page tables map (the first GiB; the top GiB
/// below 4 GiB is mapped too, for MMIO).
pub const MAPPED_LIMIT: u64 = 1 << 30;

/// End of the kernel image and its .bss, from the linker script.
pub fn kernel_end() -> u64 {
    unsafe extern "C" {
        static __kernel_end: u8;
    }
    (&raw const __kernel_end) as u64
}

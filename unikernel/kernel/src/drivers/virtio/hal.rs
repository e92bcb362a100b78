//! `virtio_drivers::Hal` for an identity-mapped kernel: DMA memory comes
//! from the heap and physical = virtual.

use core::alloc::Layout;
use core::ptr::NonNull;

use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};

/// The HAL handed to `virtio-drivers`.
pub struct KernelHal;

fn layout(pages: usize) -> Layout {
    // A page-multiple size with page alignment is always a valid layout
    // for the few pages a virtqueue needs.
    Layout::from_size_align(pages.max(1) * PAGE_SIZE, PAGE_SIZE)
        .unwrap_or(Layout::new::<[u8; PAGE_SIZE]>())
}

// SAFETY: allocations are page-aligned, zeroed, unaliased heap memory, and
// addresses are identity-mapped so the device sees the same bytes.
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc::alloc::alloc_zeroed(layout(pages)) };
        let Some(ptr) = NonNull::new(ptr) else {
            alloc::alloc::handle_alloc_error(layout(pages));
        };
        (ptr.as_ptr() as PhysAddr, ptr)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        // SAFETY: `vaddr` came from `dma_alloc` with the same page count.
        unsafe { alloc::alloc::dealloc(vaddr.as_ptr(), layout(pages)) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.as_ptr() as *mut u8 as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

//! The Xen console ring (`struct xencons_interface`, io/console.h): what
//! `xl console` shows. Output only; the kernel log is mirrored here once
//! the ring is found.

use core::sync::atomic::{fence, AtomicPtr, AtomicU32, Ordering};

use super::{evtchn, hvm};

const OUT: usize = 1024;
const OUT_SIZE: u32 = 2048;
const OUT_CONS: usize = 3072 + 8;
const OUT_PROD: usize = 3072 + 12;

static RING: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static PORT: AtomicU32 = AtomicU32::new(0);

/// Finds the console ring through the HVM params.
pub fn init() -> Result<(), &'static str> {
    let pfn = hvm::get_param(hvm::PARAM_CONSOLE_PFN).map_err(|_| "no HVM_PARAM_CONSOLE_PFN")?;
    let port =
        hvm::get_param(hvm::PARAM_CONSOLE_EVTCHN).map_err(|_| "no HVM_PARAM_CONSOLE_EVTCHN")?;
    if pfn == 0 || pfn << 12 >= 1 << 32 {
        return Err("console ring outside the mapped memory");
    }
    PORT.store(port as u32, Ordering::Relaxed);
    RING.store((pfn << 12) as *mut u8, Ordering::Release);
    Ok(())
}

/// Whether the ring is in use.
pub fn ready() -> bool {
    !RING.load(Ordering::Acquire).is_null()
}

fn index(ring: *mut u8, off: usize) -> &'static AtomicU32 {
    // SAFETY: offsets of the two output indices in the console page.
    unsafe { &*(ring.add(off) as *const AtomicU32) }
}

/// Writes `bytes`, waiting (bounded) for xenconsoled when the ring is full.
pub fn write(bytes: &[u8]) {
    let ring = RING.load(Ordering::Acquire);
    if ring.is_null() {
        return;
    }
    let (cons_i, prod_i) = (index(ring, OUT_CONS), index(ring, OUT_PROD));
    let mut prod = prod_i.load(Ordering::Relaxed);
    let mut spins = 0u32;
    for &b in bytes {
        while prod.wrapping_sub(cons_i.load(Ordering::Acquire)) >= OUT_SIZE {
            // A full ring with no reader must not hang the kernel.
            if spins > 1_000_000 {
                return;
            }
            spins += 1;
            core::hint::spin_loop();
        }
        // SAFETY: inside the 2 KiB output ring.
        unsafe { *ring.add(OUT + (prod & (OUT_SIZE - 1)) as usize) = b };
        prod = prod.wrapping_add(1);
        if b == b'\n' || prod.wrapping_sub(cons_i.load(Ordering::Relaxed)) >= OUT_SIZE {
            fence(Ordering::Release);
            prod_i.store(prod, Ordering::Release);
            evtchn::send(PORT.load(Ordering::Relaxed));
        }
    }
    fence(Ordering::Release);
    prod_i.store(prod, Ordering::Release);
    evtchn::send(PORT.load(Ordering::Relaxed));
}

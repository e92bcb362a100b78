//! `struct hvm_start_info` (Xen's arch-x86/hvm/start_info.h), which the
//! PVH loader leaves in memory for us.

use crate::mem::memmap::MemmapEntry;

const MAGIC: u32 = 0x336e_c578;

/// The fixed part of the start info (version 1 layout).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StartInfo {
    /// `XEN_HVM_START_MAGIC_VALUE`.
    pub magic: u32,
    /// Layout version (1 adds the memory map).
    pub version: u32,
    /// SIF_* flags.
    pub flags: u32,
    /// Number of modules.
    pub nr_modules: u32,
    /// Physical address of the module list.
    pub modlist_paddr: u64,
    /// Physical address of the NUL-terminated command line.
    pub cmdline_paddr: u64,
    /// Physical address of the ACPI RSDP.
    pub rsdp_paddr: u64,
    /// Physical address of the memory map (version >= 1).
    pub memmap_paddr: u64,
    /// Entries in the memory map.
    pub memmap_entries: u32,
    /// Reserved.
    pub reserved: u32,
}

/// What the kernel takes from the start info.
pub struct BootInfo {
    /// The raw start info.
    pub raw: StartInfo,
    /// The memory map (empty if the loader gave none).
    pub memmap: &'static [MemmapEntry],
    /// The kernel command line (empty if none or not UTF-8).
    pub cmdline: &'static str,
}

/// Reads the start info at physical address `paddr`.
///
/// # Safety
/// `paddr` must be the value the PVH loader passed in ebx, with memory
/// identity-mapped, and the structures must stay untouched afterwards
/// (the heap never covers memory below the kernel, where loaders put them).
pub unsafe fn read(paddr: u32) -> Result<BootInfo, &'static str> {
    if paddr == 0 {
        return Err("no PVH start info (not booted through the PVH entry)");
    }
    // SAFETY: per the function contract.
    let raw = unsafe { core::ptr::read_unaligned(paddr as usize as *const StartInfo) };
    if raw.magic != MAGIC {
        return Err("PVH start info has a bad magic value");
    }
    let memmap = if raw.version >= 1 && raw.memmap_paddr != 0 {
        // SAFETY: the loader describes `memmap_entries` entries there.
        unsafe {
            core::slice::from_raw_parts(
                raw.memmap_paddr as usize as *const MemmapEntry,
                raw.memmap_entries as usize,
            )
        }
    } else {
        &[]
    };
    let cmdline = if raw.cmdline_paddr != 0 {
        // SAFETY: a NUL-terminated string from the loader.
        let c = unsafe {
            core::ffi::CStr::from_ptr(raw.cmdline_paddr as usize as *const core::ffi::c_char)
        };
        c.to_str().unwrap_or("")
    } else {
        ""
    };
    Ok(BootInfo {
        raw,
        memmap,
        cmdline,
    })
}

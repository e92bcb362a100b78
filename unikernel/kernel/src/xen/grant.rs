//! Grant tables, version 1: the table frames are mapped into our memory
//! with `XENMEM_add_to_physmap` (the HVM/PVH way), and each entry
//! (`struct grant_entry_v1`: flags, domid, frame) lets one domain access
//! one of our frames.

use alloc::vec::Vec;
use core::sync::atomic::{fence, AtomicU16, AtomicU32, Ordering};

use super::hypercall::{self, GRANT_TABLE_OP};
use super::page::Page;
use super::shared::{add_to_physmap, MAPSPACE_GRANT_TABLE};
use super::DOMID_SELF;

const GNTTABOP_QUERY_SIZE: u64 = 6;
const GTF_PERMIT_ACCESS: u16 = 1;
const GTF_READONLY: u16 = 1 << 2;
const GTF_READING: u16 = 1 << 3;
const GTF_WRITING: u16 = 1 << 4;
/// Entries per 4 KiB frame (8 bytes each).
const PER_FRAME: u32 = 512;
/// Entries the toolstack and xenstored own (`GNTTAB_NR_RESERVED_ENTRIES`).
const RESERVED: u32 = 8;

/// A grant reference.
pub type GrantRef = u32;

/// Our grant table.
pub struct GrantTable {
    frames: Vec<*mut u8>,
    max_frames: u32,
    next: u32,
    free: Vec<GrantRef>,
}

/// `struct gnttab_query_size`.
#[repr(C)]
struct QuerySize {
    dom: u16,
    pad: u16,
    nr_frames: u32,
    max_nr_frames: u32,
    status: i16,
}

impl GrantTable {
    /// Maps the first frame of the table and learns the maximum size.
    pub fn new() -> Result<GrantTable, &'static str> {
        let mut q = QuerySize {
            dom: DOMID_SELF,
            pad: 0,
            nr_frames: 0,
            max_nr_frames: 0,
            status: 0,
        };
        // SAFETY: `q` is a live `gnttab_query_size`; count 1.
        let rc = unsafe {
            hypercall::call(
                GRANT_TABLE_OP,
                GNTTABOP_QUERY_SIZE,
                &raw mut q as u64,
                1,
                0,
                0,
            )
        };
        if rc < 0 || q.status != 0 {
            return Err("GNTTABOP_query_size failed");
        }
        let mut t = GrantTable {
            frames: Vec::new(),
            max_frames: q.max_nr_frames.max(1),
            next: RESERVED,
            free: Vec::new(),
        };
        t.grow()?;
        Ok(t)
    }

    fn grow(&mut self) -> Result<(), &'static str> {
        let idx = self.frames.len() as u32;
        if idx >= self.max_frames {
            return Err("grant table is full");
        }
        let page = Page::new().ok_or("no memory for a grant-table frame")?;
        add_to_physmap(MAPSPACE_GRANT_TABLE, u64::from(idx), page.pfn())
            .map_err(|_| "XENMEM_add_to_physmap(grant_table) failed")?;
        self.frames.push(page.leak());
        Ok(())
    }

    fn entry(&self, r: GrantRef) -> (&AtomicU16, &AtomicU16, &AtomicU32) {
        let f = self.frames[(r / PER_FRAME) as usize];
        // SAFETY: `r` lies in a mapped frame (callers only pass refs
        // handed out by `grant`); entries are 8-byte aligned.
        unsafe {
            let e = f.add(8 * (r % PER_FRAME) as usize);
            (
                &*(e as *const AtomicU16),
                &*(e.add(2) as *const AtomicU16),
                &*(e.add(4) as *const AtomicU32),
            )
        }
    }

    /// Lets domain `domid` access frame `pfn` (read-only if `readonly`).
    pub fn grant(
        &mut self,
        domid: u16,
        pfn: u64,
        readonly: bool,
    ) -> Result<GrantRef, &'static str> {
        let r = match self.free.pop() {
            Some(r) => r,
            None => {
                if self.next >= self.frames.len() as u32 * PER_FRAME {
                    self.grow()?;
                }
                self.next += 1;
                self.next - 1
            }
        };
        let (flags, dom, frame) = self.entry(r);
        dom.store(domid, Ordering::Relaxed);
        frame.store(pfn as u32, Ordering::Relaxed);
        // The entry must be complete before it becomes valid.
        fence(Ordering::Release);
        flags.store(
            GTF_PERMIT_ACCESS | if readonly { GTF_READONLY } else { 0 },
            Ordering::Release,
        );
        Ok(r)
    }

    /// Withdraws grant `r` unless the peer is using it right now; returns
    /// whether it was withdrawn (then `r` is free for reuse).
    pub fn end(&mut self, r: GrantRef) -> bool {
        let (flags, _, _) = self.entry(r);
        let mut f = flags.load(Ordering::Acquire);
        loop {
            if f & (GTF_READING | GTF_WRITING) != 0 {
                return false;
            }
            match flags.compare_exchange(f, 0, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => f = now,
            }
        }
        self.free.push(r);
        true
    }
}

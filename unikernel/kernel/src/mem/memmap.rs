//! The PVH memory map (E820-style) and the choice of heap regions.

/// One `hvm_memmap_table_entry`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemmapEntry {
    /// Start address.
    pub addr: u64,
    /// Length in bytes (QEMU 7.2 appends a zero-length type-0 entry).
    pub size: u64,
    /// E820 type; 1 is usable RAM.
    pub kind: u32,
    /// Reserved.
    pub reserved: u32,
}

/// E820 type of usable RAM.
pub const RAM: u32 = 1;

/// A half-open physical address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Region {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Region {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

const PAGE: u64 = 4096;

/// Writes into `out` the page-aligned RAM regions inside `[floor, ceiling)`
/// that avoid every `reserved` range; returns how many were written (extra
/// regions beyond `out.len()` are dropped).
pub fn usable(
    entries: &[MemmapEntry],
    floor: u64,
    ceiling: u64,
    reserved: &[Region],
    out: &mut [Region],
) -> usize {
    let mut n = 0;
    for e in entries.iter().filter(|e| e.kind == RAM && e.size != 0) {
        let start = e.addr.max(floor).next_multiple_of(PAGE);
        let end = e.addr.saturating_add(e.size).min(ceiling) & !(PAGE - 1);
        if start >= end {
            continue;
        }
        n = carve(Region { start, end }, reserved, out, n);
    }
    n
}

/// Adds `r` minus the reserved ranges to `out[n..]`; returns the new count.
fn carve(r: Region, reserved: &[Region], out: &mut [Region], mut n: usize) -> usize {
    if r.is_empty() {
        return n;
    }
    for (i, res) in reserved.iter().enumerate() {
        if res.start < r.end && res.end > r.start {
            let below = Region {
                start: r.start,
                end: res.start & !(PAGE - 1),
            };
            let above = Region {
                start: res.end.next_multiple_of(PAGE),
                end: r.end,
            };
            if below.start < below.end {
                n = carve(below, &reserved[i + 1..], out, n);
            }
            if above.start < above.end {
                n = carve(above, &reserved[i + 1..], out, n);
            }
            return n;
        }
    }
    if n < out.len() {
        out[n] = r;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(addr: u64, size: u64, kind: u32) -> MemmapEntry {
        MemmapEntry {
            addr,
            size,
            kind,
            reserved: 0,
        }
    }

    #[test]
    fn qemu_microvm_map() {
        // What QEMU 7.2 passes for -m 64M: low RAM, reserved, RAM, then a
        // zero-size type-0 entry.
        let map = [
            e(0, 0x9fc00, RAM),
            e(0x9fc00, 0x400, 2),
            e(0x100000, 0x3f00000, RAM),
            e(0, 0, 0),
        ];
        let mut out = [Region::default(); 4];
        let n = usable(&map, 0x140000, 4 << 30, &[], &mut out);
        assert_eq!(
            &out[..n],
            &[Region {
                start: 0x140000,
                end: 0x4000000
            }]
        );
    }

    #[test]
    fn reserved_ranges_split_regions() {
        let map = [e(0x100000, 0x1000000, RAM)];
        let mut out = [Region::default(); 4];
        let reserved = [
            Region {
                start: 0x200100,
                end: 0x200200,
            },
            Region {
                start: 0x800000,
                end: 0x900000,
            },
        ];
        let n = usable(&map, 0x100000, 4 << 30, &reserved, &mut out);
        assert_eq!(
            &out[..n],
            &[
                Region {
                    start: 0x100000,
                    end: 0x200000
                },
                Region {
                    start: 0x201000,
                    end: 0x800000
                },
                Region {
                    start: 0x900000,
                    end: 0x1100000
                },
            ]
        );
    }

    #[test]
    fn clips_to_ceiling_and_ignores_non_ram() {
        let map = [
            e(0x100000, 0x2_0000_0000, RAM),
            e(0x1_0000_0000, 0x1000_0000, 2),
        ];
        let mut out = [Region::default(); 2];
        let n = usable(&map, 0x100000, 4 << 30, &[], &mut out);
        assert_eq!(
            &out[..n],
            &[Region {
                start: 0x100000,
                end: 4 << 30
            }]
        );
    }

    #[test]
    fn output_overflow_is_dropped() {
        let map = [
            e(0x100000, 0x1000, RAM),
            e(0x200000, 0x1000, RAM),
            e(0x300000, 0x1000, RAM),
        ];
        let mut out = [Region::default(); 2];
        assert_eq!(usable(&map, 0, u64::MAX, &[], &mut out), 2);
    }
}

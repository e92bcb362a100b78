//! Per-frame figures of a guest's packet path: the guest's own counters at
//! two instants (its `mb: perf` line, printed when the host types Ctrl-P on
//! its serial console) and the device accesses QEMU traced between them
//! (`memory_region_ops_read`/`_write`, see [`crate::accesses`]).
//!
//! Accesses count only the packet path's devices: the NICs' virtio
//! registers, the I/O APIC, the local APIC and anything else; the serial
//! port (the markers themselves) and the store's virtio-console (its
//! once-a-second counter publications) are left out. On microvm every
//! virtio-mmio device's region has the same name, so a region is told
//! apart by the device ID the guest reads from it while it boots.

use std::collections::HashSet;

/// The guest's counters at one instant (`mb: perf ...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Perf {
    /// TSC ticks awake since boot (instructions under `-icount shift=0`
    /// with a 1 GHz TSC).
    pub busy_tsc: u64,
    /// The part of `busy_tsc` in loop rounds that found no work (polls of
    /// empty rings, the spin and the arming before halts).
    pub idle_tsc: u64,
    /// Halts since boot.
    pub halts: u64,
    /// Interrupts taken other than serial input and the store channel's.
    pub irqs: u64,
    /// Frames received on all NICs.
    pub rx: u64,
    /// Frames sent on all NICs.
    pub tx: u64,
    /// Frames dropped in the guest.
    pub drops: u64,
}

/// What the guest prints before its counters.
pub const PERF_PREFIX: &str = "mb: perf ";

impl Perf {
    /// Parses a `mb: perf busy_tsc=.. idle_tsc=.. halts=.. irqs=.. rx=.. tx=.. drops=..` line.
    pub fn parse(line: &str) -> Option<Perf> {
        let rest = line.split(PERF_PREFIX).nth(1)?;
        let get = |name: &str| -> Option<u64> {
            rest.split_whitespace()
                .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
        };
        Some(Perf {
            busy_tsc: get("busy_tsc")?,
            idle_tsc: get("idle_tsc")?,
            halts: get("halts")?,
            irqs: get("irqs")?,
            rx: get("rx")?,
            tx: get("tx")?,
            drops: get("drops")?,
        })
    }

    /// The counters from `earlier` to `self`.
    pub fn since(&self, earlier: &Perf) -> Perf {
        Perf {
            busy_tsc: self.busy_tsc - earlier.busy_tsc,
            idle_tsc: self.idle_tsc - earlier.idle_tsc,
            halts: self.halts - earlier.halts,
            irqs: self.irqs - earlier.irqs,
            rx: self.rx - earlier.rx,
            tx: self.tx - earlier.tx,
            drops: self.drops - earlier.drops,
        }
    }
}

/// Packet-path device accesses in a window, by device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowAccesses {
    /// The NICs' virtio registers (MMIO or PCI).
    pub nic: u64,
    /// The I/O APIC.
    pub ioapic: u64,
    /// The local APIC (`apic-msi` under TCG).
    pub apic: u64,
    /// Anything else but the serial port and the store's console.
    pub other: u64,
    /// Interrupt messages the I/O APIC sent the local APIC (QEMU's own
    /// writes to `apic-msi`, traced as `cpu -1`: not guest accesses, but
    /// each an interrupt a device raised, taken or not).
    pub raised: u64,
}

impl WindowAccesses {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.nic + self.ioapic + self.apic + self.other
    }

    /// Whether a trace line is an access by a vCPU (not QEMU's devices
    /// talking among themselves).
    fn by_guest(line: &str) -> bool {
        !line.contains(" cpu -1 ")
    }

    /// Counts the accesses in `trace` between the end of the first serial
    /// line starting with [`PERF_PREFIX`] and the start of the second;
    /// `None` until the trace holds both.
    pub fn between_markers(trace: &str) -> Option<WindowAccesses> {
        let mut a = WindowAccesses::default();
        // virtio-mmio regions (by `mr` pointer) whose device is a console.
        let mut consoles: HashSet<&str> = HashSet::new();
        let mut line = Vec::new();
        let mut in_window = false;
        for l in trace.lines() {
            let Some(name) = l
                .rsplit_once("name '")
                .map(|(_, n)| n.trim_end_matches('\''))
            else {
                continue;
            };
            let write = l.starts_with("memory_region_ops_write");
            if name == "serial" {
                if write && field(l, "addr ") == Some(0x3f8) {
                    let byte = field(l, "value ").unwrap_or(0) as u8;
                    if byte != b'\n' {
                        line.push(byte);
                        if !in_window {
                            continue;
                        }
                        if line.starts_with(PERF_PREFIX.as_bytes()) {
                            // The second marker started: the window is over.
                            return Some(a);
                        }
                    } else {
                        if line.starts_with(PERF_PREFIX.as_bytes()) {
                            in_window = true;
                        }
                        line.clear();
                    }
                }
                continue;
            }
            if name == "virtio-mmio" {
                let mr = l.split(" mr ").nth(1).and_then(|r| r.split(' ').next());
                // The device ID register, at offset 8 of each 512-byte slot.
                if !write && field(l, "addr ").is_some_and(|x| x & 0x1ff == 8) {
                    if let (Some(mr), Some(3)) = (mr, field(l, "value ")) {
                        consoles.insert(mr);
                    }
                }
                if in_window && !mr.is_some_and(|m| consoles.contains(m)) {
                    a.nic += 1;
                }
                continue;
            }
            if !in_window {
                continue;
            }
            if !Self::by_guest(l) {
                if name == "apic-msi" {
                    a.raised += 1;
                }
                continue;
            }
            match name {
                n if n.starts_with("virtio-pci-") && n.ends_with("-virtio-serial") => {}
                n if n.starts_with("virtio-pci-") && n.ends_with("-virtio-net") => a.nic += 1,
                "ioapic" => a.ioapic += 1,
                "apic-msi" => a.apic += 1,
                _ => a.other += 1,
            }
        }
        None
    }
}

/// The hexadecimal number after `key` (`addr `, `value `) in a trace line.
fn field(line: &str, key: &str) -> Option<u64> {
    let v = line.split(key).nth(1)?.split_whitespace().next()?;
    u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(write: bool, mr: &str, addr: u64, value: u64, name: &str) -> String {
        let kind = if write { "write" } else { "read" };
        format!(
            "memory_region_ops_{kind} cpu 0 mr {mr} addr {addr:#x} value {value:#x} size 4 name '{name}'\n"
        )
    }

    fn text(s: &str) -> String {
        s.bytes()
            .map(|b| op(true, "0x9", 0x3f8, u64::from(b), "serial"))
            .collect()
    }

    #[test]
    fn parses_the_perf_line() {
        let p = Perf::parse("mb: perf busy_tsc=10 idle_tsc=2 halts=3 irqs=4 rx=5 tx=6 drops=7")
            .unwrap();
        assert_eq!(
            (p.busy_tsc, p.idle_tsc, p.halts, p.irqs, p.rx, p.tx, p.drops),
            (10, 2, 3, 4, 5, 6, 7)
        );
        let q = Perf { tx: 16, ..p };
        assert_eq!(q.since(&p).tx, 10);
        assert_eq!(Perf::parse("mb: perf busy_tsc=1"), None);
    }

    #[test]
    fn counts_nic_accesses_between_the_markers_only() {
        let mut t = String::new();
        // Boot: the guest reads each slot's device ID (1 net, 3 console).
        t += &op(false, "0xa", 0xfeb02e08, 1, "virtio-mmio");
        t += &op(false, "0xc", 0xfeb02c08, 3, "virtio-mmio");
        t += &op(true, "0xa", 0xfeb02e50, 0, "virtio-mmio");
        t += &text("mb: ready boot_us=1 nics=1\n");
        t += &text("mb: perf busy_tsc=1 idle_tsc=0 halts=0 irqs=0 rx=0 tx=0 drops=0\n");
        t += &op(true, "0xa", 0xfeb02e50, 1, "virtio-mmio");
        t += &op(true, "0xc", 0xfeb02c50, 1, "virtio-mmio");
        t += &op(true, "0xd", 0xfee000b0, 0, "apic-msi");
        t += &op(true, "0xe", 0xfec00000, 0, "ioapic");
        t += &op(false, "0xf", 0x3fd, 0x60, "serial");
        t += &op(
            true,
            "0x10",
            0xfebfc014,
            0,
            "virtio-pci-common-virtio-serial",
        );
        t += &op(true, "0x11", 0xfebfd000, 0, "virtio-pci-notify-virtio-net");
        t += &op(true, "0x12", 0x60, 0, "i8042-data");
        t += &op(true, "0xd", 0xfee00000, 0x6d, "apic-msi").replace("cpu 0", "cpu -1");
        assert_eq!(WindowAccesses::between_markers(&t), None, "no end marker");
        t += &text("mb: perf busy_tsc=9 idle_tsc=0 halts=0 irqs=0 rx=0 tx=0 drops=0\n");
        t += &op(true, "0xa", 0xfeb02e50, 1, "virtio-mmio");
        let a = WindowAccesses::between_markers(&t).unwrap();
        assert_eq!(
            a,
            WindowAccesses {
                nic: 2,
                ioapic: 1,
                apic: 1,
                other: 1,
                raised: 1,
            }
        );
        assert_eq!(a.total(), 5);
    }
}

//! Device accesses a guest makes while it boots, counted from QEMU's
//! `memory_region_ops_read`/`_write` trace (`-trace` with the log backend
//! Debian's QEMU has, `-D FILE`). Under TCG every port or MMIO access of
//! the guest goes through them; under KVM each would be a VM exit. The
//! count runs from the guest's first access (its serial probe, a write of
//! 0x5a to COM1's scratch register, after the firmware's fw_cfg and PCI
//! probes) to the last byte of its `mb: ready` line.

/// QEMU arguments that write the trace to `file`.
pub fn trace_args(file: &std::path::Path) -> Vec<String> {
    vec![
        "-trace".into(),
        "memory_region_ops_read".into(),
        "-trace".into(),
        "memory_region_ops_write".into(),
        "-D".into(),
        file.display().to_string(),
    ]
}

/// Accesses from the PVH entry to the ready line, by device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accesses {
    /// Bytes written to COM1's transmit register.
    pub serial_bytes: u64,
    /// Runs of back-to-back transmit writes (one `rep outsb` each: the
    /// guest writes at most a FIFO's 16 bytes per run).
    pub serial_runs: u64,
    /// Other COM1 registers (line status polls, setup).
    pub serial_other: u64,
    /// virtio-mmio registers.
    pub virtio: u64,
    /// The I/O APIC.
    pub ioapic: u64,
    /// The local APIC (QEMU's `apic-msi` region under TCG).
    pub apic: u64,
    /// Anything else (PIT, PCI probe, ...).
    pub other: u64,
}

const THR: &str = "addr 0x3f8 ";
const PROBE: &str = "addr 0x3ff value 0x5a ";

impl Accesses {
    /// Counts `trace` up to the end of the ready line; `None` if the trace
    /// has no guest probe or stops before the ready line is complete.
    pub fn from_trace(trace: &str) -> Option<Accesses> {
        let mut a = Accesses::default();
        let mut started = false;
        let mut line_buf = Vec::new();
        let mut in_run = false;
        for l in trace.lines() {
            let Some(name) = l
                .rsplit_once("name '")
                .map(|(_, n)| n.trim_end_matches('\''))
            else {
                continue;
            };
            let write = l.starts_with("memory_region_ops_write");
            if !started {
                started = write && name == "serial" && l.contains(PROBE);
                if !started {
                    continue;
                }
            }
            let thr = write && name == "serial" && l.contains(THR);
            if !thr {
                in_run = false;
            }
            match name {
                "serial" if thr => {
                    a.serial_bytes += 1;
                    if !in_run {
                        a.serial_runs += 1;
                        in_run = true;
                    }
                    let byte = value(l).unwrap_or(0) as u8;
                    if byte == b'\n' {
                        let text = String::from_utf8_lossy(&line_buf).into_owned();
                        line_buf.clear();
                        if text.starts_with("mb: ready ") {
                            return Some(a);
                        }
                    } else {
                        line_buf.push(byte);
                    }
                }
                "serial" => a.serial_other += 1,
                "virtio-mmio" => a.virtio += 1,
                "ioapic" => a.ioapic += 1,
                "apic-msi" => a.apic += 1,
                _ => a.other += 1,
            }
        }
        None
    }

    /// All accesses, as TCG sees them.
    pub fn total(&self) -> u64 {
        self.serial_bytes + self.serial_other + self.virtio + self.ioapic + self.apic + self.other
    }

    /// Exits the same boot would take under KVM: one per access, except
    /// that a `rep outsb` of up to 16 bytes is one.
    pub fn kvm_exits(&self) -> u64 {
        let runs = self.serial_runs.max(self.serial_bytes.div_ceil(16));
        runs + self.serial_other + self.virtio + self.ioapic + self.apic + self.other
    }
}

fn value(line: &str) -> Option<u64> {
    let v = line.split(" value 0x").nth(1)?.split_whitespace().next()?;
    u64::from_str_radix(v, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(addr: &str, value: u8, name: &str) -> String {
        format!("memory_region_ops_write cpu 0 mr 0x1 addr {addr} value {value:#x} size 1 name '{name}'\n")
    }

    fn r(addr: &str, name: &str) -> String {
        format!("memory_region_ops_read cpu 0 mr 0x1 addr {addr} value 0x60 size 1 name '{name}'\n")
    }

    fn text(s: &str) -> String {
        s.bytes().map(|b| w("0x3f8", b, "serial")).collect()
    }

    #[test]
    fn counts_from_the_probe_to_the_ready_line() {
        let mut t = String::new();
        // Firmware before the guest: not counted.
        t += &w("0x510", 1, "fwcfg");
        t += &w("0x3ff", 0x5a, "serial");
        t += &r("0x3fd", "serial");
        t += &text("mb: hi\n");
        t += &w("0x0", 1, "virtio-mmio");
        t += &w("0x10", 1, "ioapic");
        t += &r("0x3fd", "serial");
        t += &text("mb: ready boot_us=5 nics=0\n");
        // After the ready line: not counted.
        t += &w("0x50", 1, "virtio-mmio");
        let a = Accesses::from_trace(&t).expect("complete");
        assert_eq!(
            a,
            Accesses {
                serial_bytes: 7 + 27,
                serial_runs: 2,
                serial_other: 3,
                virtio: 1,
                ioapic: 1,
                apic: 0,
                other: 0,
            }
        );
        assert_eq!(a.total(), 34 + 3 + 2);
        // 27 bytes take at least two 16-byte bursts.
        assert_eq!(a.kvm_exits(), 3 + 3 + 2);
    }

    #[test]
    fn an_incomplete_trace_is_none() {
        assert_eq!(Accesses::from_trace(""), None);
        let t = w("0x3ff", 0x5a, "serial") + &text("mb: ready boot_us=5");
        assert_eq!(Accesses::from_trace(&t), None);
    }
}

//! The guest's device elements, bound to the VM's NICs by number. They are
//! added to the engine's standard library in the guest's registry.

pub mod fromdevice;
pub mod todevice;

use click::element::ElementClass;
use click::Registry;

/// The guest-side classes.
pub static CLASSES: &[&ElementClass] = &[&fromdevice::CLASS, &fromdevice::POLL, &todevice::CLASS];

/// The engine's standard library plus the guest's device elements.
pub fn registry() -> Registry {
    let mut r = Registry::standard();
    r.add_all(CLASSES);
    r
}

/// Parses a device name into a NIC number: `0`, or a name such as `eth0`,
/// `vif0` or `net0` (letters, then the number). NICs are numbered in the
/// order the hypervisor lists them (QEMU: `-device` order; Xen: `vif` ids).
pub fn parse_devname(name: &str) -> Option<usize> {
    let digits = name.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 4 {
        return None;
    }
    digits.parse().ok()
}

/// The error for a device name that names no NIC.
pub fn bad_devname(name: &str) -> alloc::string::String {
    alloc::format!("bad device '{name}' (expected a NIC number such as 0, or a name such as eth0)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names() {
        assert_eq!(parse_devname("0"), Some(0));
        assert_eq!(parse_devname("eth1"), Some(1));
        assert_eq!(parse_devname("vif12"), Some(12));
        for bad in ["", "eth", "eth-1", "1a", "x 1", "99999", "eth0.1"] {
            assert_eq!(parse_devname(bad), None, "{bad}");
        }
    }
}

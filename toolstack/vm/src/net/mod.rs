//! A middlebox's NICs: what `--nic` asks for ([`spec`]) and the host
//! devices made for it ([`host`]): taps, OVS or Linux bridge ports, veth
//! pairs into network namespaces.

pub mod host;
pub mod spec;

pub use host::{HostNic, Plumbing};
pub use spec::NicSpec;

use crate::rundir::RunDir;

/// Linux's limit on interface names (IFNAMSIZ 16, with the NUL).
pub const IFNAME_MAX: usize = 15;

/// Checks an interface name the way the kernel will.
pub fn check_ifname(name: &str) -> crate::error::Result<()> {
    if name.is_empty() {
        crate::bail!("empty interface name");
    }
    if name.len() > IFNAME_MAX {
        crate::bail!(
            "interface name '{name}' is {} bytes; Linux allows at most {IFNAME_MAX}",
            name.len()
        );
    }
    if name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
    {
        crate::bail!(
            "interface name '{name}' holds a character Linux does not allow ('/', ':' or space)"
        );
    }
    Ok(())
}

/// What tells apart the devices of agents with different run directories
/// (each numbers its domains from 1): nothing for `/run/mbctl`, else four
/// hex digits of a hash of the directory.
pub fn run_tag(run: &std::path::Path) -> String {
    if run == std::path::Path::new(crate::rundir::DEFAULT_RUN_DIR) {
        return String::new();
    }
    // FNV-1a: stable across builds, unlike std's hasher.
    let h = run
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0x811c_9dc5u32, |h, &b| {
            (h ^ b as u32).wrapping_mul(0x0100_0193)
        });
    format!("{:04x}", (h ^ (h >> 16)) & 0xffff)
}

/// The tap mbctl creates for NIC `nic` of domain `domid` of the agent of
/// `run`: `mb<tag><D>n<i>`.
pub fn tap_name(run: &RunDir, domid: u32, nic: usize) -> String {
    format!("mb{}{domid}n{nic}", run_tag(run.root()))
}

/// The host end of the veth pair for a `netns:` NIC: `mb<tag><D>v<i>`.
pub fn veth_name(run: &RunDir, domid: u32, nic: usize) -> String {
    format!("mb{}{domid}v{nic}", run_tag(run.root()))
}

/// The MAC address of NIC `nic` of domain `domid` (QEMU's locally
/// administered prefix 52:54:00, then the domain id and the NIC).
pub fn mac(domid: u32, nic: usize) -> String {
    format!(
        "52:54:00:{:02x}:{:02x}:{:02x}",
        (domid >> 8) & 0xff,
        domid & 0xff,
        nic & 0xff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        use std::path::Path;
        assert_eq!(run_tag(Path::new("/run/mbctl")), "");
        let t = run_tag(Path::new("/tmp/x"));
        assert_eq!(t.len(), 4);
        assert_ne!(t, run_tag(Path::new("/tmp/y")));
        assert!(check_ifname(&format!("mb{t}{}n{}", 65535, 99)).is_ok());
        assert_eq!(mac(258, 1), "52:54:00:01:02:01");
        assert!(check_ifname("a-very-long-name0")
            .unwrap_err()
            .to_string()
            .contains("at most 15"));
        assert!(check_ifname("a/b").is_err());
        assert!(check_ifname("tap0").is_ok());
    }
}

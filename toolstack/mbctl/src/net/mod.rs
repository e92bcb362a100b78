//! A middlebox's NICs: what `--nic` asks for ([`spec`]) and the host
//! devices made for it ([`host`]): taps, OVS or Linux bridge ports, veth
//! pairs into network namespaces.

pub mod host;
pub mod spec;

pub use host::{HostNic, Plumbing};
pub use spec::NicSpec;

/// Linux's limit on interface names (IFNAMSIZ 16, with the NUL).
pub const IFNAME_MAX: usize = 15;

/// Checks an interface name the way the kernel will.
pub fn check_ifname(name: &str) -> anyhow::Result<()> {
    if name.is_empty() {
        anyhow::bail!("empty interface name");
    }
    if name.len() > IFNAME_MAX {
        anyhow::bail!(
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
        anyhow::bail!(
            "interface name '{name}' holds a character Linux does not allow ('/', ':' or space)"
        );
    }
    Ok(())
}

/// The tap mbctl creates for NIC `nic` of domain `domid`: `mb<D>n<i>`.
pub fn tap_name(domid: u32, nic: usize) -> String {
    format!("mb{domid}n{nic}")
}

/// The host end of the veth pair for a `netns:` NIC: `mb<D>v<i>`.
pub fn veth_name(domid: u32, nic: usize) -> String {
    format!("mb{domid}v{nic}")
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
        assert_eq!(tap_name(12, 0), "mb12n0");
        assert_eq!(veth_name(65535, 9), "mb65535v9");
        assert!(check_ifname(&tap_name(u32::MAX, 99)).is_ok());
        assert_eq!(mac(258, 1), "52:54:00:01:02:01");
        assert!(check_ifname("a-very-long-name0")
            .unwrap_err()
            .to_string()
            .contains("at most 15"));
        assert!(check_ifname("a/b").is_err());
        assert!(check_ifname("tap0").is_ok());
    }
}

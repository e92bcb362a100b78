//! Linux network devices around the switch: names, veth pairs, namespaces,
//! offloads.

use crate::error::{bail, Context, Result};
use std::path::Path;

use crate::tool;

/// Linux's limit on interface names (IFNAMSIZ 16, with the NUL).
pub const IFNAME_MAX: usize = 15;

/// Checks an interface name the way the kernel will.
pub fn check_ifname(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > IFNAME_MAX {
        bail!("interface name '{name}' must be 1 to {IFNAME_MAX} bytes");
    }
    if name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
    {
        bail!("interface name '{name}' holds a character Linux does not allow ('/', ':' or space)");
    }
    Ok(())
}

/// Whether interface `name` exists in this namespace.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Whether network namespace `ns` exists (as `ip netns` names them).
pub fn netns_exists(ns: &str) -> bool {
    Path::new("/run/netns").join(ns).exists()
}

/// `ip ARGS` (in namespace `ns` when given).
pub fn ip(ns: Option<&str>, args: &[&str]) -> Result<String> {
    match ns {
        Some(ns) => {
            let mut v = vec!["-n", ns];
            v.extend_from_slice(args);
            tool::run("ip", &v, &[])
        }
        None => tool::run("ip", args, &[]),
    }
}

/// Turns checksum and segmentation offloads off on `dev` (in `ns` when
/// given): with the userspace datapath TCP stalls otherwise. Best effort:
/// a device without these features is fine as it is.
pub fn offloads_off(dev: &str, ns: Option<&str>) {
    let k = [
        "-K", dev, "tx", "off", "tso", "off", "gso", "off", "gro", "off",
    ];
    let _ = match ns {
        Some(ns) => {
            let mut v = vec!["netns", "exec", ns, "ethtool"];
            v.extend_from_slice(&k);
            tool::run("ip", &v, &[])
        }
        None => tool::run("ethtool", &k, &[]),
    };
}

/// Creates a veth pair `a` <-> `b`, `b` in namespace `b_ns` when given
/// (named `b` there), both up, no IPv6 on `a`, offloads off on both.
pub fn veth_pair(a: &str, b: &str, b_ns: Option<&str>) -> Result<()> {
    check_ifname(a)?;
    check_ifname(b)?;
    let mut args = vec!["link", "add", a, "type", "veth", "peer", "name", b];
    if let Some(ns) = b_ns {
        args.extend(["netns", ns]);
    }
    ip(None, &args).with_context(|| format!("creating veth pair {a} <-> {b}"))?;
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{a}/disable_ipv6"), "1");
    ip(None, &["link", "set", a, "up"])?;
    ip(b_ns, &["link", "set", b, "up"])?;
    offloads_off(a, None);
    offloads_off(b, b_ns);
    Ok(())
}

/// Removes interface `name` (in `ns` when given); a missing one is fine.
pub fn del_link(name: &str, ns: Option<&str>) -> Result<()> {
    let exists = match ns {
        None => link_exists(name),
        Some(n) => netns_exists(n) && ip(Some(n), &["link", "show", name]).is_ok(),
    };
    if exists {
        ip(ns, &["link", "del", name]).with_context(|| format!("removing {name}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifnames() {
        assert!(check_ifname("fwnat-b0").is_ok());
        assert!(check_ifname("sixteen-chars-xx").is_err());
        assert!(check_ifname("a:b").is_err());
        assert!(check_ifname("").is_err());
    }
}

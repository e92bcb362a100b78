//! Running host tools (`ip`, `ovs-vsctl`, `tc`, `xl`, QEMU) with errors a
//! user can act on: a missing tool names the Debian package to install.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// The Debian package that provides `tool`, for error messages.
pub fn package_of(tool: &str) -> &'static str {
    match tool {
        "ip" | "tc" => "iproute2",
        "ovs-vsctl" | "ovs-vswitchd" | "ovsdb-server" => "openvswitch-switch",
        "ethtool" => "ethtool",
        "xl" => "xen-utils-4.17",
        t if t.starts_with("qemu-system") => "qemu-system-x86",
        _ => "the package that provides it",
    }
}

pub use mb_ovs::tool::which;

/// Like [`which`], failing with the install command.
pub fn require(tool: &str) -> Result<PathBuf> {
    which(tool).with_context(|| {
        format!(
            "{tool} not found: install it with `apt-get install {}`",
            package_of(tool)
        )
    })
}

/// Runs `tool args...`; returns its standard output, or fails with its
/// standard error and the command line.
pub fn run(tool: &str, args: &[&str]) -> Result<String> {
    run_env(tool, args, &[])
}

/// Like [`run`], with extra environment variables.
pub fn run_env(tool: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    mb_ovs::tool::run_found(&require(tool)?, tool, args, env)
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Fails unless root, saying what needed it.
pub fn require_root(what: &str) -> Result<()> {
    if !is_root() {
        bail!("{what} needs root (run mbctl with sudo)");
    }
    Ok(())
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tools_name_their_package() {
        let e = require("qemu-system-nonexistent-arch").unwrap_err();
        assert!(
            e.to_string().contains("apt-get install qemu-system-x86"),
            "{e}"
        );
        assert!(which("sh").is_some());
        let e = run("sh", &["-c", "echo oops >&2; exit 3"]).unwrap_err();
        assert!(e.to_string().contains("oops"), "{e}");
        assert_eq!(run("sh", &["-c", "echo hi"]).unwrap(), "hi\n");
    }
}

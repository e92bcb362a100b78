//! Running the OVS and iproute2 tools with errors that say what failed
//! (`mbctl` runs its other host tools with these too).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Finds `tool` (a name, or a path) on `PATH` or in the sbin directories
/// (which non-login root shells sometimes lack).
pub fn which(tool: &str) -> Option<PathBuf> {
    if tool.contains('/') {
        let p = PathBuf::from(tool);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Runs `tool args...` with extra environment `env`; returns standard
/// output, or fails with the command line and standard error.
pub fn run(tool: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let path = which(tool).ok_or_else(|| Error::NotInstalled {
        tool: tool.into(),
        package: match tool {
            "ip" => "iproute2",
            "ethtool" => "ethtool",
            _ => "openvswitch-switch",
        },
    })?;
    run_found(&path, tool, args, env)
}

/// Runs `path`, the program found for `tool`, as [`run`] does.
pub fn run_found(path: &Path, tool: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let out = Command::new(path)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            tool: tool.into(),
            source,
        })?;
    if !out.status.success() {
        return Err(Error::Failed {
            command: format!("{tool} {}", args.join(" ")),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().into(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_command() {
        let e = run("sh", &["-c", "echo nope >&2; exit 2"], &[]).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("sh -c") && m.contains("nope"), "{m}");
        assert_eq!(run("sh", &["-c", "echo $X"], &[("X", "1")]).unwrap(), "1\n");
        let e = run("no-such-ovs-tool", &[], &[]).unwrap_err();
        assert!(e.to_string().contains("openvswitch-switch"), "{e}");
    }
}

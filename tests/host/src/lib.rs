//! Helpers for the end-to-end tests of `mbctl`: building and locating the
//! binary, the repository's paths, scratch directories, and test networks
//! of namespaces ([`netns`]).
#![warn(missing_docs)]

pub mod netns;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The shared Click conformance cases, if present: `$MB_CONFORMANCE_DIR`,
/// else `$REPO/../shared/conformance` (or one level further up, for git
/// worktrees kept in a subfolder).
pub fn conformance_dir() -> Option<PathBuf> {
    let env = std::env::var_os("MB_CONFORMANCE_DIR").map(PathBuf::from);
    let candidates = [
        env,
        Some(repo().join("../shared/conformance")),
        Some(repo().join("../../shared/conformance")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("run.sh").is_file())
        .and_then(|d| d.canonicalize().ok())
}

/// The `mbctl` binary of this build profile, built first (once per test
/// process) so the tests never run a stale one.
pub fn mbctl() -> PathBuf {
    static BUILD: Once = Once::new();
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/<test> -> target/<profile>/mbctl
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory")
        .to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut c = Command::new(cargo);
        c.current_dir(repo())
            .args(["build", "--quiet", "-p", "mbctl"]);
        if release {
            c.arg("--release");
        }
        let st = c.status().expect("running cargo build");
        assert!(st.success(), "cargo build -p mbctl failed");
    });
    profile_dir.join("mbctl")
}

/// Runs `mbctl ARGS` in `dir`, with empty standard input.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(mbctl())
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running mbctl")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory under the system's temporary directory, removed
/// when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A fresh directory named after `tag`.
    pub fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("mb-tests-host-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch directory");
        Scratch(d)
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// True when running as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// True under CI (the `CI` environment variable is set), where nothing may
/// be skipped.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

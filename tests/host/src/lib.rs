//! Helpers for the end-to-end tests of `mbctl`: building and locating the
//! binary and the guest image, the repository's paths, scratch
//! directories, and test networks of namespaces ([`netns`]).
#![warn(missing_docs)]

pub mod netns;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The guest image: `MB_IMAGE`, or `images/mb.elf` after `make image`
/// (run once per test process).
pub fn image() -> PathBuf {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    built_image(&IMAGE, "MB_IMAGE", &[], "images/mb.elf")
}

/// A guest image: the path in environment variable `env`, or else `out`
/// (relative to the repository) after `make image MAKE_ARGS`, made once
/// per test process (`cell` keeps the answer).
pub fn built_image(cell: &OnceLock<PathBuf>, env: &str, make_args: &[&str], out: &str) -> PathBuf {
    cell.get_or_init(|| {
        if let Ok(p) = std::env::var(env) {
            return PathBuf::from(p);
        }
        let st = Command::new("make")
            .arg("-C")
            .arg(repo())
            .arg("image")
            .args(make_args)
            .status()
            .expect("running `make image`");
        assert!(st.success(), "`make image {}` failed", make_args.join(" "));
        repo().join(out).canonicalize().expect(out)
    })
    .clone()
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
    /// A fresh directory named after `tag`, unique in this process. Names
    /// stay short: unix socket paths inside must fit in 107 bytes.
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "mb-tests-host-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
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

/// The processes of this host: pid and command line (arguments joined by
/// spaces).
pub fn processes() -> Vec<(i32, String)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        v.push((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")));
    }
    v
}

/// Pids of the QEMU processes `mbctl` started for run directory `run`
/// (their command lines name its `vms` folder).
pub fn qemu_pids(run: &Path) -> Vec<i32> {
    let vms = run.join("vms").display().to_string();
    processes()
        .into_iter()
        .filter(|(_, cmd)| cmd.contains(&vms))
        .map(|(pid, _)| pid)
        .collect()
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

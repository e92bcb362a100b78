//! Confining QEMU: the unprivileged user it drops to, its seccomp sandbox
//! and its own cgroup with memory and CPU limits.
//!
//! QEMU opens what it needs as root (the kernel image, taps through
//! `/dev/net/tun`, its console socket and log, the pid file), then, before
//! the guest runs, `-chroot` confines it to its guest directory
//! ([`guest_dir`]: the store socket and nothing else) and `-runas` drops
//! it to [`VMM_USER`]. After that it only reconnects to its store socket,
//! which the agent gives to that user, by a name relative to that
//! directory (QEMU starts in it, and it is `/` once chrooted). Socket NICs
//! are handed to it already connected, so it never needs to reach the
//! peer's socket file.

use crate::bail;
use crate::error::{Context, Result};
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The system user QEMU runs as, created on first use when missing
/// (`$MB_QEMU_USER` names another).
pub const VMM_USER: &str = "mb-qemu";

/// QEMU's seccomp sandbox when it changes user itself (`-runas`): all of
/// it but `elevateprivileges=deny`. QEMU 7.2 installs the filter while it
/// reads its options (`qemu_process_early_options`), long before
/// `os_setup_post` chroots and drops to the `-runas` user with setgid,
/// initgroups and setuid: with the set*id calls denied, the first setgid
/// kills it with SIGSYS (`elevateprivileges=children` too: it denies the
/// same calls and only adds no_new_privs). The drop itself needs them, so
/// the only way to deny them is to start QEMU unprivileged, which rules
/// out its `-chroot` (root only): the agent would have to build QEMU's
/// root itself (a mount namespace with `/usr` bound read-only, as
/// Firecracker's jailer does). Once QEMU runs as an unprivileged user,
/// set*id cannot raise it anyway. `spawn=deny` holds because QEMU is not
/// `-daemonize`d (that forks and calls setsid after the filter is in): the
/// agent starts it in its own session instead.
pub const SANDBOX: &str = "on,obsolete=deny,spawn=deny,resourcecontrol=deny";

/// QEMU's seccomp sandbox when it keeps the caller's user (no `-runas`):
/// the whole of it, set*id calls denied too.
pub const SANDBOX_UNPRIVILEGED: &str =
    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

/// Memory a QEMU needs besides the guest's RAM (TCG's translation cache,
/// its own heap and libraries), in MiB: the cgroup's limit is the sum.
pub const QEMU_OVERHEAD_MIB: u64 = 256;

/// The CPU share of one VM: `cpu.max`'s quota and period in µs (one CPU;
/// the guest has one vCPU).
pub const CPU_MAX: (u64, u64) = (100_000, 100_000);

/// The unprivileged user a VMM runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmmUser {
    /// Its name (for `-runas`).
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
}

fn lookup(name: &str) -> Option<VmmUser> {
    let c = CString::new(name).ok()?;
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; `buf` outlives its use.
    let r = unsafe { libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) };
    (r == 0 && !out.is_null()).then(|| VmmUser {
        name: name.to_string(),
        uid: pw.pw_uid,
        gid: pw.pw_gid,
    })
}

fn user_name() -> String {
    std::env::var("MB_QEMU_USER")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| VMM_USER.into())
}

/// The user QEMU drops to: none when this process is not root (QEMU then
/// runs as the caller, who is unprivileged already); else [`VMM_USER`],
/// created as a system user without home or shell if missing. Resolved
/// once per process.
pub fn vmm_user() -> Result<Option<VmmUser>> {
    static USER: OnceLock<Result<Option<VmmUser>, String>> = OnceLock::new();
    USER.get_or_init(|| {
        if !crate::sys::is_root() {
            return Ok(None);
        }
        ensure_user(&user_name()).map(Some)
    })
    .clone()
    .map_err(crate::error::Error::Invalid)
}

/// The system user `name`, made without home or login shell if missing.
fn ensure_user(name: &str) -> Result<VmmUser, String> {
    if let Some(u) = lookup(name) {
        return Ok(u);
    }
    let made = crate::sys::run(
        "useradd",
        &[
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            "--comment",
            "mbctl's QEMU processes",
            name,
        ],
    );
    // Another agent may have made it meanwhile: the lookup decides.
    match (lookup(name), made) {
        (Some(u), _) => Ok(u),
        (None, Err(e)) => Err(format!(
            "QEMU runs as the unprivileged user '{name}', which is missing and could not \
             be created ({}); create it with `useradd --system {name}`",
            crate::error::report(&e)
        )),
        (None, Ok(_)) => Err(format!("useradd made no user '{name}'")),
    }
}

/// Makes `dir`, the directory a guest's QEMU is confined to (its root
/// after `-chroot`), holding its store socket and nothing else. With a
/// VMM user it is root's with group `user`, mode 0710: QEMU, once
/// unprivileged, can reach the socket inside and nothing more (it lists
/// nothing, creates nothing). Without one, 0700. Parents made here are
/// root's alone (0700): QEMU resolves no host path once confined.
pub fn guest_dir(dir: &Path, user: Option<&VmmUser>) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let mode = match user {
        Some(u) => {
            std::os::unix::fs::chown(dir, Some(0), Some(u.gid))
                .with_context(|| format!("giving {} to group {}", dir.display(), u.name))?;
            0o710
        }
        None => 0o700,
    };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", dir.display()))
}

/// `value` for a QEMU option list (`key=value,...`): commas doubled, the
/// way QEMU reads a literal comma.
pub fn opt_value(value: &Path) -> String {
    value.display().to_string().replace(',', ",,")
}

/// A VM's cgroup: one directory under cgroup v2, or one per controller
/// (memory, cpu) under v1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cgroup {
    /// The directories, each with its `cgroup.procs`.
    pub dirs: Vec<PathBuf>,
    /// Whether they are cgroup v2's (one directory, both controllers).
    pub v2: bool,
}

const CG_ROOT: &str = "/sys/fs/cgroup";

fn own_cgroup_v1(controller: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        ctrls
            .split(',')
            .any(|c| c == controller)
            .then(|| path.to_string())
    })
}

/// The cgroup directories for VM `leaf` (unique per run directory and
/// name), or why there are none: cgroup v2 with the memory and cpu
/// controllers at `/sys/fs/cgroup/mb/<leaf>` (the root may hand
/// controllers down, a cgroup with processes may not), else v1's memory
/// and cpu hierarchies, under this process's own cgroup so QEMU stays
/// inside whatever limits the agent runs under.
pub fn cgroup_dirs(leaf: &str) -> Result<Cgroup, String> {
    let root = Path::new(CG_ROOT);
    if let Ok(ctrls) = std::fs::read_to_string(root.join("cgroup.controllers")) {
        let has = |c: &str| ctrls.split_whitespace().any(|x| x == c);
        if !(has("memory") && has("cpu")) {
            return Err(format!(
                "cgroup v2 at {CG_ROOT} lacks the memory or cpu controller"
            ));
        }
        return Ok(Cgroup {
            dirs: vec![root.join("mb").join(leaf)],
            v2: true,
        });
    }
    let mut dirs = Vec::new();
    for c in ["memory", "cpu"] {
        let mount = root.join(c);
        let own = own_cgroup_v1(c).ok_or_else(|| format!("no cgroup {c} controller"))?;
        if !mount.join("cgroup.procs").exists() {
            return Err(format!(
                "cgroup {c} controller not mounted at {}",
                mount.display()
            ));
        }
        dirs.push(
            mount
                .join(own.trim_start_matches('/'))
                .join("mb")
                .join(leaf),
        );
    }
    Ok(Cgroup { dirs, v2: false })
}

fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).with_context(|| format!("writing {value:?} to {}", path.display()))
}

impl Cgroup {
    /// Makes the cgroup of `leaf` with a memory limit of `memory_mib` plus
    /// [`QEMU_OVERHEAD_MIB`] and [`CPU_MAX`], or says why it cannot (no
    /// cgroups, a read-only hierarchy, limits refused): QEMU then runs
    /// without one, and the caller says so.
    pub fn create(leaf: &str, memory_mib: u64) -> Result<Cgroup, String> {
        let cg = cgroup_dirs(leaf)?;
        // A leftover of a VM of the same name (an agent killed before its
        // cleanup) is empty: take it over.
        cg.remove();
        cg.make(memory_mib).map_err(|e| {
            cg.remove();
            crate::error::report(&e)
        })?;
        Ok(cg)
    }

    fn make(&self, memory_mib: u64) -> Result<()> {
        let bytes = (memory_mib + QEMU_OVERHEAD_MIB) << 20;
        let (quota, period) = CPU_MAX;
        for d in &self.dirs {
            if let Some(parent) = d.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
                if self.v2 {
                    // /sys/fs/cgroup/mb/<leaf>: hand the controllers down.
                    write(
                        &Path::new(CG_ROOT).join("cgroup.subtree_control"),
                        "+memory +cpu",
                    )?;
                    write(&parent.join("cgroup.subtree_control"), "+memory +cpu")?;
                }
            }
            std::fs::create_dir(d).with_context(|| format!("creating {}", d.display()))?;
            if d.join("memory.max").exists() {
                write(&d.join("memory.max"), &bytes.to_string())?;
                write(&d.join("cpu.max"), &format!("{quota} {period}"))?;
            } else if d.join("memory.limit_in_bytes").exists() {
                write(&d.join("memory.limit_in_bytes"), &bytes.to_string())?;
            } else if d.join("cpu.cfs_quota_us").exists() {
                write(&d.join("cpu.cfs_period_us"), &period.to_string())?;
                write(&d.join("cpu.cfs_quota_us"), &quota.to_string())?;
            }
        }
        Ok(())
    }

    /// The `cgroup.procs` files, for [`join_self`] in a child before exec.
    pub fn procs_files(&self) -> Vec<CString> {
        self.dirs
            .iter()
            .filter_map(|d| {
                CString::new(d.join("cgroup.procs").into_os_string().into_encoded_bytes()).ok()
            })
            .collect()
    }

    /// Removes the directories (a cgroup goes once its processes have).
    pub fn remove(&self) {
        for d in &self.dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Removes the cgroup of `leaf`, waiting briefly for its exited processes
/// to leave it.
pub fn remove_cgroup(leaf: &str) {
    let Ok(cg) = cgroup_dirs(leaf) else { return };
    for _ in 0..50 {
        cg.remove();
        if cg.dirs.iter().all(|d| !d.exists()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Moves the calling process into the cgroups whose `cgroup.procs` files
/// are `procs`. For a forked child before exec: only syscalls, no
/// allocation.
pub fn join_self(procs: &[CString]) -> std::io::Result<()> {
    for p in procs {
        let p: &CStr = p;
        // SAFETY: a NUL-terminated path; open/write/close are async-signal-safe.
        unsafe {
            let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // "0" is the writing process itself.
            let n = libc::write(fd, b"0".as_ptr().cast(), 1);
            let err = std::io::Error::last_os_error();
            libc::close(fd);
            if n != 1 {
                return Err(err);
            }
        }
    }
    Ok(())
}

/// Fails with a clear message if `s` holds a character QEMU's or xl's
/// option syntax gives a meaning to (`,`, `=`, quotes, backslash) or a
/// control character; `what` names the value in the message.
pub fn check_plain(what: &str, s: &str) -> Result<()> {
    if let Some(c) = s
        .chars()
        .find(|&c| matches!(c, ',' | '=' | '"' | '\'' | '\\') || c.is_control())
    {
        bail!(
            "{what} '{}' holds {}, which VM option syntax would misread; use letters, digits, '-', '_' or '.'",
            s.escape_debug(),
            match c {
                ',' => "a comma".to_string(),
                '=' => "an '='".to_string(),
                '"' | '\'' => "a quote".to_string(),
                '\\' => "a backslash".to_string(),
                c => format!("the control character {:?}", c),
            }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_escape_commas() {
        assert_eq!(opt_value(Path::new("/run/a,b/x.sock")), "/run/a,,b/x.sock");
        assert_eq!(opt_value(Path::new("/run/x.sock")), "/run/x.sock");
    }

    #[test]
    fn plain_names() {
        assert!(check_plain("name", "br-0_x.1").is_ok());
        for (bad, why) in [
            ("t0,vhost=on", "a comma"),
            ("a=b", "an '='"),
            ("a\"b", "a quote"),
            ("a'b", "a quote"),
            ("a\\b", "a backslash"),
            ("a\nb", "control character"),
        ] {
            let e = check_plain("bridge name", bad).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("bridge name"), "{bad}: {e}");
        }
    }

    #[test]
    fn cgroup_places() {
        // Either layout names the VM's own directory under `mb`.
        if let Ok(cg) = cgroup_dirs("t-fw") {
            assert_eq!(cg.dirs.len(), if cg.v2 { 1 } else { 2 });
            for d in cg.dirs {
                assert!(d.ends_with("mb/t-fw"), "{}", d.display());
                assert!(d.starts_with(CG_ROOT), "{}", d.display());
            }
        }
    }

    #[test]
    fn a_missing_user_is_made() {
        if !crate::sys::is_root() {
            return;
        }
        let name = format!("mbq-t{}", std::process::id() % 100_000);
        let u = ensure_user(&name).unwrap();
        assert_ne!(u.uid, 0);
        assert_eq!(lookup(&name), Some(u.clone()));
        // Made once: the second call finds it.
        assert_eq!(ensure_user(&name), Ok(u));
        crate::sys::run("userdel", &[&name]).unwrap();
        assert_eq!(lookup(&name), None);
    }

    #[test]
    fn no_user_when_not_root() {
        if !crate::sys::is_root() {
            assert_eq!(vmm_user().unwrap(), None);
        } else {
            let u = vmm_user().unwrap().expect("root gets a VMM user");
            assert_ne!(u.uid, 0);
            assert_eq!(lookup(&u.name), Some(u));
        }
    }
}

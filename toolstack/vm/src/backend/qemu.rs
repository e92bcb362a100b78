//! The QEMU backend: a `-M microvm` VM per middlebox, booted from the PVH
//! image, NICs as virtio-mmio devices on taps (or unix datagram sockets),
//! the store over a virtio-console whose chardev connects to the guest's
//! store socket, and the serial port on a socket (`mbctl console`) that
//! QEMU also logs to a file.
//!
//! QEMU runs in its own session (started so by the agent, not
//! `-daemonize`, which its seccomp sandbox would kill: see
//! [`confine::SANDBOX`]) with a `-pidfile`, so it outlives the agent; the
//! agent finds it again from the record's pid, checked against the pid
//! file's path in QEMU's command line so a recycled pid is never mistaken
//! for it. The chardev reconnects every second, so a restarted agent's
//! store gets it back.

use crate::bail;
use crate::error::{Context, Result};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::accel::{self, Host};
use super::confine::{self, opt_value, Cgroup, SANDBOX, SANDBOX_UNPRIVILEGED};
use super::{Backend, Kind, Launched, Plan};
use crate::net::host::{self as nethost, Attach, HostNic};
use crate::pidfile;
use crate::rundir::RunDir;
use crate::{NicRecord, Record};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;

/// The QEMU backend.
pub struct Qemu {
    /// The QEMU binary.
    pub binary: String,
    /// The run directory its VMs' files are in.
    pub run: RunDir,
}

impl Qemu {
    /// For the VMs of `run`, with `$MB_QEMU`, else `qemu-system-x86_64`.
    pub fn new(run: &RunDir) -> Qemu {
        Qemu {
            binary: std::env::var("MB_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into()),
            run: run.clone(),
        }
    }
}

/// The machine: microvm without firmware or legacy devices, as in
/// unikernel/kernel/README.md. TCG keeps the PIT (the guest calibrates its
/// TSC against it when the host cannot say the rate, see [`super::tsc`]);
/// KVM gives kvmclock instead.
pub fn machine(accel: &str) -> String {
    let pit = if accel == "kvm" { "off" } else { "on" };
    format!("microvm,x-option-roms=off,rtc=off,pit={pit},pic=off,isa-serial=on")
}

/// How QEMU is confined and what it is handed, beside the plan.
#[derive(Clone, Debug, Default)]
pub struct Jail {
    /// The user `-runas` drops to (none: QEMU stays the caller's user).
    pub runas: Option<String>,
    /// The directory `-chroot` confines QEMU to (root only): the guest's
    /// directory, which holds its store socket.
    pub chroot: Option<PathBuf>,
    /// Per NIC, the fd of its socket already connected to its peer
    /// (socket NICs whose peer was there at launch).
    pub nic_fds: Vec<Option<i32>>,
}

/// QEMU's arguments for `plan` with accelerator `accel`, NICs `nics` and
/// confinement `jail`. Paths inside option lists are comma-escaped; NIC
/// and VM names were refused earlier if they hold option syntax. QEMU
/// starts in the store socket's directory (see [`store_dir`]).
pub fn args(plan: &Plan, accel: &str, nics: &[HostNic], jail: &Jail) -> Vec<String> {
    let f = &plan.files;
    // Named relative to the directory QEMU starts in, which is also its
    // root once chrooted: the one name reaches the socket before and after.
    let store = plan
        .store_socket
        .file_name()
        .map_or_else(|| plan.store_socket.clone(), Into::into);
    let mut a: Vec<String> = [
        "-name",
        &format!("mb-{},process=mb-{}", plan.name, plan.name),
        "-M",
        &machine(accel),
        "-accel",
        accel,
        "-nodefaults",
        "-no-user-config",
        "-no-reboot",
        "-display",
        "none",
        "-m",
        &plan.memory,
        "-kernel",
        &plan.image.display().to_string(),
        // The serial line on a socket for `mbctl console` (one client at
        // a time; output goes nowhere else while none is attached), all of
        // its output also in the log for `mbctl logs`.
        "-chardev",
        &format!(
            "socket,id=serial,path={},server=on,wait=off,logfile={},logappend=on",
            opt_value(&f.console_socket()),
            opt_value(&f.console_log())
        ),
        "-serial",
        "chardev:serial",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Under TCG the guest's TSC is the host's: saying its rate spares the
    // guest a PIT calibration (milliseconds of its boot).
    if let Some(khz) = (accel == "tcg").then(super::tsc::host_khz).flatten() {
        a.push("-append".into());
        a.push(format!("mb.tsc_khz={khz}"));
    }
    for (i, n) in nics.iter().enumerate() {
        a.push("-netdev".into());
        a.push(match &n.attach {
            Attach::Tap(t) => format!("tap,id=n{i},ifname={t},script=no,downscript=no"),
            Attach::Socket(local, peer) => match jail.nic_fds.get(i).copied().flatten() {
                Some(fd) => format!("dgram,id=n{i},local.type=fd,local.str={fd}"),
                None => format!(
                    "dgram,id=n{i},local.type=unix,local.path={},remote.type=unix,remote.path={}",
                    opt_value(local),
                    opt_value(peer)
                ),
            },
        });
        a.push("-device".into());
        a.push(format!("virtio-net-device,netdev=n{i},mac={}", n.mac));
    }
    a.extend([
        "-device".to_string(),
        "virtio-serial-device".into(),
        "-chardev".into(),
        format!("socket,id=store,path={},reconnect=1", opt_value(&store)),
        "-device".into(),
        "virtconsole,chardev=store".into(),
        // The state channel: a second console, QEMU listening, so state
        // in bulk needs neither the store nor the agent. On its own bus:
        // QEMU would otherwise add it to the first one as port 1, which a
        // guest without multiport never sees.
        "-device".into(),
        "virtio-serial-device,id=statebus".into(),
        "-chardev".into(),
        format!(
            "socket,id=state,path={},server=on,wait=off",
            opt_value(&f.state_socket())
        ),
        "-device".into(),
        "virtconsole,chardev=state,bus=statebus.0".into(),
        "-sandbox".into(),
        if jail.runas.is_some() {
            SANDBOX
        } else {
            SANDBOX_UNPRIVILEGED
        }
        .into(),
    ]);
    if let Some(dir) = &jail.chroot {
        a.extend(["-chroot".to_string(), dir.display().to_string()]);
    }
    if let Some(user) = &jail.runas {
        a.extend(["-runas".to_string(), user.clone()]);
    }
    a.extend(["-pidfile".to_string(), f.pid_file().display().to_string()]);
    a
}

/// The directory QEMU starts in: its store socket's (the guest directory,
/// [`crate::rundir::RunDir::guest_dir`]).
pub fn store_dir(plan: &Plan) -> &Path {
    plan.store_socket.parent().unwrap_or(Path::new("/"))
}

/// The name of the cgroup of middlebox `name` of `run`'s agent.
pub fn cgroup_leaf(run: &RunDir, name: &str) -> String {
    match crate::net::run_tag(run.root()) {
        t if t.is_empty() => name.to_string(),
        t => format!("{t}-{name}"),
    }
}

/// Binds socket NICs' own ends and connects them to their peers when the
/// peers are there, so QEMU, once unprivileged, needs no access to the
/// peers' socket files. `None` for other NICs and absent peers (QEMU then
/// sends to the peer's path itself).
fn connect_socket_nics(nics: &[HostNic]) -> Result<Vec<Option<UnixDatagram>>> {
    nics.iter()
        .map(|n| {
            let Attach::Socket(local, peer) = &n.attach else {
                return Ok(None);
            };
            let _ = std::fs::remove_file(local);
            if !peer.exists() {
                return Ok(None);
            }
            let s = UnixDatagram::bind(local)
                .with_context(|| format!("binding NIC socket {}", local.display()))?;
            match s.connect(peer) {
                Ok(()) => Ok(Some(s)),
                Err(_) => {
                    let _ = std::fs::remove_file(local);
                    Ok(None)
                }
            }
        })
        .collect()
}

/// Says once per process that QEMU runs without its own cgroup, and why.
fn no_cgroup(why: &str) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| eprintln!("note: QEMU runs without its own cgroup: {why}"));
}

/// Whether `pid` is the QEMU started with pid file `pid_file`.
pub fn is_our_qemu(pid: i32, pid_file: &Path) -> bool {
    if !pidfile::alive(pid) {
        return false;
    }
    let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let want = pid_file.as_os_str().as_encoded_bytes();
    cmd.split(|&b| b == 0).any(|arg| arg == want)
}

fn nic_records(nics: &[HostNic]) -> Vec<NicRecord> {
    nics.iter()
        .map(|n| NicRecord {
            spec: n.spec.to_string(),
            mac: n.mac.clone(),
            ifname: n.ifname().map(str::to_string),
            made: n.made.clone(),
        })
        .collect()
}

/// How long QEMU may take to set its VM up before the launch gives up on it.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether QEMU `pid` has set its VM up: with `-runas`, once it has
/// dropped to that user (the last thing QEMU does before the guest runs,
/// after `-chroot`); otherwise once it has written its pid file (its own
/// errors after that come out when the boot sees it gone).
fn set_up(pid: i32, runas: bool, pid_file: &Path) -> bool {
    if !runas {
        return pidfile::read(pid_file) == Some(pid);
    }
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|v| v.split_whitespace().next())
            .is_some_and(|uid| uid != "0")
    })
}

/// What QEMU said on stderr (the lines of its log after the command line).
pub fn messages(files: &crate::files::VmFiles) -> String {
    let log = std::fs::read_to_string(files.qemu_log()).unwrap_or_default();
    log.lines().skip(1).collect::<Vec<_>>().join("\n")
}

impl Qemu {
    /// Starts QEMU; returns its pid and, when it is chrooted, the socket
    /// NICs' peers it cannot reach (absent at launch).
    fn spawn(&self, plan: &Plan, accel: &str, nics: &[HostNic]) -> Result<(i32, Vec<PathBuf>)> {
        let bin = crate::sys::require(&self.binary)?;
        std::fs::create_dir_all(&plan.files.dir)
            .with_context(|| format!("creating {}", plan.files.dir.display()))?;
        if !plan.image.is_file() {
            bail!(
                "guest image {} not found (build it with `make image`, or pass --image)",
                plan.image.display()
            );
        }
        let _ = std::fs::remove_file(plan.files.pid_file());
        let user = confine::vmm_user()?;
        let socks = connect_socket_nics(nics)?;
        let dir = store_dir(plan);
        let jail = Jail {
            runas: user.as_ref().map(|u| u.name.clone()),
            // chroot(2) is root's: without a VMM user QEMU is not root.
            chroot: user.as_ref().map(|_| dir.to_path_buf()),
            nic_fds: socks
                .iter()
                .map(|s| s.as_ref().map(|s| s.as_raw_fd()))
                .collect(),
        };
        let leaf = cgroup_leaf(&self.run, &plan.name);
        let cgroup = match Cgroup::create(&leaf, super::xl::memory_mib(&plan.memory)?) {
            Ok(cg) => Some(cg),
            Err(why) => {
                no_cgroup(&why);
                None
            }
        };
        let procs = cgroup.as_ref().map(Cgroup::procs_files).unwrap_or_default();
        let fds: Vec<i32> = jail.nic_fds.iter().flatten().copied().collect();
        let argv = args(plan, accel, nics, &jail);
        let log = plan.files.qemu_log();
        let log_file = std::fs::write(&log, format!("{} {}\n", bin.display(), argv.join(" ")))
            .and_then(|()| std::fs::OpenOptions::new().append(true).open(&log))
            .with_context(|| format!("writing {}", log.display()))?;
        let mut cmd = Command::new(&bin);
        cmd.args(&argv)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Its own session, so it outlives the agent and no signal to the
        // agent's group reaches it. The agent blocks SIGTERM/SIGINT/SIGHUP
        // to take them with sigwait; exec keeps the mask, and QEMU would
        // never see `destroy`'s SIGTERM. QEMU joins its cgroup before it
        // exists as QEMU, so everything it allocates counts; the NIC
        // sockets it is handed lose close-on-exec.
        // SAFETY: setsid, sigemptyset/sigprocmask, umask, open/write/close
        // and fcntl are async-signal-safe, and nothing here allocates.
        unsafe {
            cmd.pre_exec(move || {
                libc::setsid();
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                libc::umask(0o077); // the console log and sockets are root's alone
                confine::join_self(&procs)?;
                for &fd in &fds {
                    if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let started = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))
            .and_then(|mut child| {
                let log = child.stderr.take().and_then(|err| {
                    std::thread::Builder::new()
                        .name(format!("qemu-log-{}", child.id()))
                        .spawn(move || keep_messages(err, log_file))
                        .ok()
                });
                wait_set_up(plan, child, log, jail.runas.is_some())
            });
        if started.is_err() {
            if let Some(cg) = &cgroup {
                cg.remove();
            }
        }
        let unreachable = match jail.chroot {
            Some(_) => nics
                .iter()
                .zip(&socks)
                .filter_map(|(n, s)| match (&n.attach, s) {
                    (Attach::Socket(_, peer), None) => Some(peer.clone()),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        };
        // QEMU holds its own copies of the sockets now.
        drop(socks);
        started.map(|pid| (pid, unreachable))
    }
}

/// Most of QEMU's stderr its log keeps: a guest can make QEMU complain
/// without end, and the log is in the run directory (often tmpfs: memory).
const MESSAGES_MAX: u64 = 64 << 10;

/// Copies QEMU's stderr into its log, up to [`MESSAGES_MAX`] bytes, and
/// drops the rest, until QEMU exits (and with it the pipe's far end).
fn keep_messages(mut from: std::process::ChildStderr, mut to: std::fs::File) {
    use std::io::Read;
    let _ = std::io::copy(&mut (&mut from).take(MESSAGES_MAX), &mut to);
    let _ = std::io::copy(&mut from, &mut std::io::sink());
}

/// Waits until `child` has set its VM up, then leaves it to a thread that
/// reaps it when it exits (QEMU is the agent's child until the agent
/// goes; then init's). `log` is the thread keeping its stderr.
fn wait_set_up(
    plan: &Plan,
    mut child: std::process::Child,
    log: Option<std::thread::JoinHandle<()>>,
    runas: bool,
) -> Result<i32> {
    let pid = child.id() as i32;
    let start = Instant::now();
    let failed = loop {
        if let Some(status) = child.try_wait().context("waiting for QEMU")? {
            break format!("QEMU failed to start ({status})");
        }
        if set_up(pid, runas, &plan.files.pid_file()) {
            let reaper = std::thread::Builder::new()
                .name(format!("qemu-{pid}"))
                .spawn(move || {
                    let _ = child.wait();
                    if let Some(l) = log {
                        let _ = l.join();
                    }
                });
            if let Err(e) = reaper {
                // Not fatal: QEMU runs; it stays a zombie once it exits.
                eprintln!("note: no thread to reap QEMU {pid}: {e}");
            }
            return Ok(pid);
        }
        if start.elapsed() > SETUP_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break format!("QEMU did not set its VM up within {SETUP_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // It has exited: its stderr is complete once the copy ends.
    if let Some(l) = log {
        let _ = l.join();
    }
    bail!("{failed}: {}", messages(&plan.files).trim())
}

impl Backend for Qemu {
    fn kind(&self) -> Kind {
        Kind::Qemu
    }

    fn chooses_domid(&self) -> bool {
        true
    }

    fn launch(&self, plan: &Plan) -> Result<Launched> {
        crate::sys::require(&self.binary)?;
        let (accel, note) = accel::choose(plan.accel, &Host::probe())?;
        std::fs::create_dir_all(&plan.files.dir)
            .with_context(|| format!("creating {}", plan.files.dir.display()))?;
        let mut nics: Vec<HostNic> = Vec::new();
        for (i, spec) in plan.nics.iter().enumerate() {
            match nethost::setup(
                &self.run,
                plan.domid,
                i,
                spec,
                &plan.files.dir,
                plan.ovs_rundir.as_deref(),
            ) {
                Ok(n) => nics.push(n),
                Err(e) => {
                    for n in nics.iter().rev() {
                        nethost::undo(&n.made);
                    }
                    return Err(e);
                }
            }
        }
        match self.spawn(plan, accel, &nics) {
            Ok((pid, unreachable)) => Ok(Launched {
                domid: plan.domid,
                pid: Some(pid),
                accel: accel.into(),
                notes: note
                    .into_iter()
                    .chain(unreachable.iter().map(|p| {
                        format!(
                            "socket NIC peer {} does not exist: the confined QEMU cannot reach \
                             a socket made after boot, so the guest's frames to it are dropped",
                            p.display()
                        )
                    }))
                    .collect(),
                nics: nic_records(&nics),
                paused: false,
            }),
            Err(e) => {
                for n in nics.iter().rev() {
                    nethost::undo(&n.made);
                }
                Err(e)
            }
        }
    }

    fn unpause(&self, _rec: &Record) -> Result<()> {
        Ok(())
    }

    fn alive(&self, rec: &Record) -> bool {
        let files = crate::files::VmFiles::new(&self.run, &rec.name);
        rec.pid.is_some_and(|p| is_our_qemu(p, &files.pid_file()))
    }

    fn wait_gone(&self, rec: &Record, timeout: Duration) -> bool {
        let start = Instant::now();
        while self.alive(rec) {
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        confine::remove_cgroup(&cgroup_leaf(&self.run, &rec.name));
        true
    }

    fn destroy(&self, rec: &Record) -> Result<()> {
        let Some(pid) = rec.pid else { return Ok(()) };
        if !self.alive(rec) {
            confine::remove_cgroup(&cgroup_leaf(&self.run, &rec.name));
            return Ok(());
        }
        // SIGTERM lets QEMU exit cleanly; SIGKILL if it does not within a
        // few seconds. (Chrooted, it cannot remove its console socket and
        // pid file itself: they go with the VM's directory.)
        let _ = pidfile::terminate(pid);
        if self.wait_gone(rec, Duration::from_secs(5)) {
            return Ok(());
        }
        // SAFETY: plain syscall on QEMU's pid, checked above to be ours.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        if self.wait_gone(rec, Duration::from_secs(5)) {
            Ok(())
        } else {
            bail!(
                "QEMU pid {pid} of '{}' did not exit after SIGKILL",
                rec.name
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::accel::Request;
    use crate::files::VmFiles;
    use crate::net::NicSpec;
    use crate::rundir::RunDir;
    use std::path::PathBuf;

    fn plan() -> Plan {
        let run = RunDir::new("/run/mbctl");
        Plan {
            name: "fw".into(),
            domid: 7,
            image: PathBuf::from("/img/mb.elf"),
            memory: "16M".into(),
            accel: Request::Tcg,
            nics: vec![],
            store_socket: run.guest_socket(7),
            files: VmFiles::new(&run, "fw"),
            ovs_rundir: None,
        }
    }

    #[test]
    fn command_line() {
        let p = plan();
        let nics = vec![
            HostNic {
                spec: NicSpec::Tap("t0".into()),
                mac: "52:54:00:00:07:00".into(),
                attach: Attach::Tap("t0".into()),
                made: vec![],
            },
            HostNic {
                spec: NicSpec::Socket("/tmp/peer".into()),
                mac: "52:54:00:00:07:01".into(),
                attach: Attach::Socket("/run/mbctl/vms/fw/nic1.sock".into(), "/tmp/peer".into()),
                made: vec![],
            },
        ];
        let jail = Jail {
            runas: Some("mb-qemu".into()),
            chroot: Some("/run/mbctl/guests/7".into()),
            nic_fds: vec![None, Some(9)],
        };
        let a = args(&p, "tcg", &nics, &jail).join(" ");
        for want in [
            "-M microvm,x-option-roms=off,rtc=off,pit=on,pic=off,isa-serial=on -accel tcg",
            "-m 16M -kernel /img/mb.elf -chardev socket,id=serial,path=/run/mbctl/vms/fw/console.sock,server=on,wait=off,logfile=/run/mbctl/vms/fw/console.log,logappend=on -serial chardev:serial",
            "-netdev tap,id=n0,ifname=t0,script=no,downscript=no -device virtio-net-device,netdev=n0,mac=52:54:00:00:07:00",
            "-netdev dgram,id=n1,local.type=fd,local.str=9 -device virtio-net-device,netdev=n1",
            "-device virtio-serial-device -chardev socket,id=store,path=store.sock,reconnect=1 -device virtconsole,chardev=store",
            "-device virtio-serial-device,id=statebus -chardev socket,id=state,path=/run/mbctl/vms/fw/state.sock,server=on,wait=off -device virtconsole,chardev=state,bus=statebus.0",
            "-sandbox on,obsolete=deny,spawn=deny,resourcecontrol=deny -chroot /run/mbctl/guests/7 -runas mb-qemu -pidfile /run/mbctl/vms/fw/qemu.pid",
        ] {
            assert!(a.contains(want), "missing {want:?} in {a}");
        }
        assert_eq!(store_dir(&p), Path::new("/run/mbctl/guests/7"));
        assert!(!a.contains("-daemonize"), "{a}");
        // Without a connected socket the NIC names both paths; a comma in
        // a path is QEMU's escaped one, not an option separator.
        let mut p2 = plan();
        p2.files.dir = "/run/a,b/vms/fw".into();
        let a2 = args(&p2, "tcg", &nics, &Jail::default()).join(" ");
        assert!(a2.contains("local.type=unix,local.path=/run/mbctl/vms/fw/nic1.sock,remote.type=unix,remote.path=/tmp/peer"), "{a2}");
        assert!(a2.contains("path=/run/a,,b/vms/fw/console.sock,"), "{a2}");
        // Unconfined (not root): QEMU keeps its user, so set*id is denied too.
        assert!(!a2.contains("-runas") && !a2.contains("-chroot"), "{a2}");
        assert!(
            a2.contains(
                "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
            ),
            "{a2}"
        );
        // NICs come before the console so the guest numbers them 0, 1.
        assert!(a.find("netdev=n1").unwrap() < a.find("virtconsole").unwrap());
        assert!(args(&p, "kvm", &[], &jail).join(" ").contains("pit=off"));
        // The TSC rate goes to TCG guests only (KVM has kvmclock).
        assert!(!args(&p, "kvm", &[], &jail)
            .join(" ")
            .contains("mb.tsc_khz="));
        if let Some(khz) = super::super::tsc::host_khz() {
            assert!(a.contains(&format!("-append mb.tsc_khz={khz}")), "{a}");
        }
    }

    #[test]
    fn identifies_its_own_process() {
        assert!(!is_our_qemu(
            std::process::id() as i32,
            Path::new("/no/such.pid")
        ));
        assert!(!is_our_qemu(i32::MAX - 1, Path::new("/x")));
    }
}

//! Boots the guest image under QEMU for tests: builds or locates
//! `images/mb.elf`, picks the accelerator, wires NICs to unix datagram
//! sockets and the virtio-console to a real store ([`StoreHost`]: the
//! project's xenstore server, in process), and reads the serial log.
//!
//! Environment: `MB_IMAGE` (use this image instead of running
//! `make image`), `MB_ACCEL` (`kvm`, `tcg`, or `all`; default: TCG, see
//! [`accels`]), `MB_QEMU` (QEMU binary).

#![warn(missing_docs)]

pub mod accesses;
pub mod frames;
pub mod perframe;
mod store;

pub use store::StoreHost;

// The repository root, the guest image and scratch directories are the
// host tests'.
use mb_tests_host::built_image;
pub use mb_tests_host::{image, repo, Scratch};

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long any single wait (boot, a frame, a reply) may take before the
/// test fails. A guard against hangs, not a speed assertion: KVM on the
/// project's nested hosts emulates the guest and is slow.
pub const WAIT: Duration = Duration::from_secs(30);

/// A QEMU accelerator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualization through /dev/kvm.
    Kvm,
    /// QEMU's emulator.
    Tcg,
}

impl Accel {
    /// QEMU's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// Whether /dev/kvm can be opened for use.
pub fn kvm_usable() -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// The accelerators to test with: `MB_ACCEL` = `kvm`, `tcg` or `all`
/// (both when /dev/kvm opens). The default is TCG even when /dev/kvm
/// works: on the project's hosts /dev/kvm is a paravirtual nested KVM
/// (`kvm_pvm`) that runs ring-0 guest code about 1000x slower than TCG,
/// which would make every test slow without testing anything more.
pub fn accels() -> Vec<Accel> {
    let kvm = kvm_usable();
    match std::env::var("MB_ACCEL").as_deref() {
        Ok("kvm") if kvm => vec![Accel::Kvm],
        Ok("all") if kvm => vec![Accel::Kvm, Accel::Tcg],
        _ => vec![Accel::Tcg],
    }
}

/// The machine type QEMU emulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    /// `microvm`: PVH boot through qboot, virtio-mmio devices.
    Microvm,
    /// `q35`: SeaBIOS, PCI, virtio-pci devices.
    Q35,
}

/// The image with `click-configs/guest-firewall.click` baked in:
/// `MB_BAKED_IMAGE`, or `images/guest-firewall.elf` after
/// `make image CONFIG=click-configs/guest-firewall.click` (run once per
/// test process).
pub fn baked_image() -> PathBuf {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    built_image(
        &IMAGE,
        "MB_BAKED_IMAGE",
        &["CONFIG=click-configs/guest-firewall.click"],
        "images/guest-firewall.elf",
    )
}

/// What to attach to the guest.
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// Accelerator.
    pub accel: Accel,
    /// Machine type.
    pub machine: Machine,
    /// Number of virtio-net NICs.
    pub nics: usize,
    /// Connect a virtio-console to this store socket (QEMU is the client,
    /// as with `mbctl`'s per-guest sockets).
    pub store: Option<PathBuf>,
    /// Guest RAM (QEMU `-m` syntax).
    pub memory: String,
    /// Kernel command line (`-append`).
    pub cmdline: Option<String>,
    /// The image to boot instead of [`image`].
    pub image: Option<PathBuf>,
    /// Run TCG with `-icount shift=0`: virtual time advances 1 ns per
    /// guest instruction, so the guest's clock counts instructions.
    pub icount: bool,
    /// With `icount`: `shift=N,align=on` instead of `shift=0`, so each
    /// instruction is 2^N ns of guest time and QEMU holds the guest to at
    /// most 10^9 / 2^N instructions per host second (a guest slower than
    /// its host-side traffic sees its rings full).
    pub icount_throttle: Option<u8>,
    /// Tell a TCG guest its TSC rate (`mb.tsc_khz=`, as `mbctl` does)
    /// instead of leaving it to calibrate against the PIT.
    pub tsc_khz: bool,
    /// More QEMU arguments, appended last.
    pub extra: Vec<String>,
    /// More properties for each NIC's `-device` (e.g. `,ioeventfd=off`).
    pub nic_props: String,
    /// Keep a pipe to the guest's serial input ([`Vm::serial_write`])
    /// instead of none.
    pub serial_input: bool,
}

impl VmConfig {
    /// microvm, two NICs, no store, 64 MiB.
    pub fn new(accel: Accel) -> VmConfig {
        VmConfig {
            accel,
            machine: Machine::Microvm,
            nics: 2,
            store: None,
            memory: "64M".into(),
            cmdline: None,
            image: None,
            icount: false,
            icount_throttle: None,
            tsc_khz: true,
            extra: Vec::new(),
            nic_props: String::new(),
            serial_input: false,
        }
    }

    /// The machine options: microvm without legacy devices. The PIT stays
    /// on under TCG only, where the guest calibrates its TSC against it;
    /// under KVM the guest reads the rate from kvmclock.
    pub fn machine(&self) -> String {
        if self.machine == Machine::Q35 {
            return "q35".into();
        }
        let pit = if self.accel == Accel::Tcg {
            "on"
        } else {
            "off"
        };
        format!("microvm,x-option-roms=off,rtc=off,pit={pit},pic=off,isa-serial=on")
    }

    /// `mb.tsc_khz=N` for a TCG guest: the instruction clock's 1 GHz under
    /// `-icount shift=0`, else the host's TSC rate when it has a stable one.
    pub fn tsc_khz_arg(&self) -> Option<String> {
        if !self.tsc_khz || self.accel != Accel::Tcg {
            return None;
        }
        let khz = if self.icount {
            mb_vm::backend::tsc::ICOUNT_SHIFT0_KHZ
        } else {
            mb_vm::backend::tsc::host_khz()?
        };
        Some(format!("mb.tsc_khz={khz}"))
    }

    /// The full QEMU argument list for `image`, with sockets in `dir`.
    pub fn args(&self, image: &Path, dir: &Scratch) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "-M".into(),
            self.machine(),
            "-accel".into(),
            self.accel.name().into(),
            "-nodefaults".into(),
            "-no-user-config".into(),
            "-no-reboot".into(),
            "-display".into(),
            "none".into(),
            "-m".into(),
            self.memory.clone(),
            "-serial".into(),
            "stdio".into(),
            "-device".into(),
            "isa-debug-exit,iobase=0xf4,iosize=0x04".into(),
            "-kernel".into(),
            image.display().to_string(),
        ];
        if self.icount && self.accel == Accel::Tcg {
            a.push("-icount".into());
            a.push(match self.icount_throttle {
                Some(n) => format!("shift={n},align=on"),
                None => "shift=0".into(),
            });
        }
        let append: Vec<String> = self
            .tsc_khz_arg()
            .into_iter()
            .chain(self.cmdline.clone())
            .collect();
        if !append.is_empty() {
            a.push("-append".into());
            a.push(append.join(" "));
        }
        let (net, serial) = match self.machine {
            Machine::Microvm => ("virtio-net-device", "virtio-serial-device"),
            Machine::Q35 => ("virtio-net-pci", "virtio-serial-pci"),
        };
        for i in 0..self.nics {
            let q = dir.join(&format!("q{i}"));
            let t = dir.join(&format!("t{i}"));
            a.push("-netdev".into());
            a.push(format!(
                "dgram,id=n{i},local.type=unix,local.path={},remote.type=unix,remote.path={}",
                q.display(),
                t.display()
            ));
            a.push("-device".into());
            a.push(format!(
                "{net},netdev=n{i},mac={}{}",
                mac(i),
                self.nic_props
            ));
        }
        if let Some(sock) = &self.store {
            a.push("-device".into());
            a.push(serial.into());
            a.push("-chardev".into());
            a.push(format!("socket,id=store,path={}", sock.display()));
            a.push("-device".into());
            a.push("virtconsole,chardev=store".into());
        }
        a.extend(self.extra.iter().cloned());
        a
    }
}

/// The MAC address the harness gives NIC `i`.
pub fn mac(i: usize) -> String {
    format!("52:54:00:12:34:{:02x}", i + 1)
}

/// A running guest.
pub struct Vm {
    child: Child,
    serial_in: Option<std::process::ChildStdin>,
    lines: Receiver<String>,
    /// Serial log lines read so far.
    pub log: Vec<String>,
    /// Test-side socket of each NIC (send to the guest with [`Vm::inject`]).
    pub nic_socks: Vec<UnixDatagram>,
    dir: Scratch,
    /// When QEMU was started.
    pub started: Instant,
}

impl Vm {
    /// Starts QEMU.
    pub fn start(cfg: &VmConfig) -> Vm {
        let dir = Scratch::new("q");
        let mut nic_socks = Vec::new();
        for i in 0..cfg.nics {
            let s = UnixDatagram::bind(dir.join(&format!("t{i}"))).expect("binding NIC socket");
            s.set_read_timeout(Some(WAIT)).expect("socket timeout");
            // A guest that stops receiving makes sends block: fail instead.
            s.set_write_timeout(Some(WAIT)).expect("socket timeout");
            nic_socks.push(s);
        }
        let qemu = std::env::var("MB_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into());
        let img = cfg.image.clone().unwrap_or_else(image);
        let args = cfg.args(&img, &dir);
        eprintln!("accelerator: {}", cfg.accel.name());
        eprintln!("{qemu} {}", args.join(" "));
        let started = Instant::now();
        let mut child = Command::new(&qemu)
            .args(&args)
            .stdin(if cfg.serial_input {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting QEMU");
        let serial_in = child.stdin.take();
        let out = child.stdout.take().expect("QEMU stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Vm {
            child,
            serial_in,
            lines,
            log: Vec::new(),
            nic_socks,
            dir,
            started,
        }
    }

    /// Waits for a serial line containing `needle`; panics with the log so
    /// far if QEMU exits or `WAIT` passes.
    pub fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    eprintln!("guest: {line}");
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {needle:?} within {WAIT:?}; log: {:#?}", self.log)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "QEMU exited ({status:?}) before {needle:?}; log: {:#?}",
                        self.log
                    )
                }
            }
        }
    }

    /// Like [`wait_for`](Self::wait_for), but gives up quietly: `None` if
    /// QEMU exits or `timeout` passes first (for probing, as the
    /// benchmarks do). Lines are not echoed.
    pub fn try_wait_for(&mut self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return Some(line);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Waits for the ready line and returns (boot_us, nics).
    pub fn wait_ready(&mut self) -> (u64, usize) {
        let line = self.wait_for("mb: ready");
        parse_ready(&line).unwrap_or_else(|| panic!("malformed ready line {line:?}"))
    }

    /// Types `bytes` on the guest's serial console (needs
    /// [`VmConfig::serial_input`]).
    pub fn serial_write(&mut self, bytes: &[u8]) {
        use std::io::Write;
        let input = self
            .serial_in
            .as_mut()
            .expect("serial input needs VmConfig::serial_input");
        input
            .write_all(bytes)
            .expect("writing to the guest's serial");
        input.flush().expect("writing to the guest's serial");
    }

    /// Sends a raw Ethernet frame into NIC `nic`.
    pub fn inject(&self, nic: usize, frame: &[u8]) {
        let to = self.dir.join(&format!("q{nic}"));
        self.nic_socks[nic]
            .send_to(frame, to)
            .expect("sending frame to QEMU");
    }

    /// A socket and address for sending into NIC `nic` from another
    /// thread (`send_to` the path).
    pub fn sender(&self, nic: usize) -> (UnixDatagram, PathBuf) {
        let s = self.nic_socks[nic]
            .try_clone()
            .expect("cloning a NIC socket");
        (s, self.dir.join(&format!("q{nic}")))
    }

    /// A handle on NIC `nic`'s capture socket for another thread.
    pub fn receiver(&self, nic: usize) -> UnixDatagram {
        self.nic_socks[nic]
            .try_clone()
            .expect("cloning a NIC socket")
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Receives the next frame the guest sent on NIC `nic`.
    pub fn capture(&self, nic: usize) -> Vec<u8> {
        let mut buf = vec![0u8; 65536];
        let n = self.nic_socks[nic]
            .recv(&mut buf)
            .expect("no frame from the guest");
        buf.truncate(n);
        buf
    }

    /// CPU time (user + system) QEMU has used so far.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("reading /proc stat");
        // Fields after the parenthesised command name; utime and stime are
        // fields 14 and 15 of the whole line.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
        // USER_HZ is 100 on Linux.
        Duration::from_millis(ticks * 10)
    }

    /// The CPU time QEMU uses in 2 s of an idle guest, measured after
    /// 0.5 s for the guest's loop to pass its spin window and halt. A
    /// guest that polled instead of halting would use the whole 2 s.
    pub fn idle_cpu_time(&self) -> Duration {
        std::thread::sleep(Duration::from_millis(500));
        let before = self.cpu_time();
        std::thread::sleep(Duration::from_secs(2));
        let used = self.cpu_time() - before;
        eprintln!("QEMU used {used:?} CPU in 2 s idle");
        used
    }

    /// Waits for QEMU to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // QEMU is gone; its last lines may still be in the reader
                // thread, which ends at end of file.
                while let Ok(line) = self.lines.recv_timeout(WAIT) {
                    self.log.push(line);
                }
                return status.code();
            }
            if Instant::now() > deadline {
                panic!("QEMU did not exit; log: {:#?}", self.log);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses `mb: ready boot_us=N nics=K`.
pub fn parse_ready(line: &str) -> Option<(u64, usize)> {
    let rest = line.split("mb: ready ").nth(1)?;
    let mut boot_us = None;
    let mut nics = None;
    for field in rest.split_whitespace() {
        if let Some(v) = field.strip_prefix("boot_us=") {
            boot_us = v.parse().ok();
        } else if let Some(v) = field.strip_prefix("nics=") {
            nics = v.parse().ok();
        }
    }
    Some((boot_us?, nics?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ready_line() {
        assert_eq!(
            parse_ready("mb: ready boot_us=1234 nics=2"),
            Some((1234, 2))
        );
        assert_eq!(parse_ready("junk mb: ready nics=0 boot_us=7"), Some((7, 0)));
        assert_eq!(parse_ready("mb: ready boot_us=x nics=2"), None);
        assert_eq!(parse_ready("mb: booting"), None);
    }

    #[test]
    fn tcg_keeps_the_pit_and_kvm_drops_it() {
        assert!(VmConfig::new(Accel::Tcg).machine().contains("pit=on"));
        assert!(VmConfig::new(Accel::Kvm).machine().contains("pit=off"));
    }
}

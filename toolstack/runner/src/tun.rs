//! Linux tun/tap devices (`/dev/net/tun`) for KernelTun, KernelTap,
//! FromHost and ToHost: packets between the router and the host's own
//! network stack. Elements naming the same device share one descriptor,
//! so `FromHost(fake0, ...)` and `ToHost(fake0)` are the two directions
//! of one tap.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::Command;
use std::rc::{Rc, Weak};

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` as TUNSETIFF reads it: a name, then the flags.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// An open tun (IP packets) or tap (Ethernet frames) device.
#[derive(Debug)]
pub struct Tun {
    fd: OwnedFd,
    name: String,
    tap: bool,
}

thread_local! {
    static OPEN: RefCell<HashMap<String, Weak<Tun>>> = RefCell::new(HashMap::new());
}

impl Tun {
    /// Opens (creating it) the device `name` (empty: the kernel picks
    /// `tunN`/`tapN`), or returns the one this thread already has open
    /// under that name. Needs root (CAP_NET_ADMIN).
    pub fn open(name: &str, tap: bool) -> io::Result<Rc<Tun>> {
        if let Some(t) = OPEN.with(|o| o.borrow().get(name).and_then(Weak::upgrade)) {
            if t.tap != tap {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{name} is already open as a {}", kind(t.tap)),
                ));
            }
            return Ok(t);
        }
        if name.len() >= libc::IFNAMSIZ {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "device name '{name}' is longer than {} bytes",
                    libc::IFNAMSIZ - 1
                ),
            ));
        }
        // SAFETY: open(2) of a constant NUL-terminated path; checked.
        let raw = unsafe {
            libc::open(
                c"/dev/net/tun".as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("/dev/net/tun: {e}")));
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: if tap { IFF_TAP } else { IFF_TUN } | IFF_NO_PI,
            _pad: [0; 22],
        };
        req.name[..name.len()].copy_from_slice(name.as_bytes());
        // SAFETY: TUNSETIFF reads and writes a live ifreq-shaped struct.
        if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, &mut req as *mut IfReq) } < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("TUNSETIFF {name}: {e}")));
        }
        let len = req
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(req.name.len());
        let t = Rc::new(Tun {
            fd,
            name: String::from_utf8_lossy(&req.name[..len]).into_owned(),
            tap,
        });
        OPEN.with(|o| {
            let mut o = o.borrow_mut();
            o.retain(|_, w| w.strong_count() > 0);
            o.insert(t.name.clone(), Rc::downgrade(&t));
            if !name.is_empty() && name != t.name {
                o.insert(name.to_string(), Rc::downgrade(&t));
            }
        });
        Ok(t)
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Gives the device an address (`ADDR/LEN`), optionally an Ethernet
    /// address (tap only) and MTU, and brings it up; with `gateway`, adds
    /// a default route through it (as Click's KernelTun does).
    pub fn configure(
        &self,
        prefix: &str,
        ether: Option<&str>,
        mtu: Option<u32>,
        gateway: Option<&str>,
    ) -> io::Result<()> {
        let dev = self.name.as_str();
        if let Some(e) = ether.filter(|_| self.tap) {
            ip(&["link", "set", dev, "address", e])?;
        }
        if let Some(m) = mtu {
            ip(&["link", "set", dev, "mtu", &m.to_string()])?;
        }
        ip(&["addr", "replace", prefix, "dev", dev])?;
        ip(&["link", "set", dev, "up"])?;
        if let Some(g) = gateway {
            ip(&["route", "replace", "default", "via", g, "dev", dev])?;
        }
        Ok(())
    }

    /// Brings the device up without an address.
    pub fn up(&self) -> io::Result<()> {
        ip(&["link", "set", &self.name, "up"])
    }

    /// Reads one packet into `buf`; `None` when nothing is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: reads at most buf.len() bytes into a live buffer.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock => Ok(None),
                _ => Err(e),
            };
        }
        Ok(Some(n as usize))
    }

    /// Writes one packet; false if the device's queue is full (or it is
    /// down), so the packet was not taken.
    pub fn send(&self, pkt: &[u8]) -> io::Result<bool> {
        // SAFETY: writes pkt.len() bytes from a live buffer.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), pkt.as_ptr().cast(), pkt.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EIO) => Ok(false),
                _ => Err(e),
            };
        }
        Ok(true)
    }
}

impl AsRawFd for Tun {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn kind(tap: bool) -> &'static str {
    if tap {
        "tap"
    } else {
        "tun"
    }
}

/// Runs `ip ARGS`, turning a failure into an error carrying its message.
fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shared_and_kinds_checked() {
        if unsafe { libc::geteuid() } != 0 || !std::path::Path::new("/dev/net/tun").exists() {
            eprintln!("skipped: needs root and /dev/net/tun");
            return;
        }
        let a = Tun::open("mbtuntest0", true).unwrap();
        let b = Tun::open("mbtuntest0", true).unwrap();
        assert!(Rc::ptr_eq(&a, &b));
        assert!(Tun::open("mbtuntest0", false).is_err());
        assert!(Tun::open("a-name-far-too-long", true).is_err());
        a.configure("192.0.2.1/30", Some("02:00:00:00:00:01"), None, None)
            .unwrap();
        let mut buf = [0u8; 2048];
        // Nothing is addressed to it yet, or only the kernel's own
        // announcements; either way reading does not block.
        let _ = a.recv(&mut buf).unwrap();
        drop((a, b));
        // The last holder closing it removes the device.
        assert!(!std::path::Path::new("/sys/class/net/mbtuntest0").exists());
    }
}

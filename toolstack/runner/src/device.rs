//! Linux packet sockets (AF_PACKET): raw Ethernet frames to and from a
//! network interface, non-blocking, for FromDevice and ToDevice.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `sll_pkttype` of frames this host sent.
const PACKET_OUTGOING: u8 = 4;
/// Socket option that keeps a socket's own sends (and other local
/// sends) out of its receive queue (Linux 4.20+).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// A packet socket bound to one interface.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
    name: String,
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

impl PacketSocket {
    /// Opens a socket on interface `dev`, optionally in promiscuous mode.
    /// With `ignore_outgoing`, frames sent from this host are not received.
    /// `dev` may also be an interface's Ethernet address, as in Click's
    /// Linux driver (`webgen.click` names its device so).
    pub fn open(dev: &str, promisc: bool, ignore_outgoing: bool) -> io::Result<PacketSocket> {
        let cname = CString::new(dev).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: if_nametoindex reads a NUL-terminated string we own.
        let mut ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) } as i32;
        if ifindex == 0 {
            if let Some(name) =
                crate::netdevs::device_by_ether(dev).and_then(|n| CString::new(n).ok())
            {
                // SAFETY: as above.
                ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as i32;
            }
        }
        if ifindex == 0 {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no such network interface '{dev}'"),
            ));
        }
        let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                proto,
            )
        };
        if raw < 0 {
            return Err(last_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_ll is plain data; zero is a valid start.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto as u16;
        sll.sll_ifindex = ifindex;
        // SAFETY: the address points to a live sockaddr_ll of the given size.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(last_error());
        }
        if promisc {
            // SAFETY: packet_mreq is plain data.
            let mut mr: libc::packet_mreq = unsafe { std::mem::zeroed() };
            mr.mr_ifindex = ifindex;
            mr.mr_type = libc::PACKET_MR_PROMISC as u16;
            setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mr)?;
        }
        if ignore_outgoing {
            // Older kernels lack the option; frames are filtered by type
            // in `recv` as well.
            let _ = setsockopt(
                &fd,
                libc::SOL_PACKET,
                PACKET_IGNORE_OUTGOING,
                &1 as &libc::c_int,
            );
        }
        Ok(PacketSocket {
            fd,
            ifindex,
            name: dev.into(),
        })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Receives one frame into `buf`: `Ok(None)` when none is waiting.
    /// Returns the frame's length (possibly more than `buf` holds, when it
    /// was truncated) and whether this host sent it.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        // SAFETY: sockaddr_ll is plain data.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut fromlen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: buf and from are live, writable and of the sizes given.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                &mut from as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                &mut fromlen,
            )
        };
        if n < 0 {
            let e = last_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        Ok(Some((n as usize, from.sll_pkttype == PACKET_OUTGOING)))
    }

    /// Sends one frame: `Ok(false)` when the socket's buffer is full.
    pub fn send(&self, frame: &[u8]) -> io::Result<bool> {
        // SAFETY: sockaddr_ll is plain data.
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_ifindex = self.ifindex;
        to.sll_halen = 6;
        if frame.len() >= 6 {
            to.sll_addr[..6].copy_from_slice(&frame[..6]);
        }
        // SAFETY: frame and the address are live and of the sizes given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                libc::MSG_DONTWAIT,
                &to as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            let e = last_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(false),
                _ => Err(e),
            };
        }
        Ok(true)
    }

    /// Frames the kernel dropped since the last call (PACKET_STATISTICS).
    pub fn drops(&self) -> u64 {
        // SAFETY: tpacket_stats is plain data.
        let mut st: libc::tpacket_stats = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: st is live and writable, len is its size.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                &mut st as *mut libc::tpacket_stats as *mut libc::c_void,
                &mut len,
            )
        };
        if r < 0 {
            0
        } else {
            st.tp_drops as u64
        }
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: v points to a live T of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            v as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_interface_is_a_clear_error() {
        let e = PacketSocket::open("nosuchdev0", false, true).unwrap_err();
        assert!(e.to_string().contains("nosuchdev0"), "{e}");
    }
}

//! Host-only elements: pcap files (FromDump, ToDump), Linux interfaces
//! (FromDevice/PollDevice, ToDevice) and the host's own stack through
//! tun/tap devices (KernelTun, KernelTap, FromHost, ToHost,
//! ToHostSniffers), and ControlSocket for Click's tools. Same file format
//! as the engine's elements.

use std::os::fd::{AsRawFd, RawFd};

use click::element::{Element, ElementClass};

pub mod controlsocket;
pub mod fromdevice;
pub mod fromdump;
pub mod fromhost;
pub mod kerneltun;
pub mod todevice;
pub mod todump;
pub mod tohost;

/// The host classes.
pub static CLASSES: &[&ElementClass] = &[
    &fromdump::CLASS,
    &todump::CLASS,
    &fromdevice::CLASS,
    &fromdevice::POLL,
    &todevice::CLASS,
    &kerneltun::CLASS,
    &kerneltun::TAP,
    &fromhost::CLASS,
    &tohost::CLASS,
    &tohost::SNIFFERS,
    &controlsocket::CLASS,
];

/// What the driver must wait for on behalf of `e`, if it is a device
/// element: a descriptor and poll(2) events.
pub fn poll_interest(e: &dyn Element) -> Option<(RawFd, i16)> {
    if let Some(d) = e.downcast_ref::<fromdevice::FromDevice>() {
        return d.socket().map(|s| (s.as_raw_fd(), libc::POLLIN));
    }
    if let Some(d) = e.downcast_ref::<kerneltun::KernelTun>() {
        return d.device().map(|t| (t.as_raw_fd(), libc::POLLIN));
    }
    if let Some(d) = e.downcast_ref::<fromhost::FromHost>() {
        return d.device().map(|t| (t.as_raw_fd(), libc::POLLIN));
    }
    if let Some(d) = e.downcast_ref::<todevice::ToDevice>() {
        if d.blocked() {
            return d.socket().map(|s| (s.as_raw_fd(), libc::POLLOUT));
        }
    }
    None
}

/// True for classes whose elements wait on descriptors.
pub fn is_device_class(name: &str) -> bool {
    matches!(
        name,
        "FromDevice" | "PollDevice" | "ToDevice" | "KernelTun" | "KernelTap" | "FromHost"
    )
}

//! What the device elements of every host share (the guest's FromDevice
//! and ToDevice, the runner's FromDevice and ToDevice): the frame and drop
//! counters behind Click's `count`, `drops` and `reset_counts` handlers,
//! and for a host packet socket `kernel_drops` and `encap`. The elements
//! themselves live with the host that owns the devices.

use alloc::string::{String, ToString};

use crate::element::HandlerDecl;

/// Frames passed and dropped by one device element.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceCounts {
    /// Frames passed (received into the graph, or handed to the device).
    pub count: u64,
    /// Frames dropped.
    pub drops: u64,
    /// Frames the kernel dropped before the element saw them (a host
    /// packet socket's queue overflowing).
    pub kernel_drops: u64,
}

const COUNT: HandlerDecl = HandlerDecl::read("count");
const DROPS: HandlerDecl = HandlerDecl::read("drops");
const RESET_COUNTS: HandlerDecl = HandlerDecl::write("reset_counts");

impl DeviceCounts {
    /// The handlers the counters answer, in Click's order.
    pub const HANDLERS: &'static [HandlerDecl] = &[COUNT, DROPS, RESET_COUNTS];

    /// [`DeviceCounts::HANDLERS`] and, for a device on a host packet
    /// socket, `kernel_drops` and `encap` (always `ETHER`).
    pub const SOCKET_HANDLERS: &'static [HandlerDecl] = &[
        COUNT,
        DROPS,
        RESET_COUNTS,
        HandlerDecl::read("kernel_drops"),
        HandlerDecl::read("encap"),
    ];

    /// Reads `count`, `drops`, `kernel_drops` or `encap` (empty for any
    /// other name).
    pub fn read(&self, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "drops" => self.drops.to_string(),
            "kernel_drops" => self.kernel_drops.to_string(),
            "encap" => "ETHER".into(),
            _ => String::new(),
        }
    }

    /// `reset_counts`: all back to zero.
    pub fn reset(&mut self) {
        *self = DeviceCounts::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_resets() {
        let mut c = DeviceCounts {
            count: 7,
            drops: 2,
            kernel_drops: 3,
        };
        assert_eq!((c.read("count"), c.read("drops")), ("7".into(), "2".into()));
        assert_eq!(
            (c.read("kernel_drops"), c.read("encap")),
            ("3".into(), "ETHER".into())
        );
        c.reset();
        assert_eq!(c, DeviceCounts::default());
        assert_eq!(c.read("other"), "");
    }
}

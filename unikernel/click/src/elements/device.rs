//! What the device elements of every host share (the guest's FromDevice
//! and ToDevice, the runner's ToDevice): the frame and drop counters
//! behind Click's `count`, `drops` and `reset_counts` handlers. The
//! elements themselves live with the host that owns the devices.

use alloc::string::{String, ToString};

use crate::element::HandlerDecl;

/// Frames passed and dropped by one device element.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceCounts {
    /// Frames passed (received into the graph, or handed to the device).
    pub count: u64,
    /// Frames dropped.
    pub drops: u64,
}

impl DeviceCounts {
    /// The handlers the counters answer, in Click's order.
    pub const HANDLERS: &'static [HandlerDecl] = &[
        HandlerDecl::read("count"),
        HandlerDecl::read("drops"),
        HandlerDecl::write("reset_counts"),
    ];

    /// Reads `count` or `drops` (empty for any other name).
    pub fn read(&self, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "drops" => self.drops.to_string(),
            _ => String::new(),
        }
    }

    /// `reset_counts`: both back to zero.
    pub fn reset(&mut self) {
        *self = DeviceCounts::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_resets() {
        let mut c = DeviceCounts { count: 7, drops: 2 };
        assert_eq!((c.read("count"), c.read("drops")), ("7".into(), "2".into()));
        c.reset();
        assert_eq!(c, DeviceCounts::default());
        assert_eq!(c.read("other"), "");
    }
}

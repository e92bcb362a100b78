//! What the engine needs from the kernel: a clock and a place for output.

use click::host::Host;
use click::time::{Clock, Timestamp};

use crate::time;

/// The kernel's TSC clock. The guest has no wall clock (no RTC), so
/// timestamps count from the PVH entry: `Timestamp(ns since boot)`.
pub struct KernelClock;

impl Clock for KernelClock {
    fn now(&self) -> Timestamp {
        Timestamp(time::now_ns() as i64)
    }
}

/// Converts an engine deadline into the main loop's (ns since boot).
pub fn deadline_ns(t: Timestamp) -> u64 {
    t.nanos().max(0) as u64
}

/// Element output (`Print`, `DriverManager`'s `print`, errors) goes to the
/// serial console; there are no files in the guest, so output meant for a
/// file is printed with the file's name in front.
pub struct ConsoleHost;

impl Host for ConsoleHost {
    fn output(
        &self,
        file: Option<&str>,
        _append: bool,
        text: &str,
    ) -> Result<(), alloc::string::String> {
        if let Some(f) = file {
            crate::kprint!("{f}: ");
        }
        crate::kprint!("{text}");
        Ok(())
    }

    fn log(&self, msg: &str) {
        crate::kprintln!("click: {msg}");
    }
}

//! The kernel log: COM1 (16550) when present, else port 0xE9 (Xen's debug
//! port, shown by `xl dmesg`). Writes go straight to the ports without a
//! lock: there is one CPU and interrupt handlers never print (a panic in
//! one may interleave with a half-written line, which is fine).

pub mod debugcon;
pub mod serial;

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

const SINK_NONE: u8 = 0;
const SINK_SERIAL: u8 = 1;
const SINK_E9: u8 = 2;

static SINK: AtomicU8 = AtomicU8::new(SINK_NONE);

/// Chooses the log sink: serial if a UART answers, else port 0xE9.
pub fn init() {
    if serial::COM1.init() {
        SINK.store(SINK_SERIAL, Ordering::Relaxed);
    } else {
        SINK.store(SINK_E9, Ordering::Relaxed);
    }
}

/// Name of the active sink.
pub fn sink_name() -> &'static str {
    match SINK.load(Ordering::Relaxed) {
        SINK_SERIAL => "com1",
        SINK_E9 => "port-e9",
        _ => "none",
    }
}

/// Writes raw bytes to the log sink (and Xen's console ring once found).
pub fn write_bytes(bytes: &[u8]) {
    match SINK.load(Ordering::Relaxed) {
        SINK_SERIAL => serial::COM1.write(bytes),
        SINK_E9 => debugcon::write(bytes),
        _ => {}
    }
    crate::xen::console::write(bytes);
}

/// `fmt::Write` adapter for the log sink.
pub struct Log;

impl fmt::Write for Log {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Prints to the kernel log.
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::console::Log, $($arg)*);
    }};
}

/// Prints a line to the kernel log.
#[macro_export]
macro_rules! kprintln {
    () => { $crate::kprint!("\n") };
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::console::Log, $($arg)*);
    }};
}

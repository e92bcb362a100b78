//! TSC calibration against the i8254 PIT (1.193182 MHz), channel 0 in
//! mode 0 read through latch commands. Channel 2 would need the port-0x61
//! gate, which microvm under TCG does not emulate. The IRQ 0 line this
//! raises stays masked at the IOAPIC.
//!
//! Both ends of the window are taken right after the counter changes, so
//! the time one latch-and-read takes (which under TCG includes translating
//! the loop the first time) does not skew the result.

use super::Scale;
use crate::arch::x86_64::cpu::rdtsc;
use crate::arch::x86_64::port::{inb, outb};

const PIT_HZ: u64 = 1_193_182;
/// 2 ms window: about 2400 PIT ticks.
const WINDOW_TICKS: u16 = 2386;
const START: u16 = 0xf000;

fn read_counter() -> u16 {
    // SAFETY: ports 0x40/0x43 belong to the PIT, which nobody else drives.
    unsafe {
        outb(0x43, 0x00); // latch channel 0
        let lo = inb(0x40);
        let hi = inb(0x40);
        u16::from_le_bytes([lo, hi])
    }
}

/// Spins until the counter moves off `from`; returns the new value and
/// the TSC right after, or `None` if it goes backwards (no PIT / wrapped).
fn next_edge(from: u16) -> Option<(u16, u64)> {
    loop {
        let c = read_counter();
        if c != from {
            let t = rdtsc();
            return (c < from).then_some((c, t));
        }
    }
}

/// Stops the PIT's periodic tick. QEMU resets channel 0 to mode 3 (square
/// wave, 18.2 Hz); with IRQ 0 masked the guest never sees it, but the
/// emulator still wakes up for every edge, which is all an idle middlebox
/// would cost the host. Mode 0 with a count of 1 reaches its terminal
/// count at once and then has no further edges to schedule. Harmless when
/// there is no PIT: the writes go nowhere.
pub fn quiesce() {
    // SAFETY: ports 0x40/0x43 belong to the PIT, which nobody else drives.
    unsafe {
        outb(0x43, 0x30);
        outb(0x40, 1);
        outb(0x40, 0);
    }
}

/// Attempts before giving up: a host that deschedules the vCPU for longer
/// than the counter's 51 ms period (a loaded machine under TCG) makes the
/// counter wrap mid-measurement, which spoils that attempt only.
const ATTEMPTS: usize = 5;

/// Measures the TSC rate; `None` when no PIT answers.
pub fn calibrate() -> Option<Scale> {
    (0..ATTEMPTS).find_map(|_| calibrate_once())
}

/// One measurement; `None` when no PIT answers or the counter wrapped.
fn calibrate_once() -> Option<Scale> {
    // SAFETY: as above; mode 0 (interrupt on terminal count), lo/hi byte.
    unsafe {
        outb(0x43, 0x30);
        outb(0x40, START as u8);
        outb(0x40, (START >> 8) as u8);
    }
    // Without a PIT the port reads float to 0xffff.
    let first = read_counter();
    if first > START {
        return None;
    }
    let (c0, t0) = next_edge(first)?;
    let mut c = c0;
    while c0 - c < WINDOW_TICKS {
        c = read_counter();
        if c > c0 {
            return None;
        }
    }
    let (c1, t1) = next_edge(c)?;
    let ticks = u64::from(c0 - c1);
    let hz = u128::from(t1 - t0) * u128::from(PIT_HZ) / u128::from(ticks);
    Some(Scale::from_khz((hz / 1000) as u64))
}

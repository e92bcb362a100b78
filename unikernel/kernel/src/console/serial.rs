//! A 16550 UART driven by port I/O.
//!
//! Under KVM every port access is a VM exit, so output fills the 16-byte
//! FIFO after one line-status check instead of polling before each byte,
//! and fills it with one `rep outsb` (one exit for up to 16 bytes).

use core::sync::atomic::{AtomicU8, Ordering};

use crate::arch::x86_64::port::{inb, outb, outsb};

const THR: u16 = 0; // transmit (write) / receive (read)
const IER: u16 = 1;
const FCR: u16 = 2;
const LCR: u16 = 3;
const MCR: u16 = 4;
const LSR: u16 = 5;
const SCR: u16 = 7;

const LSR_DATA_READY: u8 = 1;
const LSR_THR_EMPTY: u8 = 1 << 5;
const FIFO: u8 = 16;

/// A 16550 at an I/O base.
pub struct Serial {
    base: u16,
    /// Bytes that still fit in the transmit FIFO since it was last seen empty.
    room: AtomicU8,
}

/// The first serial port (ISA IRQ 4).
pub static COM1: Serial = Serial {
    base: 0x3f8,
    room: AtomicU8::new(0),
};

/// ISA IRQ (= GSI on microvm) of COM1.
pub const COM1_GSI: u32 = 4;

impl Serial {
    /// Probes and programs 115200 8N1 with FIFOs; false if absent.
    pub fn init(&self) -> bool {
        // SAFETY: the ports belong to this UART; probing the scratch
        // register is harmless if nothing is there.
        unsafe {
            outb(self.base + SCR, 0x5a);
            if inb(self.base + SCR) != 0x5a {
                return false;
            }
            outb(self.base + IER, 0);
            outb(self.base + LCR, 0x80); // divisor latch
            outb(self.base + THR, 1); // 115200 baud
            outb(self.base + IER, 0);
            outb(self.base + LCR, 0x03); // 8N1
            outb(self.base + FCR, 0xc7); // enable + clear FIFOs
            outb(self.base + MCR, 0x0b); // DTR, RTS, OUT2 (IRQ gate)
        }
        true
    }

    /// Writes bytes, waiting for FIFO space as needed.
    pub fn write(&self, bytes: &[u8]) {
        let mut room = self.room.load(Ordering::Relaxed);
        let mut rest = bytes;
        while !rest.is_empty() {
            if room == 0 {
                // SAFETY: reading LSR has no side effects beyond error bits.
                while unsafe { inb(self.base + LSR) } & LSR_THR_EMPTY == 0 {
                    core::hint::spin_loop();
                }
                room = FIFO;
            }
            let (now, later) = rest.split_at(rest.len().min(usize::from(room)));
            // SAFETY: THR writes of as many bytes as the FIFO has room for.
            unsafe { outsb(self.base + THR, now) };
            room -= now.len() as u8;
            rest = later;
        }
        self.room.store(room, Ordering::Relaxed);
    }

    /// Reads one received byte, if any.
    pub fn read(&self) -> Option<u8> {
        // SAFETY: LSR/RBR reads; RBR pops the receive FIFO, which we own.
        unsafe { (inb(self.base + LSR) & LSR_DATA_READY != 0).then(|| inb(self.base + THR)) }
    }

    /// Enables the "received data available" interrupt.
    pub fn enable_rx_interrupt(&self) {
        // SAFETY: IER write on our UART.
        unsafe { outb(self.base + IER, 1) };
    }
}

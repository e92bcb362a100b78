//! virtio-net over `virtio-drivers`' `VirtIONetRaw`, with buffer ownership
//! kept here so frames move to the router and back without copies.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::SomeTransport;
use virtio_drivers::Error;

use super::hal::KernelHal;
use super::transport::NoEventIdx;
use crate::mainloop::Wakeup;
use crate::net::frame::{BUF_SIZE, HEADROOM};
use crate::net::{Frame, Nic};

/// Ring size (QEMU's virtio-net default and maximum for legacy MMIO).
const QUEUE: usize = 256;
/// Spare buffers kept for refills instead of going back to the heap.
const POOL_MAX: usize = 2 * QUEUE;
/// Receive buffers posted at boot. Each costs a 2 KiB allocation and
/// zeroing, slow in the nested emulators of this project's hosts (a full
/// ring took ~0.4 s per NIC under `kvm_pvm`), so the rest are posted
/// [`TOP_UP`] at a time when the loop is idle.
const BOOT_FILL: usize = 64;
/// Buffers posted per idle moment until the ring is full.
const TOP_UP: usize = 32;

type Raw = VirtIONetRaw<KernelHal, NoEventIdx<SomeTransport<'static>>, QUEUE>;

/// A send buffer and the window of it posted to the device.
struct InFlight {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// One virtio-net device.
pub struct VirtioNet {
    dev: Raw,
    /// virtio-net header length (10 legacy, 12 modern).
    hdr: usize,
    /// Receive buffers posted to the device, by descriptor token.
    rx: Vec<Option<Box<[u8]>>>,
    /// Send buffers in flight, by descriptor token.
    tx: Vec<Option<InFlight>>,
    tx_in_flight: usize,
    pool: Vec<Box<[u8]>>,
    /// Frames dropped in the driver (no memory for a replacement buffer,
    /// malformed completions) since the router last asked.
    drops: u64,
    /// Receive buffers in the ring.
    posted: usize,
}

/// Why a device could not be brought up.
#[derive(Debug)]
pub struct InitError(pub &'static str);

impl VirtioNet {
    /// Initializes the device behind `transport` (MMIO or PCI) and fills
    /// its receive ring.
    pub fn new(transport: SomeTransport<'static>) -> Result<VirtioNet, InitError> {
        let dev =
            Raw::new(NoEventIdx(transport)).map_err(|_| InitError("virtio-net init failed"))?;
        let mut probe = [0u8; 16];
        let hdr = dev
            .fill_buffer_header(&mut probe)
            .map_err(|_| InitError("virtio-net header"))?;
        if hdr > HEADROOM {
            return Err(InitError("virtio-net header larger than the headroom"));
        }
        let mut nic = VirtioNet {
            dev,
            hdr,
            rx: (0..QUEUE).map(|_| None).collect(),
            tx: (0..QUEUE).map(|_| None).collect(),
            tx_in_flight: 0,
            pool: Vec::with_capacity(POOL_MAX),
            drops: 0,
            posted: 0,
        };
        nic.dev.disable_interrupts();
        nic.top_up(BOOT_FILL);
        Ok(nic)
    }

    /// Posts up to `max` more receive buffers, with one kick; true if the
    /// ring is still not full.
    fn top_up(&mut self, max: usize) -> bool {
        let n = max.min(QUEUE - self.posted);
        if n == 0 {
            return false;
        }
        // One kick for the lot: only the last post notifies.
        super::transport::defer_notify(true);
        let mut ok = true;
        for _ in 1..n {
            if !self.post_rx() {
                ok = false;
                break;
            }
        }
        super::transport::defer_notify(false);
        ok = ok && self.post_rx();
        ok && self.posted < QUEUE
    }

    fn buffer(&mut self) -> Box<[u8]> {
        self.pool
            .pop()
            .unwrap_or_else(|| vec![0u8; BUF_SIZE].into_boxed_slice())
    }

    /// A receive buffer, or `None` when the heap is exhausted (the caller
    /// then drops a frame instead of the guest panicking).
    fn try_buffer(&mut self) -> Option<Box<[u8]>> {
        if let Some(b) = self.pool.pop() {
            return Some(b);
        }
        let mut v = Vec::new();
        v.try_reserve_exact(BUF_SIZE).ok()?;
        v.resize(BUF_SIZE, 0);
        Some(v.into_boxed_slice())
    }

    fn recycle(&mut self, buf: Box<[u8]>) {
        if buf.len() == BUF_SIZE && self.pool.len() < POOL_MAX {
            self.pool.push(buf);
        }
    }

    /// Posts a fresh receive buffer; false when the ring is full or the
    /// heap is exhausted.
    fn post_rx(&mut self) -> bool {
        match self.try_buffer() {
            Some(buf) => self.post(buf),
            None => false,
        }
    }

    /// Posts `buf` as a receive buffer; false when the ring is full.
    fn post(&mut self, mut buf: Box<[u8]>) -> bool {
        let start = HEADROOM - self.hdr;
        // SAFETY: the buffer is parked in `self.rx` untouched until the
        // device returns its token.
        match unsafe { self.dev.receive_begin(&mut buf[start..]) } {
            Ok(token) => {
                if let Some(slot) = self.rx.get_mut(usize::from(token)) {
                    *slot = Some(buf);
                    self.posted += 1;
                    true
                } else {
                    false
                }
            }
            Err(_) => {
                self.recycle(buf);
                false
            }
        }
    }

    /// Returns finished send buffers to the pool.
    fn reclaim(&mut self) {
        while let Some(token) = self.dev.poll_transmit() {
            let Some(InFlight { buf, start, end }) =
                self.tx.get_mut(usize::from(token)).and_then(Option::take)
            else {
                break;
            };
            // SAFETY: the same window that `transmit_begin` got for this token.
            let _ = unsafe { self.dev.transmit_complete(token, &buf[start..end]) };
            self.tx_in_flight -= 1;
            self.recycle(buf);
        }
    }
}

impl Nic for VirtioNet {
    fn mac(&self) -> [u8; 6] {
        self.dev.mac_address()
    }

    fn recv(&mut self, out: &mut Vec<Frame>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(token) = self.dev.poll_receive() else {
                break;
            };
            let Some(mut buf) = self.rx.get_mut(usize::from(token)).and_then(Option::take) else {
                break;
            };
            self.posted -= 1;
            let start = HEADROOM - self.hdr;
            // SAFETY: the same buffer window `receive_begin` got for this token.
            let done = unsafe { self.dev.receive_complete(token, &mut buf[start..]) };
            let Ok((_, len)) = done else {
                // A malformed completion: the buffer goes back to the ring.
                self.drops += 1;
                self.post(buf);
                continue;
            };
            // The frame keeps its buffer only if a replacement can be
            // posted; out of memory, the frame is dropped and its buffer
            // reused, so the ring never runs dry.
            match self.try_buffer() {
                Some(fresh) => {
                    self.post(fresh);
                    if let Some(frame) = Frame::from_parts(buf, HEADROOM, len) {
                        out.push(frame);
                        n += 1;
                    } else {
                        self.drops += 1;
                    }
                }
                None => {
                    self.drops += 1;
                    self.post(buf);
                }
            }
        }
        n
    }

    fn take_drops(&mut self) -> u64 {
        core::mem::take(&mut self.drops)
    }

    fn send(&mut self, frame: Frame) -> Result<(), Frame> {
        self.reclaim();
        let (mut buf, head, len) = if frame.headroom() >= self.hdr {
            frame.into_parts()
        } else {
            let mut buf = self.buffer();
            if HEADROOM + frame.len() > buf.len() {
                buf = vec![0u8; HEADROOM + frame.len()].into_boxed_slice();
            }
            buf[HEADROOM..HEADROOM + frame.len()].copy_from_slice(frame.data());
            (buf, HEADROOM, frame.len())
        };
        let start = head - self.hdr;
        let _ = self.dev.fill_buffer_header(&mut buf[start..head]);
        // SAFETY: the buffer is parked in `self.tx` until its token completes.
        match unsafe { self.dev.transmit_begin(&buf[start..head + len]) } {
            Ok(token) => {
                if let Some(slot) = self.tx.get_mut(usize::from(token)) {
                    *slot = Some(InFlight {
                        buf,
                        start,
                        end: head + len,
                    });
                    self.tx_in_flight += 1;
                }
                Ok(())
            }
            Err(Error::QueueFull) | Err(_) => {
                Err(Frame::from_parts(buf, head, len).unwrap_or_else(|| Frame::from_slice(&[])))
            }
        }
    }

    fn tx_room(&mut self) -> usize {
        self.reclaim();
        QUEUE - self.tx_in_flight
    }
}

impl Wakeup for VirtioNet {
    fn arm(&mut self) -> bool {
        // Idle: a good moment to fill the rest of the receive ring. Report
        // work so the loop polls (and handles store input) in between.
        if self.top_up(TOP_UP) {
            return true;
        }
        self.dev.enable_interrupts();
        // Clearing the status drops the line, so the next completion is a
        // fresh edge; a completion that raced in shows in the used ring.
        self.dev.ack_interrupt();
        self.dev.poll_receive().is_some()
    }

    fn disarm(&mut self) {
        self.dev.disable_interrupts();
    }
}

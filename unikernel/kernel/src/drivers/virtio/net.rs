//! virtio-net over `virtio-drivers`' `VirtIONetRaw`, with buffer ownership
//! kept here so frames move to the router and back without copies.

use alloc::vec::Vec;

use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::SomeTransport;
use virtio_drivers::Error;

use super::hal::KernelHal;
use super::transport::NoEventIdx;
use crate::mainloop::Wakeup;
use crate::net::frame::{HEADROOM, POOL};
use crate::net::{Frame, Nic};

/// Ring size (QEMU's virtio-net default and maximum for legacy MMIO).
const QUEUE: usize = 256;
/// Receive buffers posted at boot. Each costs a 2 KiB allocation and
/// zeroing, slow in the nested emulators of this project's hosts (a full
/// ring took ~0.4 s per NIC under `kvm_pvm`), so the rest are posted
/// [`TOP_UP`] at a time when the loop is idle.
const BOOT_FILL: usize = 64;
/// Buffers posted per idle moment until the ring is full.
const TOP_UP: usize = 32;

type Raw = VirtIONetRaw<KernelHal, NoEventIdx<SomeTransport<'static>>, QUEUE>;

/// A frame being sent and the window of its buffer posted to the device.
struct InFlight {
    frame: Frame,
    start: usize,
    end: usize,
}

/// One virtio-net device.
pub struct VirtioNet {
    dev: Raw,
    /// virtio-net header length (10 legacy, 12 modern).
    hdr: usize,
    /// Frames posted to the device to receive into, by descriptor token.
    rx: Vec<Option<Frame>>,
    /// Frames being sent, by descriptor token.
    tx: Vec<Option<InFlight>>,
    tx_in_flight: usize,
    /// Frames dropped in the driver (no memory for a replacement buffer,
    /// malformed completions) since the router last asked.
    drops: u64,
    /// Receive buffers in the ring.
    posted: usize,
    /// Frames to post to the receive ring at the end of a `recv` (one
    /// notification for the lot; capacity for a full ring, never grows).
    reposts: Vec<Frame>,
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
            drops: 0,
            posted: 0,
            reposts: Vec::with_capacity(QUEUE),
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

    /// Posts a frame from the shared pool to receive into; false when the
    /// ring is full or the heap is exhausted.
    fn post_rx(&mut self) -> bool {
        match POOL.take() {
            Some(frame) => self.post(frame),
            None => false,
        }
    }

    /// Posts the frames in `self.reposts` to receive into, with one kick.
    fn post_reposts(&mut self) {
        let mut frames = core::mem::take(&mut self.reposts);
        let n = frames.len();
        for (i, frame) in frames.drain(..).enumerate() {
            super::transport::defer_notify(i + 1 < n);
            self.post(frame);
        }
        super::transport::defer_notify(false);
        self.reposts = frames;
    }

    /// Posts `frame`'s buffer to receive into; false when the ring is full.
    fn post(&mut self, mut frame: Frame) -> bool {
        let start = HEADROOM - self.hdr;
        // SAFETY: the frame is parked in `self.rx` untouched until the
        // device returns its token (moving it moves the header, not the
        // buffer).
        match unsafe { self.dev.receive_begin(&mut frame.buffer_mut()[start..]) } {
            Ok(token) => {
                if let Some(slot) = self.rx.get_mut(usize::from(token)) {
                    *slot = Some(frame);
                    self.posted += 1;
                    true
                } else {
                    false
                }
            }
            Err(_) => {
                POOL.give(frame);
                false
            }
        }
    }

    /// Returns sent frames to the shared pool.
    fn reclaim(&mut self) {
        while let Some(token) = self.dev.poll_transmit() {
            let Some(InFlight { frame, start, end }) =
                self.tx.get_mut(usize::from(token)).and_then(Option::take)
            else {
                break;
            };
            // SAFETY: the same window that `transmit_begin` got for this token.
            let _ = unsafe {
                self.dev
                    .transmit_complete(token, &frame.buffer()[start..end])
            };
            self.tx_in_flight -= 1;
            POOL.give(frame);
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
            let Some(mut frame) = self.rx.get_mut(usize::from(token)).and_then(Option::take) else {
                break;
            };
            self.posted -= 1;
            let start = HEADROOM - self.hdr;
            // SAFETY: the same buffer window `receive_begin` got for this token.
            let done = unsafe {
                self.dev
                    .receive_complete(token, &mut frame.buffer_mut()[start..])
            };
            let Ok((_, len)) = done else {
                // A malformed completion: the buffer goes back to the ring.
                self.drops += 1;
                self.reposts.push(frame);
                continue;
            };
            // The frame goes up only if a replacement can be posted; out
            // of memory, it is dropped and its buffer reused, so the ring
            // never runs dry.
            match POOL.take() {
                Some(fresh) => {
                    self.reposts.push(fresh);
                    if frame.set_window(HEADROOM, len) {
                        out.push(frame);
                        n += 1;
                    } else {
                        self.drops += 1;
                        POOL.give(frame);
                    }
                }
                None => {
                    self.drops += 1;
                    self.reposts.push(frame);
                }
            }
        }
        if !self.reposts.is_empty() {
            self.post_reposts();
        }
        n
    }

    fn take_drops(&mut self) -> u64 {
        core::mem::take(&mut self.drops)
    }

    fn send(&mut self, frame: Frame) -> Result<(), Frame> {
        self.send_deferred(frame, true)
    }

    fn send_deferred(&mut self, frame: Frame, last: bool) -> Result<(), Frame> {
        if self.tx_in_flight == QUEUE {
            self.reclaim();
        }
        // The virtio-net header goes in front of the data: a frame without
        // room for it (rare: the engine keeps headroom) is copied.
        let mut frame = if frame.headroom() >= self.hdr {
            frame
        } else {
            let len = frame.len();
            let copy = POOL
                .take()
                .filter(|c| c.buffer().len() >= HEADROOM + len)
                .or_else(|| click::Packet::try_with_room(HEADROOM, len, 0).map(Frame::from_packet));
            let Some(mut copy) = copy.filter(|c| c.buffer().len() >= HEADROOM + len) else {
                // No memory for a copy: the frame is lost, not the guest.
                self.drops += 1;
                return Ok(());
            };
            copy.set_window(HEADROOM, len);
            copy.data_mut().copy_from_slice(frame.data());
            copy
        };
        let (head, len) = (frame.headroom(), frame.len());
        let start = head - self.hdr;
        let _ = self
            .dev
            .fill_buffer_header(&mut frame.buffer_mut()[start..head]);
        super::transport::defer_notify(!last);
        // SAFETY: the frame is parked in `self.tx` until its token completes.
        let begun = unsafe { self.dev.transmit_begin(&frame.buffer()[start..head + len]) };
        super::transport::defer_notify(false);
        match begun {
            Ok(token) => {
                if let Some(slot) = self.tx.get_mut(usize::from(token)) {
                    *slot = Some(InFlight {
                        frame,
                        start,
                        end: head + len,
                    });
                    self.tx_in_flight += 1;
                }
                Ok(())
            }
            Err(Error::QueueFull) | Err(_) => Err(frame),
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

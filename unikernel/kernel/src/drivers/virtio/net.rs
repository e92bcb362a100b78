//! virtio-net over either transport, with its own rings ([`Ring`]):
//! receive descriptor *i* always carries the buffer parked in slot *i*,
//! so a received frame goes up as it is (the device's buffer becomes the
//! engine's packet) and a spare from the shared pool takes its slot; a
//! burst of receives or sends is published with one index store and at
//! most one notification, only when the device asked for one; the device
//! interrupts only for received frames, and only while the guest sleeps.

use alloc::vec::Vec;

use virtio_drivers::transport::{DeviceStatus, SomeTransport, Transport};

use super::pci::Doorbell;
use super::ring::{Ring, SIZE};
use crate::arch::x86_64::idt;
use crate::mainloop::Wakeup;
use crate::net::frame::{BUF_SIZE, HEADROOM, POOL};
use crate::net::{Frame, Nic};

const QUEUE_RX: u16 = 0;
const QUEUE_TX: u16 = 1;

const F_MAC: u64 = 1 << 5;
const F_STATUS: u64 = 1 << 16;
const F_VERSION_1: u64 = 1 << 32;

/// Receive buffers posted at boot. Each costs a 2 KiB allocation and
/// zeroing, slow in the nested emulators of this project's hosts (a full
/// ring took ~0.4 s per NIC under `kvm_pvm`), so the rest are posted
/// [`TOP_UP`] at a time when the loop is idle.
const BOOT_FILL: usize = 64;
/// Buffers posted per idle moment until the ring is full.
const TOP_UP: usize = 32;

/// One virtio-net device.
pub struct VirtioNet {
    transport: SomeTransport<'static>,
    mac: [u8; 6],
    /// virtio-net header length (10 legacy, 12 modern).
    hdr: usize,
    rx: Ring,
    tx: Ring,
    /// The frame each receive descriptor fills, by descriptor id.
    rx_slots: Vec<Option<Frame>>,
    /// Receive descriptors without a buffer (the ring is filled lazily).
    rx_empty: Vec<u16>,
    /// The frame each send descriptor carries, by descriptor id.
    tx_slots: Vec<Option<Frame>>,
    /// Send descriptors free to use.
    tx_free: Vec<u16>,
    /// Frames dropped in the driver (no memory for a replacement buffer,
    /// malformed completions) since the router last asked.
    drops: u64,
    /// The interrupt vector, if routed, and its count when last acknowledged.
    irq: Option<(u8, u64)>,
    /// The receive and send queues' doorbell addresses (PCI), written
    /// directly instead of through the transport.
    doorbells: Option<[usize; 2]>,
}

/// Why a device could not be brought up.
#[derive(Debug)]
pub struct InitError(pub &'static str);

impl VirtioNet {
    /// Initializes the device behind `transport` (MMIO or PCI), which
    /// interrupts on `vector` if it has one and rings `doorbell` if known,
    /// and posts its first receive buffers.
    pub fn new(
        mut t: SomeTransport<'static>,
        vector: Option<u8>,
        doorbell: Option<Doorbell>,
    ) -> Result<VirtioNet, InitError> {
        // Feature negotiation (virtio 1.2, 3.1.1): no offloads, no event
        // indices, no indirect descriptors.
        t.set_status(DeviceStatus::empty());
        t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
        let offered = t.read_device_features();
        let features = offered & (F_MAC | F_STATUS | F_VERSION_1);
        t.write_driver_features(features);
        t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER | DeviceStatus::FEATURES_OK);
        t.set_guest_page_size(virtio_drivers::PAGE_SIZE as u32);
        let mac = t
            .read_config_space::<[u8; 6]>(0)
            .map_err(|_| InitError("virtio-net MAC"))?;
        let rx = Ring::new(&mut t, QUEUE_RX).map_err(|e| InitError(e.0))?;
        let tx = Ring::new(&mut t, QUEUE_TX).map_err(|e| InitError(e.0))?;
        let doorbells = doorbell.map(|d| [d.for_queue(QUEUE_RX), d.for_queue(QUEUE_TX)]);
        t.set_status(
            DeviceStatus::ACKNOWLEDGE
                | DeviceStatus::DRIVER
                | DeviceStatus::FEATURES_OK
                | DeviceStatus::DRIVER_OK,
        );
        let hdr = if features & F_VERSION_1 != 0 { 12 } else { 10 };
        let mut nic = VirtioNet {
            transport: t,
            mac,
            hdr,
            rx,
            tx,
            rx_slots: (0..SIZE).map(|_| None).collect(),
            rx_empty: (0..SIZE as u16).rev().collect(),
            tx_slots: (0..SIZE).map(|_| None).collect(),
            tx_free: (0..SIZE as u16).rev().collect(),
            drops: 0,
            // A count never seen: the first arm acknowledges whatever the
            // device raised before its line was routed.
            irq: vector.map(|v| (v, u64::MAX)),
            doorbells,
        };
        nic.rx.interrupts(false);
        nic.tx.interrupts(false);
        nic.top_up(BOOT_FILL);
        Ok(nic)
    }

    /// Offers `frame`'s buffer on receive descriptor `id`.
    #[inline]
    fn offer_rx(&mut self, id: u16, mut frame: Frame) {
        let start = HEADROOM - self.hdr;
        let addr = frame.buffer_mut()[start..].as_mut_ptr() as u64;
        self.rx.offer(id, addr, (BUF_SIZE - start) as u32, true);
        self.rx_slots[usize::from(id)] = Some(frame);
    }

    /// Tells the device about new buffers on `queue`.
    fn notify(&mut self, queue: u16) {
        match self.doorbells {
            // SAFETY: the queue's doorbell in the device's notification
            // structure; writing the queue index there is the kick.
            Some(d) => unsafe {
                core::ptr::write_volatile(d[usize::from(queue)] as *mut u16, queue)
            },
            None => self.transport.notify(queue),
        }
    }

    /// Publishes offered receive buffers, notifying the device if it asks.
    fn publish_rx(&mut self) {
        if self.rx.publish() {
            self.notify(QUEUE_RX);
        }
    }

    /// Fills up to `max` empty receive descriptors from the shared pool,
    /// with one notification; true if some are still empty.
    fn top_up(&mut self, max: usize) -> bool {
        for _ in 0..max {
            let Some(&id) = self.rx_empty.last() else {
                break;
            };
            let Some(frame) = POOL.take() else { break };
            self.rx_empty.pop();
            self.offer_rx(id, frame);
        }
        self.publish_rx();
        !self.rx_empty.is_empty()
    }

    /// Returns sent frames to the shared pool.
    fn reclaim(&mut self) {
        while let Some((id, _)) = self.tx.pop() {
            if let Some(frame) = self.tx_slots[usize::from(id)].take() {
                POOL.give(frame);
                self.tx_free.push(id);
            }
        }
    }

    /// Publishes queued sends, notifying the device if it asks.
    fn publish_tx(&mut self) {
        if self.tx.publish() {
            self.notify(QUEUE_TX);
        }
    }
}

impl Nic for VirtioNet {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn recv(&mut self, out: &mut Vec<Frame>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some((id, len)) = self.rx.pop() else {
                break;
            };
            let Some(mut frame) = self.rx_slots[usize::from(id)].take() else {
                // A completion for a descriptor we never offered.
                self.drops += 1;
                continue;
            };
            let len = (len as usize).wrapping_sub(self.hdr);
            if len > BUF_SIZE - HEADROOM {
                // Shorter than its header, or longer than the buffer:
                // the buffer goes back to the ring.
                self.drops += 1;
                self.offer_rx(id, frame);
                continue;
            }
            // The frame goes up only if a replacement can be posted; out
            // of memory, it is dropped and its buffer reused, so the ring
            // never runs dry.
            match POOL.take() {
                Some(fresh) => {
                    self.offer_rx(id, fresh);
                    frame.set_window(HEADROOM, len);
                    out.push(frame);
                    n += 1;
                }
                None => {
                    self.drops += 1;
                    self.offer_rx(id, frame);
                }
            }
        }
        self.publish_rx();
        n
    }

    fn take_drops(&mut self) -> u64 {
        core::mem::take(&mut self.drops)
    }

    fn send(&mut self, frame: Frame) -> Result<(), Frame> {
        self.send_deferred(frame, true)
    }

    fn send_deferred(&mut self, frame: Frame, last: bool) -> Result<(), Frame> {
        if self.tx_free.is_empty() {
            self.reclaim();
        }
        let Some(id) = self.tx_free.pop() else {
            self.publish_tx();
            return Err(frame);
        };
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
                self.tx_free.push(id);
                self.drops += 1;
                if last {
                    self.publish_tx();
                }
                return Ok(());
            };
            copy.set_window(HEADROOM, len);
            copy.data_mut().copy_from_slice(frame.data());
            copy
        };
        let (head, len) = (frame.headroom(), frame.len());
        let start = head - self.hdr;
        // No offloads: an all-zero header, in two stores (a `fill` is a
        // `rep stosb`, an instruction per byte).
        let buf = &mut frame.buffer_mut()[start..head + len];
        let (h8, rest) = buf.split_at_mut(8);
        h8.copy_from_slice(&[0; 8]);
        if self.hdr == 12 {
            rest[..4].copy_from_slice(&[0; 4]);
        } else {
            rest[..2].copy_from_slice(&[0; 2]);
        }
        let addr = buf.as_ptr() as u64;
        self.tx.offer(id, addr, (self.hdr + len) as u32, false);
        self.tx_slots[usize::from(id)] = Some(frame);
        if last {
            self.publish_tx();
        }
        Ok(())
    }

    fn tx_room(&mut self) -> usize {
        self.reclaim();
        self.tx_free.len()
    }
}

impl Wakeup for VirtioNet {
    fn arm(&mut self) -> bool {
        // Sends left unpublished by an interrupted burst go out now.
        self.publish_tx();
        // Idle: a good moment to fill the rest of the receive ring. Report
        // work so the loop polls (and handles store input) in between.
        if self.top_up(TOP_UP) {
            return true;
        }
        // Only received frames wake the guest: finished sends are
        // reclaimed on the next send.
        self.rx.interrupts(true);
        // Clearing the status drops the line, so the next completion is a
        // fresh edge; a completion that raced in shows in the used ring.
        // The status is only ever set with an interrupt, so reading it
        // (an exit) is needed only after one came on this line.
        let fired = match &mut self.irq {
            Some((vector, seen)) => {
                let now = idt::taken(*vector);
                core::mem::replace(seen, now) != now
            }
            None => true,
        };
        if fired {
            self.transport.ack_interrupt();
        }
        self.rx.pending()
    }

    fn disarm(&mut self) {
        self.rx.interrupts(false);
    }
}

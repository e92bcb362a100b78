//! netfront: Xen's paravirtual NIC (io/netif.h), front end.
//!
//! One vif is two shared rings (tx, rx) and one event channel, set up
//! through the xenbus handshake in [`xenbus`]. Receive uses rx-copy: each
//! rx slot owns a page granted writable to the backend, which copies
//! frames into it; transmit copies each frame into a page granted
//! read-only (two 2 KiB halves per page, so no frame crosses a page).
//! Pages stay granted for the life of the vif, so the fast path makes no
//! grant or allocation calls: a frame costs one copy each way.
//!
//! A vif outlives its link: when the backend goes away (`xl
//! network-detach`, a backend restart) the link is closed and frames are
//! dropped and counted; when a backend waits again the handshake is redone
//! with fresh rings, under the same NIC the router holds.

mod ring;
pub mod xenbus;

use alloc::vec::Vec;

use self::ring::{get16, put16, put32, FrontRing};
use super::grant::{GrantRef, GrantTable};
use super::page::Page;
use super::{evtchn, shared};
use crate::mainloop::Wakeup;
use crate::net::frame::{BUF_SIZE, HEADROOM, POOL};
use crate::net::{Frame, Nic};

/// Receive buffers posted to the backend (of the ring's 256 slots):
/// enough for bursts while keeping a small domain small.
pub const RX_BUFS: usize = 64;
/// Frames in flight on transmit.
pub const TX_BUFS: usize = 64;
/// Largest frame we send (a tx buffer is half a page).
const TX_MAX: usize = 2048;

const TX_SLOT: usize = 12;
const RX_SLOT: usize = 8;
const NETRXF_MORE_DATA: u16 = 1 << 2;
const NETRXF_EXTRA_INFO: u16 = 1 << 3;
const NETTXF_EXTRA_INFO: u16 = 1 << 3;
const NETIF_RSP_NULL: i16 = 1;

/// Counters kept by each vif.
#[derive(Default, Debug, Clone, Copy)]
pub struct Stats {
    /// Frames received.
    pub rx: u64,
    /// Frames sent.
    pub tx: u64,
    /// Received frames dropped (error status, multi-slot frames).
    pub rx_dropped: u64,
    /// Frames too large to send, or sent while the link was down, dropped.
    pub tx_dropped: u64,
    /// Times the link was closed because the backend went away.
    pub link_downs: u64,
    /// Times the link came back.
    pub reconnects: u64,
}

/// The identity of a connected vif, for the shutdown path.
pub struct Teardown {
    /// vif index.
    pub index: u32,
    /// Event channel.
    pub port: u32,
    /// Every grant the vif made.
    pub grants: Vec<GrantRef>,
}

/// One connected vif.
pub struct Netfront {
    /// vif index (`device/vif/<index>`).
    pub index: u32,
    mac: [u8; 6],
    port: u32,
    tx: FrontRing,
    rx: FrontRing,
    tx_ring_ref: GrantRef,
    rx_ring_ref: GrantRef,
    tx_pages: Vec<Page>,
    tx_refs: Vec<GrantRef>,
    tx_free: Vec<u16>,
    rx_pages: Vec<Page>,
    rx_refs: Vec<GrantRef>,
    rx_free: Vec<u16>,
    /// Dropping the rest of a multi-slot frame.
    rx_skipping: bool,
    /// Whether the rings are connected to a backend.
    up: bool,
    /// Some grant could not be withdrawn (the backend still maps it): the
    /// pages must never be reused.
    leak: bool,
    /// Counters.
    pub stats: Stats,
}

impl Netfront {
    /// Allocates and grants the rings and buffers for a vif whose backend
    /// is domain `backend_id`, and an event channel to it.
    fn alloc(
        gnt: &mut GrantTable,
        index: u32,
        mac: [u8; 6],
        backend_id: u16,
    ) -> Result<Netfront, &'static str> {
        const OOM: &str = "no memory for netfront rings";
        let tx = FrontRing::new(Page::new().ok_or(OOM)?, TX_SLOT);
        let rx = FrontRing::new(Page::new().ok_or(OOM)?, RX_SLOT);
        let tx_ring_ref = gnt.grant(backend_id, tx.pfn(), false)?;
        let rx_ring_ref = gnt.grant(backend_id, rx.pfn(), false)?;
        let mut tx_pages = Vec::with_capacity(TX_BUFS / 2);
        let mut tx_refs = Vec::with_capacity(TX_BUFS / 2);
        for _ in 0..TX_BUFS / 2 {
            let p = Page::new().ok_or(OOM)?;
            tx_refs.push(gnt.grant(backend_id, p.pfn(), true)?);
            tx_pages.push(p);
        }
        let mut rx_pages = Vec::with_capacity(RX_BUFS);
        let mut rx_refs = Vec::with_capacity(RX_BUFS);
        for _ in 0..RX_BUFS {
            let p = Page::new().ok_or(OOM)?;
            rx_refs.push(gnt.grant(backend_id, p.pfn(), false)?);
            rx_pages.push(p);
        }
        let port =
            evtchn::alloc_unbound(backend_id).map_err(|_| "EVTCHNOP_alloc_unbound failed")?;
        Ok(Netfront {
            index,
            mac,
            port,
            tx,
            rx,
            tx_ring_ref,
            rx_ring_ref,
            tx_pages,
            tx_refs,
            tx_free: (0..TX_BUFS as u16).rev().collect(),
            rx_pages,
            rx_refs,
            rx_free: (0..RX_BUFS as u16).rev().collect(),
            rx_skipping: false,
            up: false,
            leak: false,
            stats: Stats::default(),
        })
    }

    /// Event channel shared with the backend.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// What closing this vif needs, kept apart from the NIC the router owns.
    pub fn teardown(&self) -> Teardown {
        let mut grants = alloc::vec![self.tx_ring_ref, self.rx_ring_ref];
        grants.extend_from_slice(&self.tx_refs);
        grants.extend_from_slice(&self.rx_refs);
        Teardown {
            index: self.index,
            port: self.port,
            grants,
        }
    }

    /// Whether the rings are connected to a backend.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Closes the event channel and withdraws every grant; remembers
    /// whether some could not be (then the pages are leaked, not freed).
    fn release(&mut self, gnt: &mut GrantTable) {
        super::evtchn::close(self.port);
        for r in self.teardown().grants {
            if !gnt.end(r) {
                self.leak = true;
            }
        }
    }

    /// Drops a link that never came up (a failed handshake).
    pub fn abandon(mut self, gnt: &mut GrantTable) {
        self.release(gnt);
        if self.leak {
            core::mem::forget(self);
        }
    }

    /// The backend is gone: stop using the rings. In-flight frames are
    /// lost; later ones are dropped and counted until [`Netfront::adopt`].
    pub fn link_down(&mut self, gnt: &mut GrantTable) {
        if !self.up {
            return;
        }
        self.up = false;
        self.stats.link_downs += 1;
        self.release(gnt);
    }

    /// Takes the rings of `fresh` (a new handshake's result), keeping this
    /// vif's identity and counters.
    pub fn adopt(&mut self, mut fresh: Netfront) {
        fresh.stats = self.stats;
        fresh.stats.reconnects += 1;
        fresh.index = self.index;
        let old = core::mem::replace(self, fresh);
        if old.leak || old.up {
            core::mem::forget(old);
        }
    }

    /// A frame of `len` bytes at [`HEADROOM`] to copy a received frame
    /// into (from the shared pool when it fits); `None` when the heap is
    /// exhausted.
    fn frame(len: usize) -> Option<Frame> {
        let mut f = if HEADROOM + len <= BUF_SIZE {
            POOL.take()?
        } else {
            Frame::from_packet(click::Packet::try_with_room(HEADROOM, len, 0)?)
        };
        f.set_window(HEADROOM, len).then_some(f)
    }

    /// Posts every free rx buffer; notifies the backend if it asks.
    fn post_rx(&mut self) {
        if self.rx_free.is_empty() {
            return;
        }
        while let Some(id) = self.rx_free.pop() {
            let slot = self.rx.slot(self.rx.req_prod_pvt);
            // SAFETY: a request slot we own until published
            // (netif_rx_request: id u16, pad u16, gref u32).
            unsafe {
                put16(slot, 0, id);
                put16(slot, 2, 0);
                put32(slot, 4, self.rx_refs[usize::from(id)]);
            }
            self.rx.req_prod_pvt = self.rx.req_prod_pvt.wrapping_add(1);
        }
        if self.rx.push_requests() {
            evtchn::send(self.port);
        }
    }

    /// Takes finished transmit slots back.
    fn reclaim_tx(&mut self) {
        let prod = self.tx.rsp_prod();
        while self.tx.rsp_cons != prod {
            let slot = self.tx.slot(self.tx.rsp_cons);
            // SAFETY: a response slot the backend published
            // (netif_tx_response: id u16, status i16).
            let (id, status) = unsafe { (get16(slot, 0), get16(slot, 2) as i16) };
            self.tx.rsp_cons = self.tx.rsp_cons.wrapping_add(1);
            if status != NETIF_RSP_NULL && usize::from(id) < TX_BUFS {
                self.tx_free.push(id);
            }
        }
    }

    /// Queues one frame without publishing it; false if the ring is full.
    fn queue_tx(&mut self, frame: &Frame) -> bool {
        if frame.len() > TX_MAX || frame.is_empty() {
            self.stats.tx_dropped += 1;
            return true;
        }
        if self.tx.free_requests() == 0 {
            return false;
        }
        let Some(id) = self.tx_free.pop() else {
            return false;
        };
        let page = usize::from(id) / 2;
        let offset = (usize::from(id) % 2) * TX_MAX;
        self.tx_pages[page].bytes_mut()[offset..offset + frame.len()].copy_from_slice(frame.data());
        let slot = self.tx.slot(self.tx.req_prod_pvt);
        // SAFETY: a request slot we own until published (netif_tx_request:
        // gref u32, offset u16, flags u16, id u16, size u16).
        unsafe {
            put32(slot, 0, self.tx_refs[page]);
            put16(slot, 4, offset as u16);
            put16(slot, 6, 0);
            put16(slot, 8, id);
            put16(slot, 10, frame.len() as u16);
        }
        self.tx.req_prod_pvt = self.tx.req_prod_pvt.wrapping_add(1);
        self.stats.tx += 1;
        true
    }

    fn push_tx(&mut self) {
        if self.tx.push_requests() {
            evtchn::send(self.port);
        }
    }

    /// Posts the receive buffers once the backend is connected.
    fn start(&mut self) {
        self.up = true;
        evtchn::unmask(self.port);
        self.post_rx();
    }
}

// Extra-info slots are never requested (no GSO features are offered), but
// a backend may still use the flag: its slot is skipped.
const _: () = assert!(NETTXF_EXTRA_INFO == NETRXF_EXTRA_INFO);

impl Nic for Netfront {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn recv(&mut self, out: &mut Vec<Frame>, max: usize) -> usize {
        if !self.up {
            return 0;
        }
        let mut n = 0;
        let prod = self.rx.rsp_prod();
        while n < max && self.rx.rsp_cons != prod {
            let slot = self.rx.slot(self.rx.rsp_cons);
            // SAFETY: a response slot the backend published
            // (netif_rx_response: id u16, offset u16, flags u16, status i16).
            let (id, offset, flags, status) = unsafe {
                (
                    get16(slot, 0),
                    usize::from(get16(slot, 2)),
                    get16(slot, 4),
                    get16(slot, 6) as i16,
                )
            };
            self.rx.rsp_cons = self.rx.rsp_cons.wrapping_add(1);
            if flags & NETRXF_EXTRA_INFO != 0 {
                self.rx.rsp_cons = self.rx.rsp_cons.wrapping_add(1);
            }
            if usize::from(id) >= RX_BUFS {
                continue;
            }
            self.rx_free.push(id);
            let skipping = self.rx_skipping;
            self.rx_skipping = flags & NETRXF_MORE_DATA != 0;
            let len = status.max(0) as usize;
            if skipping || self.rx_skipping || status <= 0 || offset + len > super::page::PAGE_SIZE
            {
                self.stats.rx_dropped += 1;
                continue;
            }
            let Some(mut f) = Self::frame(len) else {
                self.stats.rx_dropped += 1;
                continue;
            };
            f.data_mut()
                .copy_from_slice(&self.rx_pages[usize::from(id)].bytes()[offset..offset + len]);
            out.push(f);
            n += 1;
            self.stats.rx += 1;
        }
        self.post_rx();
        n
    }

    fn send(&mut self, frame: Frame) -> Result<(), Frame> {
        if !self.up {
            self.stats.tx_dropped += 1;
            POOL.give(frame);
            return Ok(());
        }
        self.reclaim_tx();
        if !self.queue_tx(&frame) {
            return Err(frame);
        }
        self.push_tx();
        POOL.give(frame);
        Ok(())
    }

    fn tx_room(&mut self) -> usize {
        if !self.up {
            // Frames sent now are dropped; holding them back would stall
            // the router until the backend returns.
            return TX_BUFS;
        }
        self.reclaim_tx();
        self.tx_free.len().min(self.tx.free_requests() as usize)
    }

    fn send_batch(&mut self, frames: &mut Vec<Frame>) -> usize {
        if !self.up {
            let n = frames.len();
            self.stats.tx_dropped += n as u64;
            for f in frames.drain(..) {
                POOL.give(f);
            }
            return n;
        }
        self.reclaim_tx();
        let mut sent = 0;
        for f in frames.iter() {
            if !self.queue_tx(f) {
                break;
            }
            sent += 1;
        }
        if sent > 0 {
            self.push_tx();
        }
        for f in frames.drain(..sent) {
            POOL.give(f);
        }
        sent
    }
}

impl Wakeup for Netfront {
    fn arm(&mut self) -> bool {
        if !self.up {
            return false;
        }
        self.reclaim_tx();
        shared::ack_upcall();
        evtchn::clear_pending(self.port);
        let mut pending = self.rx.final_check_for_responses();
        // With frames in flight, completions must wake us too, or a router
        // waiting for tx room would sleep until the next receive.
        if self.tx_free.len() < TX_BUFS {
            pending |= self.tx.final_check_for_responses();
        }
        pending
    }

    fn disarm(&mut self) {}

    fn service(&mut self) {
        super::service_vif(self);
    }
}

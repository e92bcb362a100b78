//! The xenstore shared ring as the guest's store channel: the ring page and
//! event channel come from `HVM_PARAM_STORE_PFN`/`STORE_EVTCHN`; the byte
//! transport is `xenstore::ring::GuestRing`. [`XenStore`] is the
//! [`ByteStream`] the router's store client runs over (as the
//! virtio-console is on KVM); [`boot_client`] is a blocking client for the
//! kernel's own xenbus work before the router starts.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use xenstore::client::BlockingClient;
use xenstore::ring::{GuestRing, Interface, Notify, RSP_CONS, RSP_PROD};

use super::mux::Mux;
use super::{evtchn, hvm, shared};
use crate::arch::x86_64::{apic, cpu, idt};
use crate::mainloop::Wakeup;
use crate::stream::ByteStream;
use crate::time;

/// The ring's location.
#[derive(Clone, Copy, Debug)]
pub struct StoreRing {
    /// Guest frame of the ring page.
    pub pfn: u64,
    /// Event channel to xenstored.
    pub port: u32,
}

impl StoreRing {
    /// Looks the ring up in the HVM params and unmasks its port.
    pub fn find() -> Result<StoreRing, &'static str> {
        let pfn = hvm::get_param(hvm::PARAM_STORE_PFN).map_err(|_| "no HVM_PARAM_STORE_PFN")?;
        let port =
            hvm::get_param(hvm::PARAM_STORE_EVTCHN).map_err(|_| "no HVM_PARAM_STORE_EVTCHN")?;
        if pfn == 0 || pfn << 12 >= 1 << 32 {
            return Err("xenstore ring outside the mapped memory");
        }
        evtchn::unmask(port as u32);
        Ok(StoreRing {
            pfn,
            port: port as u32,
        })
    }

    fn interface(&self) -> Interface {
        // SAFETY: Xen's ring page, identity-mapped below 4 GiB, for good.
        unsafe { Interface::from_raw(NonNull::new_unchecked((self.pfn << 12) as *mut u8)) }
    }

    fn word(&self, off: usize) -> &'static AtomicU32 {
        // SAFETY: an index field inside the ring page.
        unsafe { &*(((self.pfn << 12) as usize + off) as *const AtomicU32) }
    }

    /// Whether xenstored has produced bytes we have not read.
    pub fn has_input(&self) -> bool {
        self.word(RSP_PROD).load(Ordering::Acquire) != self.word(RSP_CONS).load(Ordering::Acquire)
    }
}

/// Kicks xenstored through the event channel; waits for its kick.
pub struct StoreNotify {
    ring: StoreRing,
}

impl StoreNotify {
    /// The notifier for `ring`.
    pub fn new(ring: StoreRing) -> StoreNotify {
        StoreNotify { ring }
    }
}

impl Notify for StoreNotify {
    fn notify(&mut self) {
        evtchn::send(self.ring.port);
    }

    fn wait(&mut self) {
        wait_for_port(self.ring.port, 10_000_000);
    }
}

/// Halts until `port` fires or `max_ns` pass (the timer bounds a lost
/// event to a short delay instead of a hang).
pub fn wait_for_port(port: u32, max_ns: u64) {
    shared::ack_upcall();
    if evtchn::clear_pending(port) {
        return;
    }
    apic::arm_timer_tsc(time::deadline_tsc(time::now_ns() + max_ns));
    cpu::wait_for_interrupt();
    // Only the boot and shutdown paths wait here; the main loop is not
    // running, so the recorded vectors are nobody else's.
    idt::take_pending();
    evtchn::clear_pending(port);
}

/// Sleeps about `ns` nanoseconds (halting, woken early by any interrupt).
pub fn sleep_ns(ns: u64) {
    let end = time::now_ns() + ns;
    while time::now_ns() < end {
        apic::arm_timer_tsc(time::deadline_tsc(end));
        cpu::wait_for_interrupt();
        idt::take_pending();
    }
}

/// A blocking client over the ring.
pub type BootClient = BlockingClient<GuestRing<StoreNotify>>;

/// A blocking client for the kernel's own requests (xenbus handshakes).
/// Use it only while the router's stream is idle: the ring carries one
/// byte stream, and both clients number requests from 1.
pub fn boot_client(ring: StoreRing) -> BootClient {
    BlockingClient::new(GuestRing::new(ring.interface(), StoreNotify { ring }))
}

/// The multiplexed connection, set up by [`start_mux`].
static mut MUX: Option<Mux> = None;

fn mux() -> Option<&'static mut Mux> {
    // SAFETY: one CPU; interrupt handlers never touch the store, and each
    // caller's borrow ends before it returns.
    let p = &raw mut MUX;
    unsafe { (*p).as_mut() }
}

/// Puts the multiplexer on the ring; afterwards the kernel's requests go
/// through it and [`XenStore`] is the router's view of it.
pub fn start_mux(ring: StoreRing) {
    let m = Mux::new(GuestRing::new(ring.interface(), StoreNotify { ring }));
    // SAFETY: one CPU, before the main loop: nobody holds a borrow.
    unsafe { MUX = Some(m) };
}

/// Flushes the multiplexer and waits for the router's outstanding replies
/// (the shutdown path then talks to the ring directly).
pub fn quiesce(ring: StoreRing) {
    if let Some(m) = mux() {
        m.quiesce(ring.port);
    }
}

/// Registers a watch on a vif's backend `state` node (see [`Mux::watch_vif_node`]).
pub fn watch_vif_node(node: &str) {
    if let Some(m) = mux() {
        m.watch_vif_node(node);
    }
}

/// Blocking kernel requests through the multiplexer, for xenbus work while
/// the main loop runs (a vif reconnecting): the router's messages keep
/// flowing through the mux meanwhile.
pub struct MuxClient {
    ring: StoreRing,
    /// Some request got no reply: its `None` said nothing about the node.
    pub timed_out: bool,
}

impl MuxClient {
    /// A client over the running multiplexer.
    pub fn new(ring: StoreRing) -> MuxClient {
        MuxClient {
            ring,
            timed_out: false,
        }
    }

    /// Sends one request and waits (up to ~5 s) for its reply; an error
    /// reply comes back as its errno name.
    pub fn call(
        &mut self,
        ty: xenstore::MsgType,
        payload: alloc::vec::Vec<u8>,
    ) -> Result<alloc::vec::Vec<u8>, alloc::string::String> {
        use alloc::string::ToString;
        let Some(m) = mux() else {
            self.timed_out = true;
            return Err("no xenstore multiplexer".into());
        };
        let id = m.kernel_request(ty, payload);
        for _ in 0..500 {
            m.pump();
            if let Some(r) = m.take_reply(id) {
                if r.ty == xenstore::MsgType::Error {
                    let e = r.payload.split(|&b| b == 0).next().unwrap_or(&[]);
                    return Err(alloc::string::String::from_utf8_lossy(e).to_string());
                }
                return Ok(r.payload);
            }
            wait_for_port(self.ring.port, 10_000_000);
        }
        self.timed_out = true;
        Err("xenstore reply timed out".into())
    }
}

/// The store ring as the router's byte stream (through the multiplexer).
pub struct XenStore {
    ring: StoreRing,
}

impl XenStore {
    /// The router's stream; [`start_mux`] must have run.
    pub fn new(ring: StoreRing) -> XenStore {
        XenStore { ring }
    }
}

impl ByteStream for XenStore {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        mux().map_or(0, |m| m.router_read(buf))
    }

    fn write(&mut self, buf: &[u8]) -> usize {
        mux().map_or(0, |m| m.router_write(buf))
    }
}

impl Wakeup for XenStore {
    fn arm(&mut self) -> bool {
        shared::ack_upcall();
        evtchn::clear_pending(self.ring.port);
        // The kernel's own messages (the shutdown watch) are handled here
        // too, whether or not the router reads the store.
        let Some(m) = mux() else {
            return self.ring.has_input();
        };
        m.pump();
        m.router_has_input()
            || self.ring.has_input()
            || super::mux::VIFS_CHANGED.load(Ordering::Acquire)
            || super::mux::STOP_REQUEST.load(Ordering::Acquire) != super::mux::STOP_NONE
    }

    fn disarm(&mut self) {}
}

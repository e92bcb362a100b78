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

/// The store ring as the router's byte stream.
pub struct XenStore {
    ring: StoreRing,
    io: GuestRing<StoreNotify>,
    failed: bool,
}

impl XenStore {
    /// The stream over `ring`.
    pub fn new(ring: StoreRing) -> XenStore {
        XenStore {
            ring,
            io: GuestRing::new(ring.interface(), StoreNotify { ring }),
            failed: false,
        }
    }

    fn fail(&mut self, what: &str, e: xenstore::ring::RingError) -> usize {
        if !self.failed {
            crate::kprintln!("mb: xenstore ring {what}: {e}");
            self.failed = true;
        }
        0
    }
}

impl ByteStream for XenStore {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        use xenstore::client::Transport;
        match self.io.read(buf) {
            Ok(n) => n,
            Err(e) => self.fail("read", e),
        }
    }

    fn write(&mut self, buf: &[u8]) -> usize {
        use xenstore::client::Transport;
        match self.io.write(buf) {
            Ok(n) => n,
            Err(e) => self.fail("write", e),
        }
    }
}

impl Wakeup for XenStore {
    fn arm(&mut self) -> bool {
        shared::ack_upcall();
        evtchn::clear_pending(self.ring.port);
        self.ring.has_input()
    }

    fn disarm(&mut self) {}
}

//! Handles elements use to reach the router: [`Ctx`] at run time,
//! [`ConfigCx`] while being configured.

use alloc::string::String;

use super::{PortKind, Router};
use crate::batch::Batch;
use crate::element::Element;
use crate::host::Host;
use crate::packet::Packet;
use crate::time::Timestamp;

/// An element's view of its router while it runs: its output and input
/// ports, the clock, the packet pool, tasks and timers.
pub struct Ctx<'r> {
    router: &'r Router,
    eid: usize,
}

impl<'r> Ctx<'r> {
    pub(crate) fn new(router: &'r Router, eid: usize) -> Self {
        Ctx { router, eid }
    }

    /// Pushes `p` out of output `port` (dropped if the port is unconnected).
    #[inline]
    pub fn push(&self, port: usize, p: Packet) {
        self.router.push(self.eid, port, p)
    }

    /// Pushes a batch out of output `port`.
    #[inline]
    pub fn push_batch(&self, port: usize, b: Batch) {
        self.router.push_batch(self.eid, port, b)
    }

    /// Pulls a packet from input `port`.
    #[inline]
    pub fn pull(&self, port: usize) -> Option<Packet> {
        self.router.pull(self.eid, port)
    }

    /// Drops a packet, recycling its buffer.
    #[inline]
    pub fn kill(&self, p: Packet) {
        self.router.kill(p)
    }

    /// Drops every packet of a batch.
    #[inline]
    pub fn kill_batch(&self, b: Batch) {
        self.router.kill_batch(b)
    }

    /// A packet of `len` bytes from the pool (contents unspecified, default
    /// headroom, fresh annotations), or `None` when memory is short: the
    /// router counts it in its `nomem_drops` handler and the caller makes
    /// nothing.
    #[inline]
    pub fn alloc(&self, len: usize) -> Option<Packet> {
        self.router.alloc(len)
    }

    /// A copy of `p` from the pool (Click's `clone`), or `None` when memory
    /// is short (counted in the router's `nomem_drops`).
    pub fn clone_packet(&self, p: &Packet) -> Option<Packet> {
        let q = match self.router.pool.try_borrow_mut() {
            Ok(mut pool) => p.clone_in(&mut pool),
            Err(_) => Some(p.clone()),
        };
        if q.is_none() {
            self.router.count_nomem();
        }
        q
    }

    /// The current time.
    #[inline]
    pub fn now(&self) -> Timestamp {
        self.router.clock.now()
    }

    /// A recent time, like Click's jiffies: the clock as read at most a
    /// few driver steps ago (exact with a simulated clock), for elements
    /// that need time per packet but not precisely (rate estimators). It
    /// is refreshed whenever timers run or the driver may have waited.
    #[inline]
    pub fn recent(&self) -> Timestamp {
        self.router.recent()
    }

    /// This element's index.
    pub fn eid(&self) -> usize {
        self.eid
    }

    /// This element's name.
    pub fn name(&self) -> &'r str {
        &self.router.info[self.eid].name
    }

    /// Number of input ports.
    pub fn ninputs(&self) -> usize {
        self.router.info[self.eid].inputs.len()
    }

    /// Number of output ports.
    pub fn noutputs(&self) -> usize {
        self.router.info[self.eid].outputs.len()
    }

    /// Kind of input `port`.
    pub fn input_kind(&self, port: usize) -> Option<PortKind> {
        self.router.info[self.eid].inputs.get(port).copied()
    }

    /// Kind of output `port`.
    pub fn output_kind(&self, port: usize) -> Option<PortKind> {
        self.router.info[self.eid].outputs.get(port).copied()
    }

    /// Turns this element's task on: [`Element::run_task`] will be called
    /// by the driver until [`Ctx::unschedule`].
    pub fn schedule(&self) {
        self.router.set_task(self.eid, true)
    }

    /// Turns this element's task off.
    pub fn unschedule(&self) {
        self.router.set_task(self.eid, false)
    }

    /// Makes another element's task runnable (Click's notifiers: a queue
    /// wakes the element that pulls from it).
    pub fn wake(&self, eid: usize) {
        self.router.set_task(eid, true)
    }

    /// Sets (or moves) this element's timer `id` to fire at `when`.
    pub fn set_timer(&self, id: u32, when: Timestamp) {
        self.router.set_timer(self.eid, id, when)
    }

    /// Cancels this element's timer `id`.
    pub fn cancel_timer(&self, id: u32) {
        self.router.cancel_timer(self.eid, id)
    }

    /// True if timer `id` is set.
    pub fn timer_scheduled(&self, id: u32) -> bool {
        self.router.timer_scheduled(self.eid, id)
    }

    /// Signals a driver stop event (Click's `please_stop_driver`).
    pub fn request_stop(&self) {
        self.router.request_stop()
    }

    /// Stops the router at once.
    pub fn stop_router(&self) {
        self.router.stop()
    }

    /// Registers this element as the receiver of driver stop events
    /// (DriverManager).
    pub fn listen_for_stop(&self) {
        self.router.set_stop_listener(self.eid)
    }

    /// Takes one pending driver stop event, if any.
    pub fn take_stop_request(&self) -> bool {
        self.router.take_stop_request()
    }

    /// Host services (output files, diagnostics).
    pub fn host(&self) -> &'r dyn Host {
        &*self.router.host
    }

    /// Logs a diagnostic prefixed with this element's name, as Click's
    /// `ErrorHandler` does.
    pub fn log(&self, msg: &str) {
        let info = &self.router.info[self.eid];
        self.router.host.log(&alloc::format!(
            "{} :: {}: {}",
            info.name,
            info.class.name,
            msg
        ));
    }

    /// The whole router (for handler calls from DriverManager and Script).
    pub fn router(&self) -> &'r Router {
        self.router
    }

    /// Runs `f` on another element (for elements that call a peer at run
    /// time, like a rewriter asking its mapper). `None` if it is busy.
    pub fn with_element<R>(
        &self,
        eid: usize,
        f: impl FnOnce(&mut dyn Element, &Ctx) -> R,
    ) -> Option<R> {
        let mut e = self.router.elements.get(eid)?.try_borrow_mut().ok()?;
        let cx = Ctx::new(self.router, eid);
        Some(f(&mut **e, &cx))
    }
}

/// An element's view while it is being configured.
pub struct ConfigCx<'a> {
    pub(crate) name: &'a str,
    pub(crate) ninputs: usize,
    pub(crate) noutputs: usize,
    pub(crate) names: &'a [String],
    pub(crate) configured: &'a [Option<alloc::boxed::Box<dyn Element>>],
}

impl<'a> ConfigCx<'a> {
    /// The element's full name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// Number of input ports it has (from the connections).
    pub fn ninputs(&self) -> usize {
        self.ninputs
    }

    /// Number of output ports it has.
    pub fn noutputs(&self) -> usize {
        self.noutputs
    }

    /// Resolves an element name as Click does inside compounds: first
    /// relative to this element's compound (`a/b/x`, then `a/x`), then
    /// globally.
    pub fn element_index(&self, name: &str) -> Option<usize> {
        let mut prefix = self.name;
        while let Some(slash) = prefix.rfind('/') {
            prefix = &prefix[..slash];
            let full = alloc::format!("{prefix}/{name}");
            if let Some(i) = self.names.iter().position(|n| *n == full) {
                return Some(i);
            }
        }
        self.names.iter().position(|n| n == name)
    }

    /// An element configured earlier (lower configure phase, or earlier in
    /// the same phase), by name.
    pub fn element(&self, name: &str) -> Option<&dyn Element> {
        let i = self.element_index(name)?;
        self.configured.get(i)?.as_deref()
    }

    /// Formats an error about another element reference.
    pub fn no_element(&self, name: &str) -> String {
        alloc::format!("no element named '{name}'")
    }
}

//! The router: a configured element graph and the machinery that runs it.
//!
//! * [`build`](Router::new) turns a [`FlatConfig`] into elements, checks
//!   port counts, resolves push/pull (Click's rules) and connections;
//! * push is synchronous and depth-first, as in Click: `cx.push(0, p)` runs
//!   the downstream element before returning; pull asks upstream likewise;
//! * tasks and timers are run by a driver (the host runner or the guest
//!   loop) through [`Router::run_tasks`], [`Router::run_timers`] and
//!   [`Router::next_timer`];
//! * handlers are read and written with [`Router::read`] / [`Router::write`].
//!
//! Each element lives in a `RefCell`. A packet pushed into an element that is
//! already running (a push loop in the graph) is queued and delivered when
//! the outer call returns, instead of re-entering it.
//!
//! The per-packet and per-step paths avoid what they can: the task list is
//! a fixed array of cells (no borrow per task), the deferred queue is only
//! looked at when something was queued, timers are only looked at when one
//! is set, and elements that only need a coarse time (rate estimators) read
//! [`Ctx::recent`], a clock reading refreshed every few steps, instead of
//! the clock.

mod build;
mod ctx;
mod handlers;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BinaryHeap, VecDeque};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::cmp::Reverse;

pub use ctx::{ConfigCx, Ctx};
pub use handlers::HandlerError;

use crate::element::{Element, ElementClass};
use crate::error::Span;
use crate::host::Host;
use crate::lang::FlatConfig;
use crate::packet::{Packet, PacketPool};
use crate::time::{Clock, Timestamp};

/// Push or pull, for one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortKind {
    /// Packets are pushed through this port.
    Push,
    /// Packets are pulled through this port.
    Pull,
}

/// Facts about one element of a router.
#[derive(Debug)]
pub struct ElementInfo {
    /// Full name (`outer/inner`, `Class@N`).
    pub name: String,
    /// The class.
    pub class: &'static ElementClass,
    /// Configuration string.
    pub config: String,
    /// Declaration site.
    pub span: Span,
    /// Kind of each input port.
    pub inputs: Vec<PortKind>,
    /// Kind of each output port.
    pub outputs: Vec<PortKind>,
    /// True for ports whose kind came from agnostic resolution (`push~`).
    pub(crate) agnostic_in: Vec<bool>,
    pub(crate) agnostic_out: Vec<bool>,
}

type PortRef = Option<(u32, u32)>;

/// What [`Router::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Some task or timer did work.
    Worked,
    /// Nothing is runnable; the next timer (if any) is due then.
    Idle(Option<Timestamp>),
    /// The router was stopped.
    Stopped,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct TimerEntry {
    when: Timestamp,
    seq: u64,
    eid: usize,
    id: u32,
}

/// Environment a router runs in: its clock and host services.
pub struct Env {
    /// Source of "now".
    pub clock: Box<dyn Clock>,
    /// Output and diagnostics.
    pub host: Box<dyn Host>,
}

/// A configured, runnable element graph.
pub struct Router {
    elements: Vec<RefCell<Box<dyn Element>>>,
    info: Vec<ElementInfo>,
    /// For each element and push output: the downstream element and port.
    push_to: Vec<Vec<PortRef>>,
    /// For each element and pull input: the upstream element and port.
    pull_from: Vec<Vec<PortRef>>,
    flat: FlatConfig,
    source: String,
    clock: Box<dyn Clock>,
    host: Box<dyn Host>,
    pool: RefCell<PacketPool>,
    /// Packets dropped or not made for want of memory.
    nomem: Cell<u64>,
    deferred: RefCell<VecDeque<(usize, usize, Packet)>>,
    /// Set while `deferred` may hold packets.
    deferred_any: Cell<bool>,
    /// Elements with a task, in the order their tasks were first
    /// scheduled: the first `ntasks` entries (an element appears once).
    tasks: Box<[Cell<u32>]>,
    ntasks: Cell<usize>,
    task_listed: Box<[Cell<bool>]>,
    task_on: Vec<Cell<bool>>,
    /// Set when a task is turned on: the step that did it is not idle even
    /// if no task reported work (the new task has not run yet).
    task_woken: Cell<bool>,
    task_cursor: Cell<usize>,
    timers: RefCell<BinaryHeap<Reverse<TimerEntry>>>,
    timer_seq: Cell<u64>,
    timer_live: RefCell<BTreeMap<(usize, u32), u64>>,
    stopped: Cell<bool>,
    stop_listener: Cell<Option<usize>>,
    pending_stops: Cell<u32>,
    /// A recent clock reading (see [`Ctx::recent`]) and the steps left
    /// before it is refreshed.
    recent: Cell<Timestamp>,
    recent_age: Cell<u32>,
    /// The clock is simulated: reading it is cheap and exact.
    simulated: bool,
}

/// Classes whose output for a packet depends only on their configuration,
/// the packets that came before on their inputs and the time, and which
/// keep packet order within each output (see
/// [`Router::batch_preserves_order`]). No class here calls handlers or
/// stops the router part-way through its input.
const ORDER_LOCAL: &[&str] = &[
    "CheckIP6Header",
    "CheckIPHeader",
    "Classifier",
    "DecIP6HLIM",
    "DecIPTTL",
    "Discard",
    "EtherEncap",
    "IPClassifier",
    "IPFilter",
    "IPRewriter",
    "MarkIP6Header",
    "MarkIPHeader",
    "Null",
    "Paint",
    "SetIPChecksum",
    "Strip",
    "Unstrip",
];

/// Steps (task rounds) a recent time is reused for before the clock is
/// read again.
const RECENT_STEPS: u32 = 8;

impl Router {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// True for an empty configuration.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// Facts about element `eid`.
    pub fn info(&self, eid: usize) -> &ElementInfo {
        &self.info[eid]
    }

    /// All elements' facts, in declaration order.
    pub fn infos(&self) -> &[ElementInfo] {
        &self.info
    }

    /// Index of the element called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.info.iter().position(|i| i.name == name)
    }

    /// The flat configuration the router was built from.
    pub fn flat_config(&self) -> &FlatConfig {
        &self.flat
    }

    /// The clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The clock object.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// The host services.
    pub fn host(&self) -> &dyn Host {
        &*self.host
    }

    /// Runs `f` on element `eid` if it is not busy.
    pub fn with_element<R>(
        &self,
        eid: usize,
        f: impl FnOnce(&mut dyn Element, &Ctx) -> R,
    ) -> Option<R> {
        let cell = self.elements.get(eid)?;
        let mut e = cell.try_borrow_mut().ok()?;
        let cx = Ctx::new(self, eid);
        let r = f(&mut **e, &cx);
        drop(e);
        self.drain_deferred();
        Some(r)
    }

    /// Hot-swap (Click's `hotconfig`): every element of this router that has
    /// a namesake of the same class in `old` takes that element's state
    /// (`Element::take_state`). Returns how many elements did.
    pub fn take_state_from(&self, old: &Router) -> usize {
        let mut n = 0;
        for (eid, info) in self.info.iter().enumerate() {
            let Some(oid) = old.find(&info.name) else {
                continue;
            };
            if old.info[oid].class.name != info.class.name {
                continue;
            }
            let (Ok(mut new_e), Ok(mut old_e)) = (
                self.elements[eid].try_borrow_mut(),
                old.elements[oid].try_borrow_mut(),
            ) else {
                continue;
            };
            new_e.take_state(&mut **old_e, &Ctx::new(self, eid));
            n += 1;
        }
        n
    }

    /// Pushes a packet into input `port` of element `eid` from outside the
    /// graph (a device, a test).
    pub fn inject(&self, eid: usize, port: usize, p: Packet) {
        self.age_recent();
        self.deliver(eid, port, p);
        self.drain_deferred();
    }

    // ---- packet movement -------------------------------------------------

    /// True if pushing a batch out of output `port` of `eid` hands every
    /// element downstream the same packets in the same order as pushing
    /// them one at a time, as Click does: everything reachable from there
    /// is a tree (each element has that one way in, and no pull port) of
    /// [`ORDER_LOCAL`] classes whose configurations name no other element.
    /// Each such element then sees its own input sequence unchanged and
    /// keeps order within each output, and no two paths merge, so no
    /// element or output can tell the difference. A source may then move
    /// Click's one-packet-per-task bursts in batches.
    pub fn batch_preserves_order(&self, eid: usize, port: usize) -> bool {
        let mut indegree = vec![0u32; self.elements.len()];
        for outs in &self.push_to {
            for &(to, _) in outs.iter().flatten() {
                indegree[to as usize] += 1;
            }
        }
        let mut stack: Vec<usize> = match self.push_to.get(eid).and_then(|o| o.get(port)) {
            Some(Some((to, _))) => vec![*to as usize],
            Some(None) => return true,
            None => return false,
        };
        while let Some(e) = stack.pop() {
            let info = &self.info[e];
            let names_another = info
                .config
                .split(|c: char| !(c.is_alphanumeric() || "_/@.".contains(c)))
                .any(|w| {
                    self.info.iter().enumerate().any(|(i, other)| {
                        i != e
                            && w.strip_prefix(other.name.as_str())
                                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
                    })
                });
            if indegree[e] != 1
                || !ORDER_LOCAL.contains(&info.class.name)
                || names_another
                || info.outputs.contains(&PortKind::Pull)
                || self.pull_from[e].iter().any(Option::is_some)
            {
                return false;
            }
            stack.extend(self.push_to[e].iter().flatten().map(|&(to, _)| to as usize));
        }
        true
    }

    #[inline]
    pub(crate) fn push(&self, from: usize, port: usize, p: Packet) {
        match self.push_to[from].get(port).copied().flatten() {
            Some((to, tport)) => self.deliver(to as usize, tport as usize, p),
            None => self.kill(p),
        }
    }

    #[inline]
    fn deliver(&self, to: usize, port: usize, p: Packet) {
        match self.elements[to].try_borrow_mut() {
            Ok(mut e) => e.push(&Ctx::new(self, to), port, p),
            Err(_) => self.defer(to, port, p),
        }
    }

    #[cold]
    fn defer(&self, to: usize, port: usize, p: Packet) {
        let mut d = self.deferred.borrow_mut();
        if crate::fallible::reserve_deque(&mut d, 1) {
            d.push_back((to, port, p));
            self.deferred_any.set(true);
        } else {
            drop(d);
            self.count_nomem();
            self.kill(p);
        }
    }

    #[inline]
    pub(crate) fn push_batch(&self, from: usize, port: usize, b: crate::batch::Batch) {
        match self.push_to[from].get(port).copied().flatten() {
            Some((to, tport)) => {
                let (to, tport) = (to as usize, tport as usize);
                match self.elements[to].try_borrow_mut() {
                    Ok(mut e) => e.push_batch(&Ctx::new(self, to), tport, b),
                    Err(_) => {
                        for p in b {
                            self.defer(to, tport, p);
                        }
                    }
                }
            }
            None => self.kill_batch(b),
        }
    }

    #[inline]
    pub(crate) fn pull(&self, eid: usize, port: usize) -> Option<Packet> {
        let (from, fport) = self.pull_from[eid].get(port).copied().flatten()?;
        let mut e = self.elements[from as usize].try_borrow_mut().ok()?;
        e.pull(&Ctx::new(self, from as usize), fport as usize)
    }

    #[inline]
    pub(crate) fn kill(&self, p: Packet) {
        if let Ok(mut pool) = self.pool.try_borrow_mut() {
            pool.recycle(p);
        }
    }

    #[inline]
    pub(crate) fn kill_batch(&self, b: crate::batch::Batch) {
        if let Ok(mut pool) = self.pool.try_borrow_mut() {
            for p in b {
                pool.recycle(p);
            }
        }
    }

    #[inline]
    pub(crate) fn alloc(&self, len: usize) -> Option<Packet> {
        let p = match self.pool.try_borrow_mut() {
            Ok(mut pool) => pool.alloc(len),
            Err(_) => Packet::try_with_room(crate::packet::DEFAULT_HEADROOM, len, 0),
        };
        if p.is_none() {
            self.count_nomem();
        }
        p
    }

    /// Counts a packet dropped (or not made) for want of memory.
    #[cold]
    pub(crate) fn count_nomem(&self) {
        self.nomem.set(self.nomem.get() + 1);
    }

    /// Packets dropped or not made for want of memory (the `nomem_drops`
    /// router handler).
    pub fn nomem_drops(&self) -> u64 {
        self.nomem.get()
    }

    /// Takes a spare packet with a buffer of at least `size` bytes from
    /// the router's pool, for a driver to receive into, so packets the
    /// graph drops go back to the devices instead of the heap.
    pub fn take_spare(&self, size: usize) -> Option<Packet> {
        self.pool.try_borrow_mut().ok()?.take_spare(size)
    }

    #[inline]
    fn drain_deferred(&self) {
        if self.deferred_any.get() {
            self.drain_deferred_queue();
        }
    }

    fn drain_deferred_queue(&self) {
        loop {
            let next = self.deferred.borrow_mut().pop_front();
            match next {
                Some((to, port, p)) => match self.elements[to].try_borrow_mut() {
                    Ok(mut e) => e.push(&Ctx::new(self, to), port, p),
                    // Still busy: we are inside that element; the outermost
                    // drain will deliver it.
                    Err(_) => {
                        self.deferred.borrow_mut().push_front((to, port, p));
                        return;
                    }
                },
                None => {
                    self.deferred_any.set(false);
                    return;
                }
            }
        }
    }

    // ---- time ------------------------------------------------------------

    /// The recent time (see [`Ctx::recent`]).
    #[inline]
    pub(crate) fn recent(&self) -> Timestamp {
        if self.simulated {
            self.clock.now()
        } else {
            self.recent.get()
        }
    }

    /// Counts a step against the recent time, reading the clock when it
    /// has served [`RECENT_STEPS`] steps.
    #[inline]
    fn age_recent(&self) {
        match self.recent_age.get() {
            0 => self.refresh_recent(self.clock.now()),
            n => self.recent_age.set(n - 1),
        }
    }

    #[inline]
    fn refresh_recent(&self, now: Timestamp) {
        self.recent.set(now);
        self.recent_age.set(RECENT_STEPS);
    }

    // ---- tasks, timers, stopping ----------------------------------------

    pub(crate) fn set_task(&self, eid: usize, on: bool) {
        if on && !self.task_listed[eid].replace(true) {
            let n = self.ntasks.get();
            self.tasks[n].set(eid as u32);
            self.ntasks.set(n + 1);
        }
        if on && !self.task_on[eid].get() {
            self.task_woken.set(true);
        }
        self.task_on[eid].set(on);
    }

    pub(crate) fn set_timer(&self, eid: usize, id: u32, when: Timestamp) {
        let seq = self.timer_seq.get() + 1;
        self.timer_seq.set(seq);
        self.timer_live.borrow_mut().insert((eid, id), seq);
        self.timers
            .borrow_mut()
            .push(Reverse(TimerEntry { when, seq, eid, id }));
    }

    pub(crate) fn cancel_timer(&self, eid: usize, id: u32) {
        self.timer_live.borrow_mut().remove(&(eid, id));
    }

    pub(crate) fn timer_scheduled(&self, eid: usize, id: u32) -> bool {
        self.timer_live.borrow().contains_key(&(eid, id))
    }

    /// Runs every scheduled task once, round robin; true if any did work.
    pub fn run_tasks(&self) -> bool {
        // Tasks scheduled during this round wait for the next one.
        let n = self.ntasks.get();
        if n == 0 {
            return false;
        }
        let mut worked = false;
        let start = self.task_cursor.get();
        let mut at = start;
        for _ in 0..n {
            let eid = self.tasks[at].get() as usize;
            at += 1;
            if at == n {
                at = 0;
            }
            if !self.task_on[eid].get() || self.stopped.get() {
                continue;
            }
            if let Ok(mut e) = self.elements[eid].try_borrow_mut() {
                worked |= e.run_task(&Ctx::new(self, eid));
            }
            self.drain_deferred();
        }
        self.task_cursor
            .set(if start + 1 >= n { 0 } else { start + 1 });
        worked
    }

    /// Fires every timer due by now; true if any fired.
    #[inline]
    pub fn run_timers(&self) -> bool {
        self.timer_maybe_due() && self.fire_timers()
    }

    /// True if the earliest timer (live or cancelled) is due by the recent
    /// time: the clock is read only then, as reading a real clock costs
    /// more than a task round of a short path. A real-clock timer fires at most
    /// [`RECENT_STEPS`] rounds late; simulated time is read exactly.
    #[inline]
    fn timer_maybe_due(&self) -> bool {
        match self.timers.borrow().peek() {
            Some(Reverse(e)) => e.when <= self.recent(),
            None => false,
        }
    }

    fn fire_timers(&self) -> bool {
        let mut fired = false;
        loop {
            if self.timers.borrow().is_empty() {
                break;
            }
            let now = self.clock.now();
            self.refresh_recent(now);
            let entry = {
                let mut t = self.timers.borrow_mut();
                match t.peek() {
                    Some(Reverse(e)) if e.when <= now => t.pop().map(|r| r.0),
                    _ => None,
                }
            };
            let Some(e) = entry else { break };
            let live = self.timer_live.borrow().get(&(e.eid, e.id)) == Some(&e.seq);
            if !live {
                continue;
            }
            self.timer_live.borrow_mut().remove(&(e.eid, e.id));
            if let Ok(mut el) = self.elements[e.eid].try_borrow_mut() {
                el.run_timer(&Ctx::new(self, e.eid), e.id);
            }
            self.drain_deferred();
            fired = true;
            if self.stopped.get() {
                break;
            }
        }
        fired
    }

    /// When the earliest live timer is due.
    pub fn next_timer(&self) -> Option<Timestamp> {
        let mut t = self.timers.borrow_mut();
        let live = self.timer_live.borrow();
        while let Some(Reverse(e)) = t.peek() {
            if live.get(&(e.eid, e.id)) == Some(&e.seq) {
                return Some(e.when);
            }
            t.pop();
        }
        None
    }

    /// One round of the driver loop: due timers, then every task.
    pub fn step(&self) -> Step {
        self.step_rounds(1)
    }

    /// Like [`Router::step`], but keeps running rounds of every task, up to
    /// `rounds`, while they do work and no timer is due. Like Click's
    /// driver, which runs many tasks between checks of its timers and file
    /// descriptors: a source emitting one packet per task run then costs a
    /// round per packet, not a trip through the caller's loop.
    pub fn step_rounds(&self, rounds: u32) -> Step {
        if self.stopped.get() {
            return Step::Stopped;
        }
        self.task_woken.set(false);
        self.age_recent();
        let mut worked = self.run_timers();
        for i in 0..rounds {
            if i > 0 {
                self.age_recent();
            }
            let round = self.run_tasks();
            worked |= round;
            if !round || self.stopped.get() || self.timer_maybe_due() {
                break;
            }
        }
        worked |= self.task_woken.get();
        if self.stopped.get() {
            Step::Stopped
        } else if worked {
            Step::Worked
        } else {
            // The driver may now wait: read the clock again next step.
            self.recent_age.set(0);
            Step::Idle(self.next_timer())
        }
    }

    /// Runs until stopped or, when nothing is runnable and no timer is set,
    /// quiescent. With a simulated clock, idle time jumps to the next timer.
    /// Returns true if the router was stopped (false: quiescent, or a real
    /// clock has a timer in the future — the caller should wait and call
    /// again).
    pub fn run_until_idle(&self) -> bool {
        loop {
            match self.step() {
                Step::Stopped => return true,
                Step::Worked => {}
                Step::Idle(Some(t)) if self.clock.advance_to(t) => {}
                Step::Idle(_) => return false,
            }
        }
    }

    /// True once stopped.
    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    /// Stops the router.
    pub fn stop(&self) {
        self.stopped.set(true);
    }

    /// A "driver stop" request (Click's `please_stop_driver`, e.g. from
    /// `FromDump(STOP true)`): goes to the stop listener (DriverManager) if
    /// there is one, else stops the router.
    pub(crate) fn request_stop(&self) {
        match self.stop_listener.get() {
            Some(l) => {
                self.pending_stops.set(self.pending_stops.get() + 1);
                self.set_task(l, true);
            }
            None => self.stop(),
        }
    }

    pub(crate) fn take_stop_request(&self) -> bool {
        let n = self.pending_stops.get();
        if n > 0 {
            self.pending_stops.set(n - 1);
            true
        } else {
            false
        }
    }

    pub(crate) fn set_stop_listener(&self, eid: usize) {
        self.stop_listener.set(Some(eid));
    }
}

#[cfg(test)]
mod tests;

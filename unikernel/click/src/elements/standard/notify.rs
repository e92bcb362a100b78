//! Click's empty notification, simplified: a queue wakes the tasks that
//! pull from it when it goes from empty to non-empty, and those tasks sleep
//! (unschedule themselves) once every queue they pull from is empty. So an
//! idle pull path costs nothing in the guest.
//!
//! Both ends are found from the router's connections at initialize time:
//! downstream of a queue, through pull-through elements (schedulers,
//! agnostic elements in pull mode), to the elements with pull inputs and no
//! pull outputs (Unqueue, ToDump, Discard ...); upstream of a puller, to
//! the queues. A puller whose upstream holds anything that produces packets
//! on pull without notifying (a source in pull mode) never sleeps.

use alloc::vec::Vec;

use super::queue::Queue;
use crate::router::{Ctx, PortKind, Router};

/// Classes that notify their pullers (queues) or never produce (Idle).
fn notifies(class: &str) -> bool {
    matches!(class, "Queue" | "FrontDropQueue" | "Idle")
}

fn pull_outputs(r: &Router, eid: usize) -> impl Iterator<Item = usize> + '_ {
    r.info(eid)
        .outputs
        .iter()
        .enumerate()
        .filter(|(_, k)| **k == PortKind::Pull)
        .map(|(p, _)| p)
}

/// Elements whose tasks pull (possibly through pull-through elements) from
/// output `port` of `eid`.
pub fn downstream_pullers(r: &Router, eid: usize, port: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let mut stack = alloc::vec![(eid, port)];
    while let Some((e, p)) = stack.pop() {
        for c in &r.flat_config().connections {
            if c.from != e || c.from_port != p || seen.contains(&c.to) {
                continue;
            }
            seen.push(c.to);
            let mut through = false;
            for q in pull_outputs(r, c.to) {
                through = true;
                stack.push((c.to, q));
            }
            if !through && !out.contains(&c.to) {
                out.push(c.to);
            }
        }
    }
    out
}

/// The queues feeding pull input `port` of `eid`, or `None` when some
/// upstream element can produce packets without notifying.
pub fn upstream_queues(r: &Router, eid: usize, port: usize) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let mut stack = alloc::vec![(eid, port)];
    while let Some((e, p)) = stack.pop() {
        for c in &r.flat_config().connections {
            if c.to != e || c.to_port != p || seen.contains(&c.from) {
                continue;
            }
            seen.push(c.from);
            let info = r.info(c.from);
            if notifies(info.class.name) {
                if info.class.name != "Idle" {
                    out.push(c.from);
                }
                continue;
            }
            let mut any = false;
            for (q, k) in info.inputs.iter().enumerate() {
                if *k == PortKind::Pull {
                    any = true;
                    stack.push((c.from, q));
                }
            }
            if !any {
                return None;
            }
        }
    }
    Some(out)
}

/// Pull-through elements that hold packets back until a timer (the
/// shapers) or an event (TCPConn, until its connection is up): while one
/// is closed, its pullers may sleep even with packets queued, and it
/// wakes them when it opens.
fn gates(class: &str) -> bool {
    matches!(class, "DelayShaper" | "BandwidthShaper" | "TCPConn")
}

/// The shapers on the pull paths into input `port` of `eid`.
fn upstream_gates(r: &Router, eid: usize, port: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let mut stack = alloc::vec![(eid, port)];
    while let Some((e, p)) = stack.pop() {
        for c in &r.flat_config().connections {
            if c.to != e || c.to_port != p || seen.contains(&c.from) {
                continue;
            }
            seen.push(c.from);
            let info = r.info(c.from);
            if gates(info.class.name) {
                out.push(c.from);
            }
            for (q, k) in info.inputs.iter().enumerate() {
                if *k == PortKind::Pull {
                    stack.push((c.from, q));
                }
            }
        }
    }
    out
}

/// True if the element `eid` is a shaper holding packets back.
fn gate_closed(cx: &Ctx, eid: usize) -> bool {
    cx.with_element(eid, |e, _| {
        e.downcast_ref::<super::delayshaper::DelayShaper>()
            .map(|d| d.closed())
            .or_else(|| {
                e.downcast_ref::<crate::elements::ratelimit::bandwidthshaper::BandwidthShaper>()
                    .map(|b| b.closed())
            })
            .or_else(|| {
                e.downcast_ref::<crate::elements::tcp::tcpconn::TcpConn>()
                    .map(|c| c.closed())
            })
            .unwrap_or(false)
    })
    .unwrap_or(false)
}

/// What a pulling task knows about its upstream.
#[derive(Debug, Default, Clone)]
pub struct UpstreamSignal {
    /// The queues it pulls from; `None`: it cannot know, so never sleeps.
    queues: Option<Vec<usize>>,
    /// Shapers in between.
    gates: Vec<usize>,
}

impl UpstreamSignal {
    /// Looks up the queues feeding pull input `port` of the element `cx`
    /// belongs to.
    pub fn new(cx: &Ctx, port: usize) -> Self {
        UpstreamSignal {
            queues: upstream_queues(cx.router(), cx.eid(), port),
            gates: upstream_gates(cx.router(), cx.eid(), port),
        }
    }

    /// True if a packet may be waiting upstream (Click's signal is active):
    /// false only when every upstream queue is empty.
    pub fn active(&self, cx: &Ctx) -> bool {
        if self.gates.iter().any(|&g| gate_closed(cx, g)) {
            return false;
        }
        match &self.queues {
            None => true,
            Some(_) => self.known_nonempty(cx),
        }
    }

    /// True if an upstream queue is known to hold a packet: a pull that
    /// returned nothing (an element in between diverted a packet) is worth
    /// retrying at once, and counts as progress for the driver.
    pub fn known_nonempty(&self, cx: &Ctx) -> bool {
        if self.gates.iter().any(|&g| gate_closed(cx, g)) {
            return false;
        }
        self.queues.as_ref().is_some_and(|qs| {
            qs.iter().any(|&q| {
                cx.with_element(q, |e, _| {
                    e.downcast_ref::<Queue>().is_some_and(|q| !q.is_empty())
                })
                .unwrap_or(false)
            })
        })
    }
}

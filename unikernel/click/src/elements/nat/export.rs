//! State export for the rewriters: every mapping travels with its keys,
//! outputs, connection state and idle time, so an importing instance
//! continues each connection with the same external ports and rewrites,
//! and expires it when the original would have.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::flowid::FlowId;
use super::rewriter::{class_of, quad, unquad, Rewriter};
use super::spec::SpecKind;
use crate::packet::Packet;
use crate::state::{
    decode, encode, Event, Fields, FlowFilter, FlowKey, Role, StateError, StateInfo,
    StatefulElement,
};
use crate::time::Timestamp;

/// Format version of the records.
const VERSION: u16 = 1;

type Quad = ([u8; 4], u16, [u8; 4], u16);

/// One exported mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRecord {
    /// Which table (IPRewriter: 0 TCP, 1 UDP).
    pub map: u8,
    /// IP protocol of the packets that made it.
    pub proto: u8,
    /// The original flow (host-order ports).
    pub flow: Quad,
    /// What it is rewritten to.
    pub rewritten: Quad,
    /// Forward and reply outputs.
    pub out: [u16; 2],
    /// Input whose spec made it.
    pub input: u8,
    /// Connection-tracking state.
    pub tflags: u8,
    /// REPLY_ANNO value.
    pub reply_anno: u8,
    /// Milliseconds since its last packet.
    pub idle_ms: i64,
}

/// Shared supporting state: the sequential allocation cursor of each
/// input's pattern (0 otherwise), so a merged instance does not hand out
/// ports again from the start. Shared reporting state is the mapping
/// failures per input (a `Vec<u32>`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorRecord {
    /// Cursor per input.
    pub cursors: Vec<u32>,
}

/// Events mode of a rewriter: the lookup keys (both directions) of the
/// flows being moved, the filter for flows that start meanwhile, and the
/// packets kept.
pub struct EventSet {
    filter: FlowFilter,
    keys: BTreeSet<(usize, FlowId)>,
    held: Vec<Event>,
}

/// Packets held at most between two takes; more are dropped (a move
/// takes them every few milliseconds, so only a stalled one gets here,
/// and the guest's memory must outlive it).
pub const HELD_MAX: usize = 16384;

impl EventSet {
    /// Keeps `p` (from input `port`, looked up as `key`) if it belongs to
    /// a flow being moved. A packet the filter matches belongs to one of
    /// the selected flows (they were chosen by either direction) or to a
    /// new one, which must start at the destination.
    pub fn hold(&mut self, port: usize, key: Option<(usize, FlowId)>, p: &Packet) -> bool {
        let moved = key.is_some_and(|k| self.keys.contains(&k)) || self.filter.matches_packet(p);
        if moved && self.held.len() < HELD_MAX {
            self.held.push(Event::of(port, p));
        }
        moved
    }
}

fn key(f: &Quad, proto: u8) -> FlowKey {
    FlowKey {
        src: f.0,
        dst: f.2,
        proto,
        sport: f.1,
        dport: f.3,
    }
}

impl Rewriter {
    fn records(&self, filter: &FlowFilter) -> Vec<(u32, FlowRecord)> {
        let t = self.table();
        let now = self.now_ms();
        t.live_flows()
            .filter_map(|i| {
                let f = t.flow(i);
                let r = FlowRecord {
                    map: f.map,
                    proto: f.proto,
                    flow: quad(&f.key[0]),
                    rewritten: quad(&f.rewritten(0)),
                    out: f.out,
                    input: f.input,
                    tflags: f.tflags,
                    reply_anno: f.reply_anno,
                    idle_ms: (now - f.last).max(0),
                };
                let hit = filter.matches_either(&key(&r.flow, r.proto))
                    || filter.matches_either(&key(&r.rewritten, r.proto));
                hit.then_some((i, r))
            })
            .collect()
    }
}

impl StatefulElement for Rewriter {
    fn info(&self) -> StateInfo {
        StateInfo {
            version: VERSION,
            per_flow: Some((Role::Supporting, Fields::FLOW)),
            shared_supporting: true,
            shared_reporting: true,
            events: true,
        }
    }

    fn export_flows(&self, filter: &FlowFilter) -> Vec<u8> {
        let recs: Vec<FlowRecord> = self.records(filter).into_iter().map(|(_, r)| r).collect();
        encode(self.class_name(), VERSION, &recs)
    }

    fn import_flows(&mut self, blob: &[u8], now: Timestamp) -> Result<usize, StateError> {
        let recs: Vec<FlowRecord> = decode(self.class_name(), VERSION, blob)?;
        let now_ms = now.msec();
        let kind = self.kind();
        let nmaps = if kind == super::rewriter::Kind::Ip {
            2
        } else {
            1
        };
        let mut n = 0;
        for r in recs {
            let bad = r.map as usize >= nmaps
                || r.out[0] as usize >= self.nout()
                || r.out[1] as usize >= self.nout();
            if bad {
                continue;
            }
            let map = r.map as usize;
            let fwd = unquad(&r.flow);
            let rw = unquad(&r.rewritten);
            for k in [fwd, rw.reverse()] {
                if let Some((old, _)) = self.table().lookup(map, &k) {
                    self.destroy_flow(old);
                }
            }
            let input = if (r.input as usize) < self.specs().len() {
                r.input
            } else {
                0
            };
            let class = class_of(kind, r.proto, r.tflags);
            let last = now_ms - r.idle_ms.max(0);
            let t = self.table_mut();
            // Out of memory the rest of the state is not restored; the
            // flows are remade by their next packets.
            let Some(i) = t.insert(map, fwd, rw, r.out, r.proto, input, class, last) else {
                break;
            };
            super::rewriter::adjust_deltas(kind, t, i);
            let f = t.flow_mut(i);
            f.tflags = r.tflags;
            f.reply_anno = r.reply_anno;
            if let Some(s) = self.specs_mut().get_mut(input as usize) {
                s.count += 1;
            }
            n += 1;
        }
        Ok(n)
    }

    fn delete_flows(&mut self, filter: &FlowFilter) -> usize {
        let gone: Vec<u32> = self.records(filter).into_iter().map(|(i, _)| i).collect();
        for &i in &gone {
            self.destroy_flow(i);
        }
        gone.len()
    }

    fn export_shared(&self, role: Role) -> Vec<u8> {
        let specs = self.specs().iter();
        match role {
            Role::Supporting => {
                let cursors = specs
                    .map(|s| match &s.kind {
                        SpecKind::Pattern(p) => p.borrow().next,
                        _ => 0,
                    })
                    .collect();
                encode(self.class_name(), VERSION, &CursorRecord { cursors })
            }
            Role::Reporting => {
                let failures: Vec<u32> = specs.map(|s| s.failures).collect();
                encode(self.class_name(), VERSION, &failures)
            }
        }
    }

    fn import_shared(
        &mut self,
        role: Role,
        blob: &[u8],
        _now: Timestamp,
    ) -> Result<(), StateError> {
        match role {
            Role::Supporting => {
                let rec: CursorRecord = decode(self.class_name(), VERSION, blob)?;
                for (s, &c) in self.specs_mut().iter_mut().zip(&rec.cursors) {
                    if let SpecKind::Pattern(p) = &s.kind {
                        let mut p = p.borrow_mut();
                        p.next = p.next.max(c);
                    }
                }
            }
            Role::Reporting => {
                let failures: Vec<u32> = decode(self.class_name(), VERSION, blob)?;
                for (s, f) in self.specs_mut().iter_mut().zip(failures) {
                    s.failures += f;
                }
            }
        }
        Ok(())
    }

    fn set_events(&mut self, filter: Option<&FlowFilter>) -> Result<usize, StateError> {
        let Some(filter) = filter else {
            self.events = None;
            return Ok(0);
        };
        let mut keys = BTreeSet::new();
        let mut n = 0;
        for (i, _) in self.records(filter) {
            let f = self.table().flow(i);
            keys.insert((f.map as usize, f.key[0]));
            keys.insert((f.map as usize, f.key[1]));
            n += 1;
        }
        self.events = Some(alloc::boxed::Box::new(EventSet {
            filter: filter.clone(),
            keys,
            held: Vec::new(),
        }));
        Ok(n)
    }

    fn take_events(&mut self, out: &mut Vec<Event>) {
        if let Some(ev) = self.events.as_deref_mut() {
            out.append(&mut ev.held);
        }
    }
}

//! State export for the rewriters: every mapping travels with its keys,
//! outputs, connection state and idle time, so an importing instance
//! continues each connection with the same external ports and rewrites,
//! and expires it when the original would have.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::rewriter::{class_of, quad, unquad, Rewriter};
use super::spec::SpecKind;
use crate::state::{decode, encode, FlowFilter, FlowKey, StateError, StatefulElement};
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

/// Shared counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedRecord {
    /// Mapping failures per input.
    pub failures: Vec<u32>,
    /// Sequential allocation cursor of each input's pattern (0 otherwise).
    pub cursors: Vec<u32>,
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

    fn export_shared(&self) -> Vec<u8> {
        let rec = SharedRecord {
            failures: self.specs().iter().map(|s| s.failures).collect(),
            cursors: self
                .specs()
                .iter()
                .map(|s| match &s.kind {
                    SpecKind::Pattern(p) => p.borrow().next,
                    _ => 0,
                })
                .collect(),
        };
        encode(self.class_name(), VERSION, &rec)
    }

    fn import_shared(&mut self, blob: &[u8]) -> Result<(), StateError> {
        let rec: SharedRecord = decode(self.class_name(), VERSION, blob)?;
        for (k, s) in self.specs_mut().iter_mut().enumerate() {
            s.failures += rec.failures.get(k).copied().unwrap_or(0);
            if let (SpecKind::Pattern(p), Some(&c)) = (&s.kind, rec.cursors.get(k)) {
                let mut p = p.borrow_mut();
                p.next = p.next.max(c);
            }
        }
        Ok(())
    }
}

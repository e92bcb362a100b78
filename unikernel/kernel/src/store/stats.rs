//! Monitoring counters under `data/mb/` (our addition to ClickOS's layout):
//!
//! | path | meaning |
//! | --- | --- |
//! | `data/mb/nics` | number of NICs |
//! | `data/mb/nic/<N>/rx_packets`, `rx_bytes`, `tx_packets`, `tx_bytes`, `drops` | per NIC, since boot, across reconfigurations |
//! | `data/mb/busy` | per mille of the last period spent moving packets |
//! | `data/mb/loads` | configs loaded so far |
//!
//! Values are written about once a second, and only those that changed, so
//! an idle guest writes nothing and is never woken to publish.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::router::click::NicStats;

/// How often counters are published while they change.
pub const PERIOD_NS: u64 = 1_000_000_000;

/// What to publish.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Per-NIC counters.
    pub nics: Vec<NicStats>,
    /// Busy share, per mille.
    pub busy: u32,
    /// Configs loaded.
    pub loads: u32,
}

/// Remembers what was published and yields what changed.
#[derive(Default)]
pub struct Publisher {
    last: Option<Snapshot>,
    last_ns: u64,
}

impl Publisher {
    /// Nothing published yet.
    pub fn new() -> Publisher {
        Publisher::default()
    }

    /// True if these values differ from what was published.
    pub fn dirty(&self, nics: &[NicStats], busy: u32, loads: u32) -> bool {
        match &self.last {
            None => true,
            Some(l) => l.nics != nics || l.busy != busy || l.loads != loads,
        }
    }

    /// When the next publication is due if the counters are dirty.
    pub fn due_ns(&self) -> u64 {
        if self.last.is_none() {
            0
        } else {
            self.last_ns + PERIOD_NS
        }
    }

    /// The (path, value) writes that bring the store up to `now`, recorded
    /// as published at `now_ns`.
    pub fn publish(&mut self, now: &Snapshot, now_ns: u64) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let last = self.last.take();
        let prev_nics = last.as_ref().map(|l| l.nics.as_slice()).unwrap_or(&[]);
        if last.as_ref().map(|l| l.nics.len()) != Some(now.nics.len()) {
            out.push(("data/mb/nics".into(), now.nics.len().to_string()));
        }
        for (i, s) in now.nics.iter().enumerate() {
            let p = prev_nics.get(i);
            let fields = [
                ("rx_packets", s.rx_packets, p.map(|p| p.rx_packets)),
                ("rx_bytes", s.rx_bytes, p.map(|p| p.rx_bytes)),
                ("tx_packets", s.tx_packets, p.map(|p| p.tx_packets)),
                ("tx_bytes", s.tx_bytes, p.map(|p| p.tx_bytes)),
                ("drops", s.drops, p.map(|p| p.drops)),
            ];
            for (name, v, old) in fields {
                if old != Some(v) {
                    out.push((format!("data/mb/nic/{i}/{name}"), v.to_string()));
                }
            }
        }
        if last.as_ref().map(|l| l.busy) != Some(now.busy) {
            out.push(("data/mb/busy".into(), now.busy.to_string()));
        }
        if last.as_ref().map(|l| l.loads) != Some(now.loads) {
            out.push(("data/mb/loads".into(), now.loads.to_string()));
        }
        self.last = Some(now.clone());
        self.last_ns = now_ns;
        out
    }
}

/// Time spent moving packets, as a share of wall time per period.
#[derive(Default)]
pub struct BusyMeter {
    start_ns: u64,
    busy_ns: u64,
}

impl BusyMeter {
    /// Adds a stretch of packet work.
    pub fn add(&mut self, ns: u64) {
        self.busy_ns += ns;
    }

    /// Per mille busy since the last call, which starts a new period.
    pub fn take_permille(&mut self, now_ns: u64) -> u32 {
        let span = now_ns.saturating_sub(self.start_ns).max(1);
        let pm = (self.busy_ns.saturating_mul(1000) / span).min(1000) as u32;
        self.start_ns = now_ns;
        self.busy_ns = 0;
        pm
    }

    /// Per mille busy so far in this period (does not reset).
    pub fn peek_permille(&self, now_ns: u64) -> u32 {
        let span = now_ns.saturating_sub(self.start_ns).max(1);
        (self.busy_ns.saturating_mul(1000) / span).min(1000) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn snap(rx: u64, busy: u32) -> Snapshot {
        Snapshot {
            nics: vec![
                NicStats {
                    rx_packets: rx,
                    rx_bytes: rx * 60,
                    ..NicStats::default()
                },
                NicStats::default(),
            ],
            busy,
            loads: 1,
        }
    }

    #[test]
    fn first_publication_writes_everything_then_only_changes() {
        let mut p = Publisher::new();
        assert_eq!(p.due_ns(), 0);
        let all = p.publish(&snap(1, 5), 10);
        assert_eq!(all.len(), 1 + 2 * 5 + 2);
        assert!(all.contains(&("data/mb/nic/0/rx_bytes".into(), "60".into())));
        let s = snap(1, 5);
        assert!(!p.dirty(&s.nics, 5, 1));
        assert!(p.dirty(&s.nics, 4, 1));
        assert!(p.dirty(&snap(2, 5).nics, 5, 1));
        assert_eq!(p.due_ns(), 10 + PERIOD_NS);
        let changed = p.publish(&snap(2, 0), 20);
        assert_eq!(
            changed,
            vec![
                ("data/mb/nic/0/rx_packets".into(), "2".into()),
                ("data/mb/nic/0/rx_bytes".into(), "120".into()),
                ("data/mb/busy".into(), "0".into()),
            ]
        );
    }

    #[test]
    fn busy_is_a_share_of_the_period() {
        let mut b = BusyMeter::default();
        b.add(250_000_000);
        assert_eq!(b.peek_permille(1_000_000_000), 250);
        assert_eq!(b.take_permille(1_000_000_000), 250);
        assert_eq!(b.take_permille(2_000_000_000), 0);
        b.add(u64::MAX / 2);
        assert_eq!(b.take_permille(2_000_000_001), 1000);
    }
}

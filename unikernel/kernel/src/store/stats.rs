//! Publishing the monitoring record under `data/mb/` (its layout is
//! [`clickos_proto::stats`]'s). Values are written about once a second,
//! and only those that changed, so an idle guest writes nothing and is
//! never woken to publish, unless the host asks for a heartbeat
//! (`data/mb/beat_ms`): then a publication goes out every beat period,
//! changed or not, with the guest's clock as `beat`.

use alloc::string::String;
use alloc::vec::Vec;

use clickos_proto::{Home, NicCounters, Stats};

/// How often counters are published while they change.
pub const PERIOD_NS: u64 = 1_000_000_000;

/// Remembers what was published and yields what changed.
#[derive(Default)]
pub struct Publisher {
    last: Option<Stats>,
    last_ns: u64,
    /// The heartbeat period the host asked for.
    beat_ns: Option<u64>,
}

impl Publisher {
    /// Nothing published yet.
    pub fn new() -> Publisher {
        Publisher::default()
    }

    /// True if these values differ from what was published (the heap's
    /// do not count: they ride along), or a heartbeat is asked for.
    pub fn dirty(&self, nics: &[NicCounters], busy: u32, loads: u32) -> bool {
        match &self.last {
            None => true,
            Some(_) if self.beat_ns.is_some() => true,
            Some(l) => l.nics != nics || l.busy != busy || l.loads != loads,
        }
    }

    /// Sets the heartbeat period (`None`: none).
    pub fn set_beat_ms(&mut self, ms: Option<u64>) {
        self.beat_ns = ms.map(|ms| ms * 1_000_000);
    }

    /// The guest's clock for this publication's `beat`, while beating.
    pub fn beat(&self, now_ns: u64) -> Option<u64> {
        self.beat_ns.map(|_| now_ns / 1_000_000)
    }

    /// When the next publication is due if the counters are dirty.
    pub fn due_ns(&self) -> u64 {
        if self.last.is_none() {
            0
        } else {
            self.last_ns + self.beat_ns.unwrap_or(PERIOD_NS).min(PERIOD_NS)
        }
    }

    /// The (path, value) writes that bring the store up to `now`, recorded
    /// as published at `now_ns`.
    pub fn publish(&mut self, now: &Stats, now_ns: u64) -> Vec<(String, String)> {
        let out = now.changes(self.last.as_ref(), Home::Own);
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

    fn snap(rx: u64, busy: u32) -> Stats {
        Stats {
            nics: vec![
                NicCounters {
                    rx_packets: rx,
                    rx_bytes: rx * 60,
                    ..NicCounters::default()
                },
                NicCounters::default(),
            ],
            busy,
            loads: 1,
            ..Stats::default()
        }
    }

    #[test]
    fn first_publication_writes_everything_then_only_changes() {
        let mut p = Publisher::new();
        assert_eq!(p.due_ns(), 0);
        let all = p.publish(&snap(1, 5), 10);
        assert_eq!(all.len(), 1 + 1 + 2 * 5 + 2 + 2);
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
    fn a_heartbeat_publishes_every_beat_period_changed_or_not() {
        let mut p = Publisher::new();
        p.publish(&snap(1, 5), 0);
        let s = snap(1, 5);
        assert!(!p.dirty(&s.nics, 5, 1));
        assert_eq!(p.beat(7_000_000), None);
        p.set_beat_ms(Some(50));
        assert!(p.dirty(&s.nics, 5, 1), "beating");
        assert_eq!(p.due_ns(), 50_000_000);
        let now = 50_000_000;
        let beat = Stats {
            beat: p.beat(now),
            ..snap(1, 5)
        };
        assert_eq!(
            p.publish(&beat, now),
            vec![("data/mb/beat".into(), "50".into())]
        );
        assert_eq!(p.due_ns(), 100_000_000);
        // Heap values ride along; alone they cause nothing.
        p.set_beat_ms(None);
        assert!(!p.dirty(&s.nics, 5, 1));
        assert_eq!(p.due_ns(), now + PERIOD_NS);
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

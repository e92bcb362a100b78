//! The monitoring record the guest publishes under `data/mb/` (our
//! addition to ClickOS's layout), one decimal value per node:
//!
//! | path | meaning |
//! | --- | --- |
//! | `data/mb/nics` | number of NICs |
//! | `data/mb/nic/<N>/rx_packets`, `rx_bytes`, `tx_packets`, `tx_bytes`, `drops` | per NIC, since boot, across reconfigurations ([`NicCounters`]) |
//! | `data/mb/busy` | per mille of the last period spent moving packets |
//! | `data/mb/loads` | configs loaded so far |
//! | `data/mb/format` | the record's format, [`FORMAT`] (missing: 1, the nodes above only) |
//! | `data/mb/heap_used`, `heap_size` | heap bytes in use, and the bytes the heap can give out (format 2) |
//! | `data/mb/beat` | the guest's clock, ms since boot, at its last publication; written only while the host asks for a heartbeat (format 2) |
//! | `data/mb/beat_ms` | written by the host: the heartbeat period it asks for, in ms (0 or missing: none); the guest watches it (format 2) |
//!
//! The guest writes only the nodes that changed ([`Stats::changes`]); the
//! host reads them back ([`NicCounters::decode`], [`parse_counter`]).
//! Counters are published about once a second while they change; while a
//! heartbeat is asked for, every beat period whether or not they changed,
//! so `beat` moves as long as the guest runs and the counters beside it are
//! that fresh. The heap's values ride along with publications and never
//! cause one (they move a little with every store message).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::Home;

/// Frame and byte counts of one NIC, kept across reconfigurations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NicCounters {
    /// Frames received from the device.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Frames handed to the device.
    pub tx_packets: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Frames lost in the guest: received on a NIC no `FromDevice` reads,
    /// dropped because a `ToDevice` queue was full, or dropped by the
    /// driver (no memory for a receive buffer).
    pub drops: u64,
}

impl NicCounters {
    /// The node names under `data/mb/nic/<N>/`, in the order they are
    /// written.
    pub const FIELDS: [&'static str; 5] =
        ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "drops"];

    /// The values, in [`FIELDS`](Self::FIELDS) order.
    pub fn values(&self) -> [u64; 5] {
        [
            self.rx_packets,
            self.rx_bytes,
            self.tx_packets,
            self.tx_bytes,
            self.drops,
        ]
    }

    /// The counters from values in [`FIELDS`](Self::FIELDS) order.
    pub fn from_values([rx_packets, rx_bytes, tx_packets, tx_bytes, drops]: [u64; 5]) -> Self {
        NicCounters {
            rx_packets,
            rx_bytes,
            tx_packets,
            tx_bytes,
            drops,
        }
    }

    /// Appends the writes for NIC `i` under `home`: every field, or only
    /// those that differ from `prev`.
    pub fn encode(
        &self,
        home: Home,
        i: usize,
        prev: Option<&NicCounters>,
        out: &mut Vec<(String, String)>,
    ) {
        let old = prev.map(NicCounters::values);
        let dir = home.nic(i);
        for (k, (name, v)) in Self::FIELDS.iter().zip(self.values()).enumerate() {
            if old.map(|o| o[k]) != Some(v) {
                out.push((format!("{dir}/{name}"), v.to_string()));
            }
        }
    }

    /// Reads NIC `i`'s counters under `home` through `read` (a node's
    /// value, `None` if missing); a missing or unreadable field is 0, as
    /// before the guest first publishes.
    pub fn decode<E>(
        home: Home,
        i: usize,
        mut read: impl FnMut(&str) -> Result<Option<String>, E>,
    ) -> Result<NicCounters, E> {
        let dir = home.nic(i);
        let mut v = [0; 5];
        for (slot, name) in v.iter_mut().zip(Self::FIELDS) {
            *slot = read(&format!("{dir}/{name}"))?
                .as_deref()
                .and_then(parse_counter)
                .unwrap_or(0);
        }
        Ok(NicCounters::from_values(v))
    }
}

/// A counter node's value: decimal, surrounding whitespace ignored.
pub fn parse_counter(v: &str) -> Option<u64> {
    v.trim().parse().ok()
}

/// The record's format: 2 added `format`, the heap and the heartbeat.
pub const FORMAT: u32 = 2;

/// Shortest heartbeat period a guest keeps, in ms.
pub const BEAT_MIN_MS: u64 = 10;
/// Longest heartbeat period, in ms (counters go out at least this often
/// anyway while they change).
pub const BEAT_MAX_MS: u64 = 1000;

/// The heartbeat period a `beat_ms` value asks for, in ms, within
/// [`BEAT_MIN_MS`]..=[`BEAT_MAX_MS`]; `None` for none (0, or not a number).
pub fn parse_beat_ms(v: &str) -> Option<u64> {
    match parse_counter(v)? {
        0 => None,
        ms => Some(ms.clamp(BEAT_MIN_MS, BEAT_MAX_MS)),
    }
}

/// Everything the guest publishes under `data/mb/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Per-NIC counters.
    pub nics: Vec<NicCounters>,
    /// Busy share, per mille.
    pub busy: u32,
    /// Configs loaded.
    pub loads: u32,
    /// Heap bytes in use (live allocations).
    pub heap_used: u64,
    /// Heap bytes the guest can use (its memory less what is held back).
    pub heap_size: u64,
    /// The guest's clock in ms at this publication, while a heartbeat is
    /// asked for.
    pub beat: Option<u64>,
}

impl Stats {
    /// The (path, value) writes under `home` that bring a store holding
    /// `prev` (`None`: nothing yet) up to `self`: only the nodes that
    /// changed.
    pub fn changes(&self, prev: Option<&Stats>, home: Home) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if prev.is_none() {
            out.push((home.format(), FORMAT.to_string()));
        }
        if prev.map(|p| p.nics.len()) != Some(self.nics.len()) {
            out.push((home.nics(), self.nics.len().to_string()));
        }
        for (i, n) in self.nics.iter().enumerate() {
            // A NIC new to the record is written whole.
            n.encode(home, i, prev.and_then(|p| p.nics.get(i)), &mut out);
        }
        if prev.map(|p| p.busy) != Some(self.busy) {
            out.push((home.busy(), self.busy.to_string()));
        }
        if prev.map(|p| p.loads) != Some(self.loads) {
            out.push((home.loads(), self.loads.to_string()));
        }
        if prev.map(|p| p.heap_used) != Some(self.heap_used) {
            out.push((home.heap_used(), self.heap_used.to_string()));
        }
        if prev.map(|p| p.heap_size) != Some(self.heap_size) {
            out.push((home.heap_size(), self.heap_size.to_string()));
        }
        // Last, so a host that sees the new beat sees the counters with it.
        if let Some(b) = self.beat.filter(|&b| prev.and_then(|p| p.beat) != Some(b)) {
            out.push((home.beat(), b.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec;

    fn nic(rx: u64) -> NicCounters {
        NicCounters {
            rx_packets: rx,
            rx_bytes: rx * 60,
            tx_packets: 3,
            tx_bytes: 180,
            drops: 1,
        }
    }

    #[test]
    fn nic_counters_round_trip_through_the_store() {
        let stats = Stats {
            nics: vec![nic(1), NicCounters::default(), nic(u64::MAX / 60)],
            busy: 250,
            loads: 2,
            heap_used: 1 << 20,
            heap_size: 30 << 20,
            beat: Some(1234),
        };
        for home in [Home::Own, Home::Domain(9)] {
            let store: BTreeMap<String, String> = stats.changes(None, home).into_iter().collect();
            let read = |p: &str| Ok::<_, ()>(store.get(p).cloned());
            for (i, n) in stats.nics.iter().enumerate() {
                assert_eq!(NicCounters::decode(home, i, read).unwrap(), *n);
            }
            // Not published (yet): zeros.
            assert_eq!(
                NicCounters::decode(home, 3, read).unwrap(),
                NicCounters::default()
            );
            let num = |p: String| store.get(&p).and_then(|v| parse_counter(v));
            assert_eq!(num(home.nics()), Some(3));
            assert_eq!(num(home.busy()), Some(250));
            assert_eq!(num(home.loads()), Some(2));
            assert_eq!(num(home.format()), Some(u64::from(FORMAT)));
            assert_eq!(num(home.heap_used()), Some(1 << 20));
            assert_eq!(num(home.heap_size()), Some(30 << 20));
            assert_eq!(num(home.beat()), Some(1234));
        }
        // The decoder passes the store's errors on.
        assert_eq!(
            NicCounters::decode(Home::Own, 0, |_| Err::<Option<String>, _>("down")),
            Err("down")
        );
    }

    #[test]
    fn the_wire_format_is_clickos_paths_and_decimal_text() {
        let s = Stats {
            nics: vec![nic(1), NicCounters::default()],
            busy: 5,
            loads: 1,
            heap_used: 100,
            heap_size: 1000,
            beat: None,
        };
        let all = s.changes(None, Home::Own);
        assert_eq!(all.len(), 1 + 1 + 2 * 5 + 2 + 2);
        assert_eq!(all[0], ("data/mb/format".into(), "2".into()));
        assert_eq!(all[1], ("data/mb/nics".into(), "2".into()));
        assert_eq!(all[2], ("data/mb/nic/0/rx_packets".into(), "1".into()));
        assert_eq!(all[3], ("data/mb/nic/0/rx_bytes".into(), "60".into()));
        assert_eq!(all[6], ("data/mb/nic/0/drops".into(), "1".into()));
        assert_eq!(all[12], ("data/mb/busy".into(), "5".into()));
        assert_eq!(all[13], ("data/mb/loads".into(), "1".into()));
        assert_eq!(all[14], ("data/mb/heap_used".into(), "100".into()));
        assert_eq!(all[15], ("data/mb/heap_size".into(), "1000".into()));
        assert_eq!(
            Stats::changes(&s, Some(&s), Home::Domain(2)),
            Vec::<(String, String)>::new()
        );
        let mut next = s.clone();
        next.nics[0].rx_packets = 2;
        next.nics[0].rx_bytes = 120;
        next.busy = 0;
        next.heap_used = 160;
        next.beat = Some(77);
        next.nics.push(NicCounters::default());
        assert_eq!(
            next.changes(Some(&s), Home::Domain(2)),
            vec![
                ("/local/domain/2/data/mb/nics".into(), "3".into()),
                (
                    "/local/domain/2/data/mb/nic/0/rx_packets".into(),
                    "2".into()
                ),
                (
                    "/local/domain/2/data/mb/nic/0/rx_bytes".into(),
                    "120".into()
                ),
                (
                    "/local/domain/2/data/mb/nic/2/rx_packets".into(),
                    "0".into()
                ),
                ("/local/domain/2/data/mb/nic/2/rx_bytes".into(), "0".into()),
                (
                    "/local/domain/2/data/mb/nic/2/tx_packets".into(),
                    "0".into()
                ),
                ("/local/domain/2/data/mb/nic/2/tx_bytes".into(), "0".into()),
                ("/local/domain/2/data/mb/nic/2/drops".into(), "0".into()),
                ("/local/domain/2/data/mb/busy".into(), "0".into()),
                ("/local/domain/2/data/mb/heap_used".into(), "160".into()),
                ("/local/domain/2/data/mb/beat".into(), "77".into()),
            ]
        );
        // The same beat again is not rewritten.
        let mut again = next.clone();
        again.heap_used = 150;
        assert_eq!(
            again.changes(Some(&next), Home::Own),
            vec![("data/mb/heap_used".into(), "150".into())]
        );
        assert_eq!(parse_counter(" 17\n"), Some(17));
        assert_eq!(parse_beat_ms("50"), Some(50));
        assert_eq!(parse_beat_ms("1"), Some(BEAT_MIN_MS));
        assert_eq!(parse_beat_ms("60000"), Some(BEAT_MAX_MS));
        assert_eq!(parse_beat_ms("0"), None);
        assert_eq!(parse_beat_ms("soon"), None);
        assert_eq!(parse_counter("x"), None);
    }
}

//! The monitoring record the guest publishes under `data/mb/` (our
//! addition to ClickOS's layout), one decimal value per node:
//!
//! | path | meaning |
//! | --- | --- |
//! | `data/mb/nics` | number of NICs |
//! | `data/mb/nic/<N>/rx_packets`, `rx_bytes`, `tx_packets`, `tx_bytes`, `drops` | per NIC, since boot, across reconfigurations ([`NicCounters`]) |
//! | `data/mb/busy` | per mille of the last period spent moving packets |
//! | `data/mb/loads` | configs loaded so far |
//!
//! The guest writes only the nodes that changed ([`Stats::changes`]); the
//! host reads them back ([`NicCounters::decode`], [`parse_counter`]).

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

/// Everything the guest publishes under `data/mb/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Per-NIC counters.
    pub nics: Vec<NicCounters>,
    /// Busy share, per mille.
    pub busy: u32,
    /// Configs loaded.
    pub loads: u32,
}

impl Stats {
    /// The (path, value) writes under `home` that bring a store holding
    /// `prev` (`None`: nothing yet) up to `self`: only the nodes that
    /// changed.
    pub fn changes(&self, prev: Option<&Stats>, home: Home) -> Vec<(String, String)> {
        let mut out = Vec::new();
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
        };
        let all = s.changes(None, Home::Own);
        assert_eq!(all.len(), 1 + 2 * 5 + 2);
        assert_eq!(all[0], ("data/mb/nics".into(), "2".into()));
        assert_eq!(all[1], ("data/mb/nic/0/rx_packets".into(), "1".into()));
        assert_eq!(all[2], ("data/mb/nic/0/rx_bytes".into(), "60".into()));
        assert_eq!(all[5], ("data/mb/nic/0/drops".into(), "1".into()));
        assert_eq!(all[11], ("data/mb/busy".into(), "5".into()));
        assert_eq!(all[12], ("data/mb/loads".into(), "1".into()));
        assert_eq!(
            Stats::changes(&s, Some(&s), Home::Domain(2)),
            Vec::<(String, String)>::new()
        );
        let mut next = s.clone();
        next.nics[0].rx_packets = 2;
        next.nics[0].rx_bytes = 120;
        next.busy = 0;
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
            ]
        );
        assert_eq!(parse_counter(" 17\n"), Some(17));
        assert_eq!(parse_counter("x"), None);
    }
}

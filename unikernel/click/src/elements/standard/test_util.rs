//! Graph helpers for this group's unit tests.

use alloc::vec::Vec;

use crate::lang::FlatConfig;
use crate::packet::Packet;
use crate::testing::flat;

/// Like [`flat`], plus an `Idle` feeding input 0 of every element that has
/// nothing connected there (the tests inject packets into those), except
/// sources.
pub fn fed(elements: &[(&str, &str, &str)], conns: &[(usize, usize, usize, usize)]) -> FlatConfig {
    let mut cs: Vec<(usize, usize, usize, usize)> = conns.to_vec();
    let mut n = 0;
    for (i, (_, class, _)) in elements.iter().enumerate() {
        let source = matches!(
            *class,
            "InfiniteSource" | "RatedSource" | "TimedSource" | "Idle"
        );
        if !source && !conns.iter().any(|c| c.2 == i && c.3 == 0) {
            cs.push((elements.len() + n, 0, i, 0));
            n += 1;
        }
    }
    let mut els: Vec<(&str, &str, &str)> = elements.to_vec();
    els.extend(core::iter::repeat_n(("idle", "Idle", ""), n));
    let mut f = flat(&els, &cs);
    for (k, d) in f.elements.iter_mut().skip(elements.len()).enumerate() {
        d.name = alloc::format!("idle{k}");
    }
    f
}

/// A one-byte packet `[b]` painted `c`.
pub fn painted(c: u8, b: u8) -> Packet {
    let mut p = Packet::from_slice(&[b]);
    p.set_paint(c);
    p
}

/// The timestamps of the packets sink `name` got, in ms since the start.
pub fn stamped_msec(r: &crate::Router, name: &str) -> Vec<i64> {
    let sink = r.find(name).unwrap();
    r.with_element(sink, |e, _| {
        e.downcast_ref::<crate::testing::TestSink>()
            .unwrap()
            .got
            .iter()
            .map(|(_, p)| (p.timestamp() - crate::time::SimClock::START).nanos() / 1_000_000)
            .collect()
    })
    .unwrap()
}

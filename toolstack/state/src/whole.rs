//! Operations on a middlebox's whole state: clone (shared supporting
//! state to a sibling), merge (everything into another instance, for
//! scale-in) and snapshot/restore (every element's state in one file).

use anyhow::{bail, Context, Result};
use click::state::{Chunks, Parts, PutCount};
use serde::{Deserialize, Serialize};

use crate::moving::{move_flows, same_in, Moved};
use crate::{delete, get, list, put, Link};

/// Copies every element's shared supporting state (an ARP table, port
/// cursors) from `src` into `dst`'s namesakes, where it merges. Reporting
/// state is never cloned (it would count twice). Returns the elements.
pub fn clone_shared(src: &mut dyn Link, dst: &mut dyn Link) -> Result<Vec<String>> {
    let s = list(src)?;
    let d = list(dst)?;
    let parts: Vec<_> = s.iter().filter(|e| e.shared_supporting).collect();
    for e in &parts {
        same_in(&d, dst.name(), e, src.name())?;
    }
    let mut done = Vec::new();
    for e in parts {
        let c = get(src, &e.name, "-", Parts::CLONE)?;
        put(dst, &e.name, &c)
            .with_context(|| format!("cloning {} into '{}'", e.name, dst.name()))?;
        done.push(e.name.clone());
    }
    Ok(done)
}

/// Moves all of `src`'s per-flow state into `dst` (loss-free where the
/// element has an events mode; otherwise get, put, delete) and merges its
/// shared state (supporting and reporting) into `dst`'s: scale-in;
/// `reroute` gets each element's moved chunks once `dst` has them. `src`
/// is to be stopped after: its shared state stays, and would count twice.
pub fn merge(
    src: &mut dyn Link,
    dst: &mut dyn Link,
    reroute: &mut dyn FnMut(&Chunks) -> Result<()>,
) -> Result<Vec<Moved>> {
    let s = list(src)?;
    let d = list(dst)?;
    for e in &s {
        same_in(&d, dst.name(), e, src.name())?;
    }
    let mut out = Vec::new();
    for e in &s {
        let mut m = if e.per_flow && e.events {
            move_flows(src, dst, &e.name, "-", reroute)?
        } else if e.per_flow {
            let c = get(src, &e.name, "-", Parts::FLOWS)?;
            let n = put(dst, &e.name, &c)?;
            delete(src, &e.name, "-")?;
            reroute(&c)?;
            Moved {
                element: e.name.clone(),
                flows: n.flows,
                bytes: c.len(),
                ..Moved::default()
            }
        } else {
            Moved {
                element: e.name.clone(),
                ..Moved::default()
            }
        };
        let shared = Parts {
            flows: false,
            supporting: true,
            reporting: true,
        };
        let c = get(src, &e.name, "-", shared)?;
        if !c.is_empty() {
            put(dst, &e.name, &c)?;
            m.bytes += c.len();
        }
        out.push(m);
    }
    Ok(out)
}

/// Format version of [`Snapshot`] files.
pub const SNAPSHOT_FORMAT: u16 = 1;

/// Every stateful element's state at one moment (postcard in a file).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SNAPSHOT_FORMAT`].
    pub format: u16,
    /// (element, [`Chunks::to_bytes`]).
    pub elements: Vec<(String, Vec<u8>)>,
}

impl Snapshot {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Reads [`Snapshot::to_bytes`]' output.
    pub fn from_bytes(b: &[u8]) -> Result<Snapshot> {
        let s: Snapshot = postcard::from_bytes(b).context("not a state snapshot")?;
        if s.format != SNAPSHOT_FORMAT {
            bail!("snapshot format {} is not {SNAPSHOT_FORMAT}", s.format);
        }
        Ok(s)
    }
}

/// Every stateful element's whole state.
pub fn snapshot(l: &mut dyn Link) -> Result<Snapshot> {
    let mut s = Snapshot {
        format: SNAPSHOT_FORMAT,
        ..Snapshot::default()
    };
    for e in list(l)? {
        let c = get(l, &e.name, "-", Parts::ALL)?;
        s.elements.push((e.name, c.to_bytes()));
    }
    Ok(s)
}

/// Puts a snapshot's state back (into a fresh instance of the same
/// config); every element is checked before anything is put.
pub fn restore(l: &mut dyn Link, s: &Snapshot) -> Result<PutCount> {
    let have = list(l)?;
    let mut parsed = Vec::new();
    for (name, bytes) in &s.elements {
        let c = Chunks::from_bytes(bytes)?;
        let Some(e) = have.iter().find(|e| &e.name == name) else {
            bail!("'{}' has no element '{name}'", l.name());
        };
        if e.class != c.class {
            bail!(
                "'{}''s {name} is a {}, not a {}",
                l.name(),
                e.class,
                c.class
            );
        }
        parsed.push((name, c));
    }
    let mut total = PutCount::default();
    for (name, c) in parsed {
        let n = put(l, name, &c)?;
        total.flows += n.flows;
        total.shared += n.shared;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moving::tests_support::Local;
    use click::testing::router_from_source;

    const CFG: &str = "Idle -> rw :: IPRewriter(pattern 1.2.3.4 10000-10999# - - 0 0) -> c :: Counter -> TestSink;
                       Idle -> arp :: ARPQuerier(10.0.0.1, 02:00:00:00:00:01) -> Discard;
                       Idle -> [1]arp; arp[1] -> Discard;";

    fn syn(c: u8) -> click::packet::Packet {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[9] = 6;
        p[12..16].copy_from_slice(&[10, 0, 1, c]);
        p[16..20].copy_from_slice(&[192, 168, 1, 10]);
        p[21] = c;
        p[23] = 80;
        p[32] = 5 << 4;
        p[33] = 2;
        click::packet::Packet::from_slice(&p)
    }

    #[test]
    fn clone_merge_snapshot_restore() {
        let (a, _) = router_from_source(CFG);
        // Replicas have their own public addresses (a mapping put over one
        // with the same public port replaces it).
        let (b, _) = router_from_source(&CFG.replace("1.2.3.4", "1.2.3.5"));
        let (fresh, _) = router_from_source(CFG);
        for c in 0..3 {
            a.inject(a.find("rw").unwrap(), 0, syn(c));
        }
        b.inject(b.find("rw").unwrap(), 0, syn(9));
        a.write("arp.insert", "10.0.0.7 02:00:00:00:00:07").unwrap();
        let (mut la, mut lb) = (Local("A", &a), Local("B", &b));
        // Clone: B learns A's ARP entry, not its counters.
        assert_eq!(clone_shared(&mut la, &mut lb).unwrap(), ["rw", "arp"]);
        assert!(b.read("arp.table").unwrap().contains("10.0.0.7"));
        assert_eq!(b.read("c.count").unwrap(), "1");
        // Snapshot of A, restored into a fresh instance.
        let snap = Snapshot::from_bytes(&snapshot(&mut la).unwrap().to_bytes()).unwrap();
        let n = restore(&mut Local("F", &fresh), &snap).unwrap();
        assert_eq!(n.flows, 3);
        assert_eq!(fresh.read("rw.table_size").unwrap(), "3");
        assert_eq!(fresh.read("c.count").unwrap(), "3");
        // Merge: B has every flow and the counts add; A has no flows.
        let mut rerouted = 0;
        let mut count = |c: &Chunks| {
            rerouted += c.flow_count();
            Ok(())
        };
        let m = merge(&mut la, &mut lb, &mut count).unwrap();
        assert_eq!(rerouted, 3);
        assert_eq!(m.iter().map(|m| m.flows).sum::<usize>(), 3);
        assert_eq!(b.read("rw.table_size").unwrap(), "4");
        assert_eq!(a.read("rw.table_size").unwrap(), "0");
        assert_eq!(b.read("c.count").unwrap(), "4");
        // A snapshot for another config is refused before anything is put.
        let (other, _) = router_from_source(
            "Idle -> rw :: UDPRewriter(pattern 1.2.3.4 10000-10999# - - 0 0) -> TestSink;",
        );
        let e = restore(&mut Local("O", &other), &snap).unwrap_err();
        assert!(
            e.to_string().contains("is a UDPRewriter, not a IPRewriter"),
            "{e}"
        );
        assert_eq!(other.read("rw.table_size").unwrap(), "0");
    }
}

//! Moving per-flow state between two instances, loss-free and
//! order-preserving (OpenNF's protocol, with OpenMB's re-process events):
//!
//! 1. SRC enters events mode for the flows: their packets are held, not
//!    processed (nothing is processed by SRC after its state left).
//! 2. SRC's state of the flows is read and put into DST; a failed put
//!    ends events mode at SRC and leaves its state untouched.
//! 3. DST enters events mode for them too: packets the switch sends it
//!    directly from now on wait behind SRC's.
//! 4. SRC's state is deleted; the flows are rerouted (the caller's
//!    `reroute`, given the moved chunks: Open vSwitch rules for a chain
//!    hop's replicas).
//! 5. SRC's held packets are collected until none come for a while after
//!    the reroute, then DST releases: it processes SRC's packets in
//!    order, then its own held ones, in one step (no packet between).
//! 6. SRC leaves events mode.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use click::state::channel::{ElementState, Reply, Request};
use click::state::{Chunks, Event, Parts};

use crate::{count, list, Link};

/// What one element's move did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// The element.
    pub element: String,
    /// Flows moved.
    pub flows: usize,
    /// Bytes of state moved.
    pub bytes: usize,
    /// Packets SRC held and DST re-processed.
    pub reprocessed: u64,
    /// How long from events mode on to the release.
    pub took: Duration,
}

/// How long SRC must hold nothing new, after the reroute, before its
/// held packets are taken as complete.
pub const QUIET: Duration = Duration::from_millis(50);

/// The longest a move waits for SRC's held packets to stop.
pub const DRAIN_MAX: Duration = Duration::from_secs(5);

fn events(l: &mut dyn Link, element: &str, filter: Option<&str>) -> Result<u64> {
    count(l.call(&Request::Events {
        element: element.into(),
        filter: filter.map(String::from),
    })?)
}

fn take(l: &mut dyn Link, element: &str) -> Result<Vec<Event>> {
    match l.call(&Request::TakeEvents {
        element: element.into(),
    })? {
        Reply::Events(v) => Ok(v),
        r => bail!("unexpected reply {r:?}"),
    }
}

/// Fails unless `dst` has an element `e.name` of `e.class`.
pub fn same_in(
    dst: &[ElementState],
    dst_name: &str,
    e: &ElementState,
    src_name: &str,
) -> Result<()> {
    match dst.iter().find(|d| d.name == e.name) {
        Some(d) if d.class == e.class => Ok(()),
        Some(d) => bail!(
            "'{dst_name}''s {} is a {}, not a {} as in '{src_name}'",
            e.name,
            d.class,
            e.class
        ),
        None => bail!("'{dst_name}' has no element '{}'", e.name),
    }
}

/// The elements a move takes: `wanted`, or else every element of SRC
/// with an events mode; each must exist in DST with the same class.
pub fn plan(src: &mut dyn Link, dst: &mut dyn Link, wanted: &[String]) -> Result<Vec<String>> {
    let s = list(src)?;
    let d = list(dst)?;
    let names: Vec<String> = if wanted.is_empty() {
        s.iter()
            .filter(|e| e.events)
            .map(|e| e.name.clone())
            .collect()
    } else {
        wanted.to_vec()
    };
    if names.is_empty() {
        bail!("'{}' has no element whose flows can move", src.name());
    }
    for n in &names {
        let Some(e) = s.iter().find(|e| &e.name == n) else {
            bail!("'{}' has no stateful element '{n}'", src.name());
        };
        if !e.events {
            bail!(
                "{n} ({}) cannot hold packets, so its flows cannot move loss-free",
                e.class
            );
        }
        same_in(&d, dst.name(), e, src.name())?;
    }
    Ok(names)
}

/// Moves the flows `filter` selects of `element` from `src` to `dst`,
/// calling `reroute` with the moved chunks once the state is at DST (see
/// the module's steps).
pub fn move_flows(
    src: &mut dyn Link,
    dst: &mut dyn Link,
    element: &str,
    filter: &str,
    reroute: &mut dyn FnMut(&Chunks) -> Result<()>,
) -> Result<Moved> {
    let t0 = Instant::now();
    events(src, element, Some(filter))
        .with_context(|| format!("{}: events mode for {element}", src.name()))?;
    let installed = (|| -> Result<(Chunks, usize)> {
        let c = crate::get(src, element, filter, Parts::FLOWS)?;
        let n = crate::put(dst, element, &c)?.flows;
        events(dst, element, Some(filter))?;
        Ok((c, n))
    })();
    let (chunks, flows) = match installed {
        Ok(x) => x,
        Err(e) => {
            // SRC keeps its state and processes its held packets itself.
            let held = take(src, element).unwrap_or_default();
            let _ = events(src, element, None);
            let _ = src.call(&Request::Reprocess {
                element: element.into(),
                events: held,
            });
            return Err(e.context(format!(
                "moving {element} from '{}' to '{}' (nothing moved)",
                src.name(),
                dst.name()
            )));
        }
    };
    crate::delete(src, element, filter)?;
    reroute(&chunks)?;
    let mut held = Vec::new();
    let mut quiet_since = Instant::now();
    let deadline = Instant::now() + DRAIN_MAX;
    while quiet_since.elapsed() < QUIET && Instant::now() < deadline {
        let more = take(src, element)?;
        if !more.is_empty() {
            quiet_since = Instant::now();
        }
        held.extend(more);
        std::thread::sleep(Duration::from_millis(5));
    }
    let from_src = held.len() as u64;
    dst.call(&Request::Release {
        element: element.into(),
        events: held,
    })?;
    events(src, element, None)?;
    Ok(Moved {
        element: element.into(),
        flows,
        bytes: chunks.len(),
        reprocessed: from_src,
        took: t0.elapsed(),
    })
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use click::router::Router;
    use click::state::channel::serve;

    /// A router in this process, answering as a guest would.
    pub struct Local<'a>(pub &'static str, pub &'a Router);

    impl Link for Local<'_> {
        fn name(&self) -> &str {
            self.0
        }
        fn call(&mut self, req: &Request) -> Result<Reply> {
            serve(self.1, req.clone()).map_err(anyhow::Error::msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::Local;
    use super::*;
    use click::router::Router;
    use click::state::channel::serve;
    use click::testing::{router_from_source, sink_contents};

    const NAT: &str = "Idle -> [0]rw :: IPRewriter(pattern 1.2.3.4 10000-10999# - - 0 1, drop);
                       Idle -> [1]rw; rw[0] -> [0]s :: TestSink; rw[1] -> [1]s;";
    const SRV: [u8; 4] = [192, 168, 1, 10];
    const EXT: [u8; 4] = [1, 2, 3, 4];

    fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: u8) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&40u16.to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&dst);
        p[20..22].copy_from_slice(&sport.to_be_bytes());
        p[22..24].copy_from_slice(&dport.to_be_bytes());
        p[32] = 5 << 4;
        p[33] = flags;
        p
    }

    fn send(r: &Router, port: usize, p: &[u8]) {
        let eid = r.find("rw").unwrap();
        r.inject(eid, port, click::packet::Packet::from_slice(p));
    }

    /// Client `c`'s packets: (input, bytes) forward from the inside and
    /// the reply to its mapped port from the server.
    fn both(c: u8, flags: u8) -> [(usize, Vec<u8>); 2] {
        [
            (0, tcp([10, 0, 1, c], 100 + c as u16, SRV, 80, flags)),
            (1, tcp(SRV, 80, EXT, 10000 + c as u16, flags)),
        ]
    }

    #[test]
    fn a_move_is_loss_free_and_order_preserving() {
        let (a, _) = router_from_source(NAT);
        let (b, _) = router_from_source(NAT);
        let (reference, _) = router_from_source(NAT);
        for c in 0..8 {
            send(&a, 0, &tcp([10, 0, 1, c], 100 + c as u16, SRV, 80, 0x02));
            send(&a, 1, &tcp(SRV, 80, EXT, 10000 + c as u16, 0x12));
        }
        let all = serve(
            &a,
            Request::Get {
                element: "rw".into(),
                filter: "-".into(),
                parts: Parts::FLOWS,
            },
        );
        let Ok(Reply::Chunks(all)) = all else {
            panic!()
        };
        serve(
            &reference,
            Request::Put {
                element: "rw".into(),
                chunks: all,
            },
        )
        .unwrap();
        let a0 = sink_contents(&a, "s").len();

        // In the switch's order: data of every flow reaches A before the
        // reroute (A holds the moved ones), then FINs of the moved flows
        // reach B directly.
        let mut at_a = Vec::new();
        let mut at_b = Vec::new();
        for c in 0..8 {
            at_a.extend(both(c, 0x10).map(|(port, p)| (port, p, c < 4)));
        }
        for c in 0..4 {
            at_b.extend(both(c, 0x11));
        }
        let mut reroute = |c: &Chunks| {
            assert_eq!(c.flow_count(), 4);
            for (port, p, _) in &at_a {
                send(&a, *port, p);
            }
            for (port, p) in &at_b {
                send(&b, *port, p);
            }
            Ok(())
        };
        let (mut la, mut lb) = (Local("A", &a), Local("B", &b));
        assert_eq!(plan(&mut la, &mut lb, &[]).unwrap(), ["rw"]);
        let m = move_flows(&mut la, &mut lb, "rw", "src net 10.0.1.0/30", &mut reroute).unwrap();
        assert_eq!((m.flows, m.reprocessed), (4, 8));
        assert!(m.bytes > 0);

        // A processed only the flows that stayed, and kept only them.
        assert_eq!(sink_contents(&a, "s").len() - a0, 8);
        assert_eq!(a.read("rw.table_size").unwrap(), "4");
        assert_eq!(b.read("rw.table_size").unwrap(), "4");
        // B sent exactly what one instance holding every flow would have,
        // in the switch's order: nothing lost, twice or reordered.
        for (port, p, _) in at_a.iter().filter(|x| x.2) {
            send(&reference, *port, p);
        }
        for (port, p) in &at_b {
            send(&reference, *port, p);
        }
        let refout = sink_contents(&reference, "s");
        assert_eq!(refout.len(), 16);
        assert_eq!(sink_contents(&b, "s"), refout);
        // Events mode is over at both ends.
        send(&b, 0, &tcp([10, 0, 1, 0], 100, SRV, 80, 0x10));
        assert_eq!(sink_contents(&b, "s").len(), 17);
    }

    #[test]
    fn a_failed_move_leaves_the_source_untouched() {
        let (a, _) = router_from_source(NAT);
        let (udp, _) = router_from_source(
            "Idle -> rw :: UDPRewriter(pattern 1.2.3.4 10000-10999# - - 0 0) -> TestSink;",
        );
        let (other, _) = router_from_source("Idle -> c :: Counter -> TestSink;");
        for c in 0..4 {
            send(&a, 0, &tcp([10, 0, 1, c], 100 + c as u16, SRV, 80, 0x02));
        }
        let mut la = Local("A", &a);
        let e = plan(&mut la, &mut Local("C", &other), &[]).unwrap_err();
        assert_eq!(e.to_string(), "'C' has no element 'rw'");
        let e = plan(&mut la, &mut Local("U", &udp), &[]).unwrap_err();
        assert!(
            e.to_string().contains("is a UDPRewriter, not a IPRewriter"),
            "{e}"
        );
        // Put refused by DST: SRC keeps every flow and processes again.
        let mut never = |_: &Chunks| -> Result<()> { panic!("no reroute after a failed put") };
        let e = move_flows(&mut la, &mut Local("U", &udp), "rw", "-", &mut never).unwrap_err();
        assert!(format!("{e:#}").contains("nothing moved"), "{e:#}");
        assert_eq!(a.read("rw.table_size").unwrap(), "4");
        let before = sink_contents(&a, "s").len();
        send(&a, 0, &tcp([10, 0, 1, 0], 100, SRV, 80, 0x10));
        assert_eq!(sink_contents(&a, "s").len(), before + 1);
    }
}

//! `SourceIPHashMapper(NNODES SEED, PATTERN1, ..., PATTERNn)`: an IPMapper
//! that gives each new flow to a pattern chosen by consistent hashing of
//! its source address (a load balancer that keeps a client on one backend).
//!
//! # Ports
//! None.
//!
//! # Processing
//! None by itself. A rewriter input whose spec is this element's name asks
//! it for each new flow. Each PATTERN is `SADDR SPORT DADDR DPORT FOUT ROUT
//! ID` or `NAME FOUT ROUT ID`: a RoundRobinIPMapper pattern followed by the
//! node's ID (an integer). Every node is placed at NNODES points of a hash
//! ring seeded by SEED and its ID; a flow goes to the node owning the first
//! point at or after the hash of its source address. The same client thus
//! always reaches the same node, and adding or removing a node moves only
//! the clients of the ring arcs it gains or loses. If the chosen pattern
//! cannot map the flow (its ports are exhausted) the packet is dropped.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! sh :: SourceIPHashMapper(20 0xbadbeef, - - 10.0.0.1 - 0 1 1, - - 10.0.0.2 - 0 1 2);
//! lb :: IPRewriter(sh, drop);
//! ```

use crate::error::{ConfigError, ErrorKind};
use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

use super::flowid::FlowId;
use super::rng::Rng;
use super::spec::{parse_with_ports, IpMapper, Mapped, SharedMapper, SharedPattern};
use crate::confparse::values::parse_i64;
use crate::confparse::{split_words, Args};
use crate::element::{Element, ElementClass};
use crate::router::ConfigCx;

/// The `SourceIPHashMapper` class.
pub static CLASS: ElementClass = ElementClass {
    name: "SourceIPHashMapper",
    ports: "0/0",
    processing: "a/a",
    phase: -1,
    make,
};

/// Upper bound on NNODES, so a typo cannot allocate a huge ring.
const MAX_NNODES: i64 = 1 << 16;

fn make(args: &mut Args, cx: &ConfigCx) -> Result<Box<dyn Element>, ConfigError> {
    let lines = args.rest_raw_resolved(crate::confparse::Context::Rules);
    let Some((first, pats_text)) = lines.split_first() else {
        return Err(ConfigError::new(ErrorKind::Missing, "NNODES SEED missing"));
    };
    let head = split_words(first);
    let (nnodes, seed) = match head.as_slice() {
        [n, s] => (parse_i64(n), parse_i64(s)),
        _ => (None, None),
    };
    let (Some(nnodes), Some(seed)) = (nnodes, seed) else {
        return Err(ConfigError::bad_arg(
            0,
            format!("expected 'NNODES SEED', got '{first}'"),
        ));
    };
    if !(1..=MAX_NNODES).contains(&nnodes) {
        return Err(ConfigError::bad_arg(
            0,
            format!("NNODES must be between 1 and {MAX_NNODES}"),
        ));
    }
    if pats_text.is_empty() {
        return Err(ConfigError::new(ErrorKind::Missing, "no patterns given"));
    }
    let mut pats = Vec::new();
    let mut ids = Vec::new();
    for (i, l) in pats_text.iter().enumerate() {
        let w = split_words(l);
        let words: Vec<&str> = w.iter().map(|s| s.as_str()).collect();
        let bad = |m: &str| ConfigError::bad_arg(i + 1, format!("pattern {i}: {m}"));
        let Some((id, pw)) = words.split_last() else {
            return Err(bad("syntax error"));
        };
        let id = parse_i64(id)
            .filter(|v| *v >= 0)
            .ok_or_else(|| bad("expected the node ID (an integer) last"))?;
        if ids.contains(&id) {
            return Err(bad(&format!("node ID {id} used twice")));
        }
        ids.push(id);
        pats.push(parse_with_ports(pw, cx).map_err(|e| bad(&e))?);
    }
    Ok(Box::new(SourceIpHashMapper {
        m: Rc::new(RefCell::new(HashRing::new(
            pats,
            &ids,
            nnodes as usize,
            seed,
        ))),
    }))
}

/// Mixes `x` into a well-spread 64-bit value (splitmix64's finaliser).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The mapper's state: patterns and the ring of their points.
pub struct HashRing {
    pats: Vec<(SharedPattern, u16, u16)>,
    /// (point, pattern index), sorted by point.
    ring: Vec<(u64, usize)>,
    seed: u64,
}

impl HashRing {
    fn new(
        pats: Vec<(SharedPattern, u16, u16)>,
        ids: &[i64],
        nnodes: usize,
        seed: i64,
    ) -> HashRing {
        let seed = seed as u64;
        let mut ring = Vec::with_capacity(ids.len() * nnodes);
        for (i, &id) in ids.iter().enumerate() {
            // A node's points depend only on SEED and its own ID, so other
            // nodes coming and going leave them in place.
            let base = mix(seed ^ mix(id as u64));
            for k in 0..nnodes as u64 {
                ring.push((mix(base ^ k), i));
            }
        }
        ring.sort_unstable();
        HashRing { pats, ring, seed }
    }

    /// The index of the pattern owning source address `saddr`.
    fn owner(&self, saddr: [u8; 4]) -> usize {
        let h = mix(self.seed.rotate_left(32) ^ u64::from(u32::from_be_bytes(saddr)));
        let i = self.ring.partition_point(|&(p, _)| p < h);
        self.ring[i % self.ring.len()].1
    }
}

impl IpMapper for HashRing {
    fn map_flow(
        &mut self,
        flow: &FlowId,
        taken: &dyn Fn(&FlowId) -> bool,
        rng: &mut Rng,
    ) -> Option<Mapped> {
        let (p, fout, rout) = &self.pats[self.owner(flow.saddr)];
        let f = p.borrow_mut().rewrite(flow, taken, rng)?;
        Some(Mapped {
            flow: f,
            fout: *fout,
            rout: *rout,
        })
    }

    fn max_outputs(&self) -> (u16, u16) {
        let f = self.pats.iter().map(|p| p.1).max().unwrap_or(0);
        let r = self.pats.iter().map(|p| p.2).max().unwrap_or(0);
        (f, r)
    }
}

/// A `SourceIPHashMapper` element.
pub struct SourceIpHashMapper {
    m: Rc<RefCell<HashRing>>,
}

impl SourceIpHashMapper {
    /// The mapper, shared with the rewriters that name this element.
    pub fn mapper(&self) -> SharedMapper {
        self.m.clone()
    }
}

impl Element for SourceIpHashMapper {}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};
    use alloc::format;
    use alloc::vec::Vec;

    /// A TCP SYN from `src`:`sport` to 5.5.5.5:80 (checksums are not
    /// checked by the rewriter).
    fn syn(src: [u8; 4], sport: u16) -> Packet {
        let mut p = [0u8; 40];
        p[0] = 0x45;
        p[3] = 40;
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&[5, 5, 5, 5]);
        p[20..22].copy_from_slice(&sport.to_be_bytes());
        p[22..24].copy_from_slice(&80u16.to_be_bytes());
        p[32] = 0x50;
        p[33] = 0x02;
        Packet::from_slice(&p)
    }

    fn backends(cfg: &str, clients: &[[u8; 4]]) -> Vec<[u8; 4]> {
        let src = format!(
            "sh :: SourceIPHashMapper({cfg});
             lb :: IPRewriter(sh, drop);
             Idle -> [0]lb; Idle -> [1]lb; lb[0] -> s :: TestSink; lb[1] -> [1]s;"
        );
        let (r, _) = router_from_source(&src);
        let lb = r.find("lb").unwrap();
        for (i, c) in clients.iter().enumerate() {
            r.inject(lb, 0, syn(*c, 1000 + i as u16));
        }
        sink_contents(&r, "s")
            .iter()
            .map(|(_, p)| [p[16], p[17], p[18], p[19]])
            .collect()
    }

    #[test]
    fn same_client_same_node_and_consistent_when_a_node_goes() {
        let clients: Vec<[u8; 4]> = (0..200u8).map(|c| [172, 16, c / 16, c]).collect();
        let mut twice = clients.clone();
        twice.extend_from_slice(&clients);
        let three = "50 7, - - 10.0.0.1 - 0 1 1, - - 10.0.0.2 - 0 1 2, - - 10.0.0.3 - 0 1 3";
        let got = backends(three, &twice);
        assert_eq!(got.len(), 400);
        // New connections (other source ports) from one client hit one node.
        assert_eq!(got[..200], got[200..]);
        for b in 1..=3u8 {
            let n = got[..200].iter().filter(|a| **a == [10, 0, 0, b]).count();
            assert!((25..=120).contains(&n), "node {b} got {n} of 200");
        }
        // Without node 2, node 1's and 3's clients stay where they were.
        let two = "50 7, - - 10.0.0.1 - 0 1 1, - - 10.0.0.3 - 0 1 3";
        let after = backends(two, &clients);
        for (old, new) in got[..200].iter().zip(&after) {
            if *old != [10, 0, 0, 2] {
                assert_eq!(old, new);
            }
        }
        // Another seed places the nodes elsewhere.
        assert_ne!(
            backends(
                "50 8, - - 10.0.0.1 - 0 1 1, - - 10.0.0.2 - 0 1 2, - - 10.0.0.3 - 0 1 3",
                &clients
            ),
            got[..200]
        );
    }

    #[test]
    fn argument_errors() {
        for (cfg, want) in [
            ("", "NNODES SEED"),
            ("10", "NNODES SEED"),
            ("0 1, - - 1.2.3.4 - 0 1 1", "NNODES"),
            ("10 1", "no patterns"),
            ("10 1, - - 1.2.3.4 - 0 1 x", "node ID"),
            (
                "10 1, - - 1.2.3.4 - 0 1 1, - - 1.2.3.5 - 0 1 1",
                "used twice",
            ),
            ("10 1, - - 1.2.3.4.5 - 0 1 1", "pattern 0"),
        ] {
            let src =
                format!("sh :: SourceIPHashMapper({cfg}); Idle -> IPRewriter(sh) -> Discard;");
            match build_from_source(&src) {
                Ok(_) => panic!("{cfg:?} accepted"),
                Err(e) => {
                    let e = format!("{e}");
                    assert!(e.contains(want), "{cfg:?}: {e}");
                }
            }
        }
    }
}

//! Exportable element state (OpenMB-style), so the toolstack can move,
//! clone and merge state between middlebox instances.
//!
//! State is either *per-flow* (a NAT mapping, a flow's counters, a source's
//! packet count), selected by a [`FlowFilter`], or *shared* (aggregate
//! counters), merged on import. Records travel serialized with postcard;
//! each element defines its own record type, and the blob carries the
//! element class name and a format version so a mismatched import fails
//! cleanly.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::confparse::{Ipv4, Ipv4Prefix};

/// A transport-level flow: addresses, protocol, ports (0 when absent).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct FlowKey {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// IP protocol number.
    pub proto: u8,
    /// Source port (or ICMP identifier).
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
}

/// Selects flows by header fields; an absent field matches anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FlowFilter {
    /// Source prefix (address, length).
    pub src: Option<([u8; 4], u8)>,
    /// Destination prefix.
    pub dst: Option<([u8; 4], u8)>,
    /// IP protocol.
    pub proto: Option<u8>,
    /// Source port range, inclusive.
    pub sport: Option<(u16, u16)>,
    /// Destination port range, inclusive.
    pub dport: Option<(u16, u16)>,
}

impl FlowFilter {
    /// Matches every flow.
    pub const ALL: FlowFilter = FlowFilter {
        src: None,
        dst: None,
        proto: None,
        sport: None,
        dport: None,
    };

    /// True if `k` matches.
    pub fn matches(&self, k: &FlowKey) -> bool {
        let pfx = |p: Option<([u8; 4], u8)>, a: [u8; 4]| match p {
            None => true,
            Some((addr, len)) => Ipv4Prefix {
                addr: Ipv4(addr),
                len: len.min(32),
            }
            .contains(Ipv4(a)),
        };
        let range = |r: Option<(u16, u16)>, v: u16| r.is_none_or(|(lo, hi)| lo <= v && v <= hi);
        pfx(self.src, k.src)
            && pfx(self.dst, k.dst)
            && self.proto.is_none_or(|p| p == k.proto)
            && range(self.sport, k.sport)
            && range(self.dport, k.dport)
    }

    /// True if `k` or its reverse matches (for bidirectional state such as
    /// NAT mappings).
    pub fn matches_either(&self, k: &FlowKey) -> bool {
        let r = FlowKey {
            src: k.dst,
            dst: k.src,
            proto: k.proto,
            sport: k.dport,
            dport: k.sport,
        };
        self.matches(k) || self.matches(&r)
    }
}

/// Why an import failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateError {
    /// The blob did not decode.
    Malformed(String),
    /// The blob was made by another element class or format version.
    WrongKind {
        /// What this element expected.
        expected: String,
        /// What the blob says.
        found: String,
    },
    /// The table is full.
    NoRoom,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Malformed(m) => write!(f, "malformed state: {m}"),
            StateError::WrongKind { expected, found } => {
                write!(f, "state is for {found}, not {expected}")
            }
            StateError::NoRoom => write!(f, "no room for imported state"),
        }
    }
}

/// The envelope around every exported blob.
#[derive(Serialize, Deserialize, Debug)]
struct Envelope<'a> {
    kind: &'a str,
    version: u16,
    #[serde(borrow)]
    body: &'a [u8],
}

/// Serializes `records` for element kind `kind` (class name) and format
/// `version`.
pub fn encode<T: Serialize>(kind: &str, version: u16, records: &T) -> Vec<u8> {
    let body = postcard::to_allocvec(records).unwrap_or_default();
    postcard::to_allocvec(&Envelope {
        kind,
        version,
        body: &body,
    })
    .unwrap_or_default()
}

/// Deserializes a blob made by [`encode`] for the same kind and version.
pub fn decode<'de, T: Deserialize<'de>>(
    kind: &str,
    version: u16,
    blob: &'de [u8],
) -> Result<T, StateError> {
    let env: Envelope<'de> =
        postcard::from_bytes(blob).map_err(|e| StateError::Malformed(alloc::format!("{e}")))?;
    if env.kind != kind || env.version != version {
        return Err(StateError::WrongKind {
            expected: alloc::format!("{kind} v{version}"),
            found: alloc::format!("{} v{}", env.kind, env.version),
        });
    }
    postcard::from_bytes(env.body).map_err(|e| StateError::Malformed(alloc::format!("{e}")))
}

/// What a stateful element offers. All blobs come from [`encode`].
pub trait StatefulElement {
    /// Per-flow state of the flows matching `filter`.
    fn export_flows(&self, filter: &FlowFilter) -> Vec<u8>;
    /// Installs per-flow state; returns how many flows were imported.
    fn import_flows(
        &mut self,
        blob: &[u8],
        now: crate::time::Timestamp,
    ) -> Result<usize, StateError>;
    /// Removes the flows matching `filter`; returns how many.
    fn delete_flows(&mut self, filter: &FlowFilter) -> usize;
    /// Shared (aggregate) state.
    fn export_shared(&self) -> Vec<u8> {
        Vec::new()
    }
    /// Merges shared state into this element's (counters add up).
    fn import_shared(&mut self, _blob: &[u8]) -> Result<(), StateError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_matches_prefixes_and_ports() {
        let k = FlowKey {
            src: [10, 0, 0, 5],
            dst: [1, 2, 3, 4],
            proto: 6,
            sport: 1234,
            dport: 80,
        };
        assert!(FlowFilter::ALL.matches(&k));
        let f = FlowFilter {
            src: Some(([10, 0, 0, 0], 24)),
            dport: Some((80, 80)),
            ..FlowFilter::ALL
        };
        assert!(f.matches(&k));
        let f2 = FlowFilter {
            proto: Some(17),
            ..FlowFilter::ALL
        };
        assert!(!f2.matches(&k));
        let rev = FlowFilter {
            src: Some(([1, 2, 3, 4], 32)),
            ..FlowFilter::ALL
        };
        assert!(!rev.matches(&k) && rev.matches_either(&k));
    }

    #[test]
    fn envelope_round_trip_and_kind_check() {
        let blob = encode("Counter", 1, &alloc::vec![1u32, 2, 3]);
        let v: Vec<u32> = decode("Counter", 1, &blob).unwrap();
        assert_eq!(v, alloc::vec![1, 2, 3]);
        assert!(matches!(
            decode::<Vec<u32>>("IPRewriter", 1, &blob),
            Err(StateError::WrongKind { .. })
        ));
        assert!(matches!(
            decode::<Vec<u32>>("Counter", 1, &[0xff, 0xff]),
            Err(StateError::Malformed(_))
        ));
    }
}

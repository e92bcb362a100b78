//! Element state as an object (OpenMB's southbound interface), so the
//! toolstack can get, put, delete, move, clone and merge it between
//! middlebox instances.
//!
//! Every stateful element says what it keeps ([`StateInfo`]): *per-flow*
//! state (keyed by a flow: a 5-tuple or only a source address) and/or
//! *shared* state (the whole element), each either *supporting* (needed
//! to process packets: mappings, limits, ARP entries) or *reporting*
//! (statistics). Per-flow state is selected by a [`FlowFilter`] written in
//! IPFilter's expression language. A put of shared state merges into what
//! the element has (counters add, tables union).
//!
//! What travels is a [`Chunks`] value in postcard: the element class and
//! its state format version, then one blob per part, each an envelope of
//! (class, version, records) made by [`encode`]. An element refuses
//! chunks of another class or version ([`StateError::WrongKind`]) before
//! it changes anything.
//!
//! *Events mode* ([`StatefulElement::set_events`]) is the hook for a
//! loss-free move: packets of the selected flows are not processed but
//! kept as [`Event`]s, for the controller to re-process at the
//! destination once the state is there ([`reprocess`]).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

pub mod channel;
#[cfg(feature = "std")]
pub mod json;

use crate::elements::classify::compile::expr::parse_expr_text;
use crate::elements::classify::compile::tree::{Base, Expr, View};
use crate::packet::Packet;

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

impl FlowKey {
    /// The same flow seen from the other end.
    pub fn reverse(&self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            sport: self.dport,
            dport: self.sport,
        }
    }
}

/// Header fields a filter tests or a flow is keyed by (a bit set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Fields(pub u8);

impl Fields {
    /// The source address.
    pub const SRC: Fields = Fields(1);
    /// The destination address.
    pub const DST: Fields = Fields(2);
    /// The IP protocol.
    pub const PROTO: Fields = Fields(4);
    /// The source port.
    pub const SPORT: Fields = Fields(8);
    /// The destination port.
    pub const DPORT: Fields = Fields(16);
    /// Anything else (TTL, TOS, TCP flags, MAC addresses ...).
    pub const OTHER: Fields = Fields(32);
    /// A whole 5-tuple.
    pub const FLOW: Fields = Fields(31);

    /// Both sets.
    pub const fn union(self, o: Fields) -> Fields {
        Fields(self.0 | o.0)
    }

    /// True if every field of `o` is in `self`.
    pub const fn contains(self, o: Fields) -> bool {
        self.0 & o.0 == o.0
    }

    /// The fields named in words, for error messages.
    pub fn names(self) -> String {
        let names = [
            "src address",
            "dst address",
            "protocol",
            "src port",
            "dst port",
            "other header fields",
        ];
        let v: Vec<&str> = (0..6)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| names[i])
            .collect();
        v.join(", ")
    }
}

/// A malformed filter: the message and where in the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// What is wrong.
    pub message: String,
    /// 1-based column (character) in the expression.
    pub col: usize,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "filter:1:{}: {}", self.col, self.message)
    }
}

/// Selects flows with an IPFilter expression (`src net 10.0.1.0/25 &&
/// tcp`). A flow is tested as the first packet its 5-tuple would make:
/// an IPv4 header with its addresses and protocol, a transport header
/// with its ports, every other byte zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowFilter {
    text: String,
    expr: Expr,
    fields: Fields,
}

impl FlowFilter {
    /// Matches every flow.
    pub fn all() -> FlowFilter {
        FlowFilter {
            text: String::from("-"),
            expr: Expr::Const(true),
            fields: Fields::default(),
        }
    }

    /// Parses an IPFilter expression; `-`, `all`, `any` or nothing match
    /// every flow.
    pub fn parse(text: &str) -> Result<FlowFilter, FilterError> {
        let (expr, ip6) = parse_expr_text(text, false).map_err(|e| FilterError {
            message: e.message,
            col: text[..e.offset.min(text.len())].chars().count() + 1,
        })?;
        if ip6 {
            return Err(FilterError {
                message: String::from("IPv6 tests do not select IPv4 flows"),
                col: 1,
            });
        }
        let mut fields = Fields::default();
        tested_fields(&expr, &mut fields);
        Ok(FlowFilter {
            text: String::from(text.trim()),
            expr,
            fields,
        })
    }

    /// The expression as written (`-` for [`FlowFilter::all`]).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The header fields the expression tests.
    pub fn fields(&self) -> Fields {
        self.fields
    }

    /// True if `k` matches.
    pub fn matches(&self, k: &FlowKey) -> bool {
        let (net, transp) = synth(k);
        self.expr.eval(&View {
            data: &net,
            mac: &[],
            net: &net,
            transp: &transp,
        })
    }

    /// True if `k` or its reverse matches (for state of both directions,
    /// such as a NAT mapping).
    pub fn matches_either(&self, k: &FlowKey) -> bool {
        self.matches(k) || self.matches(&k.reverse())
    }

    /// True if the packet (IP header annotation set) matches, exactly as
    /// IPFilter would test it.
    pub fn matches_packet(&self, p: &Packet) -> bool {
        self.expr
            .eval(&crate::elements::classify::compile::ip_view(p))
    }

    /// Fails if the filter tests a field the element's flows are not
    /// keyed by (OpenMB: a request finer than the element's granularity).
    pub fn check_keyed_by(&self, class: &str, keyed: Fields) -> Result<(), StateError> {
        if keyed.contains(self.fields) {
            return Ok(());
        }
        Err(StateError::TooFine {
            class: String::from(class),
            tested: Fields(self.fields.0 & !keyed.0).names(),
            keyed: keyed.names(),
        })
    }
}

/// The first packet of flow `k`: a 20-byte IPv4 header and a 20-byte
/// transport header (a TCP header's size, so TCP tests are not short).
fn synth(k: &FlowKey) -> ([u8; 20], [u8; 20]) {
    let mut net = [0u8; 20];
    net[0] = 0x45;
    net[2..4].copy_from_slice(&40u16.to_be_bytes());
    net[8] = 64;
    net[9] = k.proto;
    net[12..16].copy_from_slice(&k.src);
    net[16..20].copy_from_slice(&k.dst);
    let mut transp = [0u8; 20];
    transp[0..2].copy_from_slice(&k.sport.to_be_bytes());
    transp[2..4].copy_from_slice(&k.dport.to_be_bytes());
    (net, transp)
}

/// Adds the fields `e`'s leaves read. IPFilter's port tests also check
/// that the packet is not a later fragment, and its header-length nibble
/// locates the transport header: a flow's first packet fixes both, so
/// they are not fields of their own.
fn tested_fields(e: &Expr, out: &mut Fields) {
    match e {
        Expr::Const(_) => {}
        Expr::Leaf(l) => {
            let bytes = l.mask.to_be_bytes();
            for (i, b) in bytes.iter().enumerate() {
                if *b == 0 {
                    continue;
                }
                let at = l.off + i as i32;
                let f = match (l.base, at) {
                    (Base::Net, 0 | 6 | 7) => Fields::default(),
                    (Base::Net, 9) => Fields::PROTO,
                    (Base::Net, 12..=15) => Fields::SRC,
                    (Base::Net, 16..=19) => Fields::DST,
                    (Base::Transp, 0 | 1) => Fields::SPORT,
                    (Base::Transp, 2 | 3) => Fields::DPORT,
                    _ => Fields::OTHER,
                };
                *out = out.union(f);
            }
        }
        Expr::Not(a) => tested_fields(a, out),
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|x| tested_fields(x, out)),
        Expr::Ternary(a, b, c) => {
            tested_fields(a, out);
            tested_fields(b, out);
            tested_fields(c, out);
        }
    }
}

/// Why a state operation failed.
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
    /// The filter tests fields the element does not key its flows by.
    TooFine {
        /// The element's class.
        class: String,
        /// The fields tested beyond the key.
        tested: String,
        /// What the flows are keyed by.
        keyed: String,
    },
    /// The element cannot hand packets back (no events mode).
    NoEvents(String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Malformed(m) => write!(f, "malformed state: {m}"),
            StateError::WrongKind { expected, found } => {
                write!(f, "state is for {found}, not {expected}")
            }
            StateError::NoRoom => write!(f, "no room for imported state"),
            StateError::TooFine {
                class,
                tested,
                keyed,
            } => write!(
                f,
                "the filter tests {tested}, but {class} keeps its flows by {keyed} only"
            ),
            StateError::NoEvents(c) => {
                write!(f, "{c} cannot hand packets back (no events mode)")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for StateError {}

/// What a piece of state is for (OpenMB's roles).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Needed to process packets (mappings, limits, tables).
    Supporting,
    /// Observations (statistics).
    Reporting,
}

impl Role {
    /// `supporting` or `reporting`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Supporting => "supporting",
            Role::Reporting => "reporting",
        }
    }
}

/// What state an element keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateInfo {
    /// Format version of its records.
    pub version: u16,
    /// Per-flow state: its role and the fields a flow is keyed by.
    pub per_flow: Option<(Role, Fields)>,
    /// It has shared supporting state (cloned to a sibling; merged).
    pub shared_supporting: bool,
    /// It has shared reporting state (never cloned; merged by adding).
    pub shared_reporting: bool,
    /// It supports events mode (needed to move its flows loss-free).
    pub events: bool,
}

impl StateInfo {
    /// One line: `per-flow supporting (keyed by ...), shared reporting`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some((role, keyed)) = self.per_flow {
            parts.push(format!(
                "per-flow {} (keyed by {})",
                role.name(),
                keyed.names()
            ));
        }
        if self.shared_supporting {
            parts.push(String::from("shared supporting"));
        }
        if self.shared_reporting {
            parts.push(String::from("shared reporting"));
        }
        parts.join(", ")
    }
}

/// A packet an element in events mode handed back instead of processing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The element input it arrived on.
    pub port: u16,
    /// Offset of its IP header in `data` (the header annotation).
    pub ip_off: u16,
    /// The packet's bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

impl Event {
    /// Captures `p` as it arrived on input `port`.
    pub fn of(port: usize, p: &Packet) -> Event {
        Event {
            port: port as u16,
            ip_off: p
                .network_header_offset()
                .filter(|&o| o >= 0)
                .map_or(0, |o| o as u16),
            data: p.data().to_vec(),
        }
    }

    /// The packet again, with its IP header annotation.
    pub fn packet(&self) -> Packet {
        let mut p = Packet::from_slice(&self.data);
        p.mark_ipv4_header(self.ip_off as usize);
        p
    }
}

/// Selects the parts [`get`] exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parts {
    /// Per-flow state of the flows the filter selects.
    pub flows: bool,
    /// Shared supporting state.
    pub supporting: bool,
    /// Shared reporting state.
    pub reporting: bool,
}

impl Parts {
    /// Everything.
    pub const ALL: Parts = Parts {
        flows: true,
        supporting: true,
        reporting: true,
    };
    /// Per-flow state only (a move).
    pub const FLOWS: Parts = Parts {
        flows: true,
        supporting: false,
        reporting: false,
    };
    /// Shared supporting state only (a clone).
    pub const CLONE: Parts = Parts {
        flows: false,
        supporting: true,
        reporting: false,
    };
}

/// Format version of [`Chunks`] itself.
pub const CHUNKS_FORMAT: u16 = 1;

/// One element's state as it travels: blobs made by [`encode`], empty
/// for a part not exported.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunks {
    /// [`CHUNKS_FORMAT`].
    pub format: u16,
    /// The element class that exported it.
    pub class: String,
    /// Its state format version.
    pub version: u16,
    /// Per-flow records.
    #[serde(with = "serde_bytes")]
    pub flows: Vec<u8>,
    /// Shared supporting state.
    #[serde(with = "serde_bytes")]
    pub supporting: Vec<u8>,
    /// Shared reporting state.
    #[serde(with = "serde_bytes")]
    pub reporting: Vec<u8>,
}

impl Chunks {
    /// The postcard bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes [`Chunks::to_bytes`]' output.
    pub fn from_bytes(b: &[u8]) -> Result<Chunks, StateError> {
        let c: Chunks =
            postcard::from_bytes(b).map_err(|e| StateError::Malformed(format!("{e}")))?;
        if c.format != CHUNKS_FORMAT {
            return Err(StateError::WrongKind {
                expected: format!("state format {CHUNKS_FORMAT}"),
                found: format!("state format {}", c.format),
            });
        }
        Ok(c)
    }

    /// Number of per-flow records (0 if none or undecodable).
    pub fn flow_count(&self) -> usize {
        peek(&self.flows).map_or(0, |(_, _, n)| n)
    }

    /// Total bytes of the three blobs.
    pub fn len(&self) -> usize {
        self.flows.len() + self.supporting.len() + self.reporting.len()
    }

    /// True if nothing was exported.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        postcard::from_bytes(blob).map_err(|e| StateError::Malformed(format!("{e}")))?;
    check_kind(kind, version, env.kind, env.version)?;
    postcard::from_bytes(env.body).map_err(|e| StateError::Malformed(format!("{e}")))
}

fn check_kind(kind: &str, version: u16, found: &str, fversion: u16) -> Result<(), StateError> {
    if found != kind || fversion != version {
        return Err(StateError::WrongKind {
            expected: format!("{kind} v{version}"),
            found: format!("{found} v{fversion}"),
        });
    }
    Ok(())
}

/// The class, version and (for a sequence of records) the record count
/// of a blob made by [`encode`].
pub fn peek(blob: &[u8]) -> Result<(String, u16, usize), StateError> {
    let env: Envelope<'_> =
        postcard::from_bytes(blob).map_err(|e| StateError::Malformed(format!("{e}")))?;
    // A postcard sequence starts with its length as a varint.
    let n = postcard::take_from_bytes::<u32>(env.body).map_or(0, |(n, _)| n as usize);
    Ok((String::from(env.kind), env.version, n))
}

/// What a stateful element offers. All blobs come from [`encode`] with
/// the element's class name and [`StateInfo::version`].
pub trait StatefulElement {
    /// What state it keeps.
    fn info(&self) -> StateInfo;
    /// Per-flow state of the flows matching `filter`.
    fn export_flows(&self, _filter: &FlowFilter) -> Vec<u8> {
        Vec::new()
    }
    /// Installs per-flow state; returns how many flows were imported.
    fn import_flows(
        &mut self,
        _blob: &[u8],
        _now: crate::time::Timestamp,
    ) -> Result<usize, StateError> {
        Ok(0)
    }
    /// Removes the flows matching `filter`; returns how many.
    fn delete_flows(&mut self, _filter: &FlowFilter) -> usize {
        0
    }
    /// Shared state of `role` (empty if it has none).
    fn export_shared(&self, _role: Role) -> Vec<u8> {
        Vec::new()
    }
    /// Merges shared state of `role` into this element's (counters add,
    /// tables union).
    fn import_shared(
        &mut self,
        _role: Role,
        _blob: &[u8],
        _now: crate::time::Timestamp,
    ) -> Result<(), StateError> {
        Ok(())
    }
    /// Events mode: from now on, packets of flows matching `filter`
    /// (`None`: leave events mode) are kept as [`Event`]s, unprocessed.
    /// Returns how many existing flows it covers.
    fn set_events(&mut self, _filter: Option<&FlowFilter>) -> Result<usize, StateError> {
        Err(StateError::NoEvents(String::new()))
    }
    /// Moves the events kept so far to `out`, in arrival order.
    fn take_events(&mut self, _out: &mut Vec<Event>) {}
}

/// What a [`put`] installed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutCount {
    /// Per-flow records imported.
    pub flows: usize,
    /// Shared parts merged.
    pub shared: usize,
}

/// Exports `parts` of element `e` of class `class`. Fails, with nothing
/// exported, on a filter finer than the element's flows.
pub fn get(
    e: &dyn StatefulElement,
    class: &str,
    filter: &FlowFilter,
    parts: Parts,
) -> Result<Chunks, StateError> {
    let info = e.info();
    let mut c = Chunks {
        format: CHUNKS_FORMAT,
        class: String::from(class),
        version: info.version,
        ..Chunks::default()
    };
    if let (true, Some((_, keyed))) = (parts.flows, info.per_flow) {
        filter.check_keyed_by(class, keyed)?;
        c.flows = e.export_flows(filter);
    }
    if parts.supporting && info.shared_supporting {
        c.supporting = e.export_shared(Role::Supporting);
    }
    if parts.reporting && info.shared_reporting {
        c.reporting = e.export_shared(Role::Reporting);
    }
    Ok(c)
}

/// Installs `c` into element `e` of class `class`: per-flow records are
/// added (replacing flows with the same keys), shared parts merged. The
/// class and versions of every part are checked before anything changes.
pub fn put(
    e: &mut dyn StatefulElement,
    class: &str,
    c: &Chunks,
    now: crate::time::Timestamp,
) -> Result<PutCount, StateError> {
    let info = e.info();
    check_kind(class, info.version, &c.class, c.version)?;
    for blob in [&c.flows, &c.supporting, &c.reporting] {
        if !blob.is_empty() {
            let (k, v, _) = peek(blob)?;
            check_kind(class, info.version, &k, v)?;
        }
    }
    let mut n = PutCount::default();
    if !c.flows.is_empty() {
        n.flows = e.import_flows(&c.flows, now)?;
    }
    for (role, blob) in [
        (Role::Supporting, &c.supporting),
        (Role::Reporting, &c.reporting),
    ] {
        if !blob.is_empty() {
            e.import_shared(role, blob, now)?;
            n.shared += 1;
        }
    }
    Ok(n)
}

/// Deletes the per-flow state `filter` selects; returns how many flows.
pub fn delete(
    e: &mut dyn StatefulElement,
    class: &str,
    filter: &FlowFilter,
) -> Result<usize, StateError> {
    match e.info().per_flow {
        Some((_, keyed)) => {
            filter.check_keyed_by(class, keyed)?;
            Ok(e.delete_flows(filter))
        }
        None => Ok(0),
    }
}

/// Re-processes events handed back by another instance: each packet
/// enters element `eid` of `router` on the input it arrived on there.
pub fn reprocess(router: &crate::router::Router, eid: usize, events: &[Event]) -> usize {
    let n = router.info(eid).inputs.len();
    let mut done = 0;
    for ev in events {
        if (ev.port as usize) < n {
            router.inject(eid, ev.port as usize, ev.packet());
            done += 1;
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn key(src: [u8; 4], dst: [u8; 4], proto: u8, sport: u16, dport: u16) -> FlowKey {
        FlowKey {
            src,
            dst,
            proto,
            sport,
            dport,
        }
    }

    #[test]
    fn filter_matches_prefixes_ports_and_protocols() {
        let k = key([10, 0, 0, 5], [1, 2, 3, 4], 6, 1234, 80);
        assert!(FlowFilter::all().matches(&k));
        let f = FlowFilter::parse("src net 10.0.0.0/24 && dst port 80").unwrap();
        assert!(f.matches(&k));
        assert_eq!(
            f.fields(),
            Fields::SRC.union(Fields::DPORT).union(Fields::PROTO)
        );
        assert!(!FlowFilter::parse("udp").unwrap().matches(&k));
        assert!(FlowFilter::parse("tcp and not src port 22")
            .unwrap()
            .matches(&k));
        let rev = FlowFilter::parse("src host 1.2.3.4").unwrap();
        assert!(!rev.matches(&k) && rev.matches_either(&k));
        let s = FlowFilter::parse("src net 10.0.1.0/25").unwrap();
        assert!(s.matches(&key([10, 0, 1, 127], [0; 4], 17, 1, 1)));
        assert!(!s.matches(&key([10, 0, 1, 128], [0; 4], 17, 1, 1)));
    }

    #[test]
    fn filter_errors_carry_the_column() {
        let e = FlowFilter::parse("src net 10.0.1.0/25 && frob").unwrap_err();
        assert_eq!(e.col, 24, "{e}");
        assert!(e.to_string().starts_with("filter:1:24: "), "{e}");
        let e = FlowFilter::parse("tcp and").unwrap_err();
        assert!(e.col >= 4, "{e}");
    }

    #[test]
    fn filters_finer_than_the_key_are_refused() {
        let f = FlowFilter::parse("src net 10.0.0.0/8 && tcp dst port 80").unwrap();
        assert!(f.check_keyed_by("IPRewriter", Fields::FLOW).is_ok());
        let e = f.check_keyed_by("SourceLimiter", Fields::SRC).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("dst port") && msg.contains("SourceLimiter"),
            "{msg}"
        );
        let ttl = FlowFilter::parse("ip ttl > 3").unwrap();
        assert!(ttl.check_keyed_by("IPRewriter", Fields::FLOW).is_err());
    }

    #[test]
    fn envelope_round_trip_and_kind_check() {
        let blob = encode("Counter", 1, &alloc::vec![1u32, 2, 3]);
        let v: Vec<u32> = decode("Counter", 1, &blob).unwrap();
        assert_eq!(v, alloc::vec![1, 2, 3]);
        assert_eq!(peek(&blob).unwrap(), (String::from("Counter"), 1, 3));
        assert!(matches!(
            decode::<Vec<u32>>("IPRewriter", 1, &blob),
            Err(StateError::WrongKind { .. })
        ));
        assert!(matches!(
            decode::<Vec<u32>>("Counter", 2, &blob),
            Err(StateError::WrongKind { .. })
        ));
        assert!(matches!(
            decode::<Vec<u32>>("Counter", 1, &[0xff, 0xff]),
            Err(StateError::Malformed(_))
        ));
    }

    #[test]
    fn chunks_round_trip_and_format_refusal() {
        let c = Chunks {
            format: CHUNKS_FORMAT,
            class: String::from("Counter"),
            version: 1,
            reporting: encode("Counter", 1, &(3u64, 4u64)),
            ..Chunks::default()
        };
        assert_eq!(Chunks::from_bytes(&c.to_bytes()).unwrap(), c);
        let old = Chunks { format: 9, ..c };
        assert!(matches!(
            Chunks::from_bytes(&old.to_bytes()),
            Err(StateError::WrongKind { .. })
        ));
    }

    /// Every stateful class: its state survives postcard, goes back into
    /// an instance of its class, and is refused by another version or
    /// class with nothing changed.
    #[test]
    fn every_stateful_class_round_trips_and_refuses_others() {
        let (r, _) = crate::testing::router_from_source(
            "Idle -> ip :: IPRewriter(pattern 1.2.3.4 1024-2047 - - 0 0) -> Discard;
             Idle -> tcp :: TCPRewriter(pattern 1.2.3.4 1024-2047 - - 0 0) -> Discard;
             Idle -> udp :: UDPRewriter(pattern 1.2.3.4 1024-2047 - - 0 0) -> Discard;
             Idle -> ping :: ICMPPingRewriter(pattern 1.2.3.4 100-199 - - 0 0) -> Discard;
             Idle -> addr :: IPAddrRewriter(pattern 1.2.3.4 - 0 0) -> Discard;
             Idle -> [0]nat64 :: NAT64(192.0.2.1); Idle -> [1]nat64;
             nat64[0] -> Discard; nat64[1] -> Discard;
             Idle -> lim :: SourceLimiter(3, 1s) -> Discard; lim[1] -> Discard;
             Idle -> arp :: ARPQuerier(10.0.0.1, 02:00:00:00:00:01) -> Discard;
             Idle -> [1]arp; arp[1] -> Discard;
             Idle -> mon :: FlowMonitor -> Discard;
             Idle -> c :: Counter -> Discard;",
        );
        let classes = [
            "IPRewriter",
            "TCPRewriter",
            "UDPRewriter",
            "ICMPPingRewriter",
            "IPAddrRewriter",
            "NAT64",
            "SourceLimiter",
            "ARPQuerier",
            "FlowMonitor",
            "Counter",
        ];
        let now = r.now();
        let mut all = Vec::new();
        for (eid, info) in r.infos().iter().enumerate() {
            let class = info.class.name;
            let c = r.with_element(eid, |e, _| {
                e.state()
                    .map(|s| (s.info(), get(s, class, &FlowFilter::all(), Parts::ALL)))
            });
            let Some(Some((si, c))) = c else {
                assert!(!classes.contains(&class), "{class} has no state");
                continue;
            };
            let c = Chunks::from_bytes(&c.unwrap().to_bytes()).unwrap();
            assert_eq!((c.class.as_str(), c.version), (class, si.version));
            assert!(!si.describe().is_empty(), "{class}");
            all.push((eid, class, c));
        }
        assert_eq!(
            all.iter().map(|x| x.1).collect::<Vec<_>>(),
            classes,
            "every stateful class exports"
        );
        for (eid, class, c) in &all {
            let put_in = |c: &Chunks| {
                r.with_element(*eid, |e, _| put(e.state().unwrap(), class, c, now))
                    .unwrap()
            };
            assert!(put_in(c).is_ok(), "{class}");
            let mut newer = c.clone();
            newer.version += 1;
            assert!(
                matches!(put_in(&newer), Err(StateError::WrongKind { .. })),
                "{class}"
            );
            // The next class's chunks, relabelled as ours, still fail:
            // each part's envelope names its class too.
            let (_, other, oc) =
                &all[(all.iter().position(|x| x.1 == *class).unwrap() + 1) % all.len()];
            let mut forged = oc.clone();
            forged.class = String::from(*class);
            forged.version = c.version;
            if !forged.is_empty() {
                let e = put_in(&forged).unwrap_err();
                assert!(e.to_string().contains(other), "{class}: {e}");
            }
        }
    }
}

//! JSON views of [`Chunks`] for people and scripts (host only): one
//! object per flow, and one for the shared state. Chunks stay opaque to
//! the toolstack otherwise; only this module knows each class's records.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{decode, Chunks, StateError};
use crate::elements::{ethernet::arp_querier, monitor::flow_monitor, nat, ratelimit};

/// Decodes one part as `T` (null when the part is absent).
fn part<T: DeserializeOwned + Serialize>(c: &Chunks, blob: &[u8]) -> Result<Value, StateError> {
    if blob.is_empty() {
        return Ok(Value::Null);
    }
    let v: T = decode(&c.class, c.version, blob)?;
    serde_json::to_value(v).map_err(|e| StateError::Malformed(format!("{e}")))
}

/// The per-flow records (each a JSON object) and the shared state
/// (`{"supporting": ..., "reporting": ...}`, null parts absent).
pub fn to_json(c: &Chunks) -> Result<(Vec<Value>, Value), StateError> {
    type Rw = Vec<nat::export::FlowRecord>;
    let (flows, supporting, reporting) = match c.class.as_str() {
        "IPRewriter" | "TCPRewriter" | "UDPRewriter" | "ICMPPingRewriter" | "IPAddrRewriter" => (
            part::<Rw>(c, &c.flows)?,
            part::<nat::export::CursorRecord>(c, &c.supporting)?,
            part::<Vec<u32>>(c, &c.reporting)?,
        ),
        "NAT64" => (
            part::<Vec<nat::nat64::MappingRecord>>(c, &c.flows)?,
            Value::Null,
            Value::Null,
        ),
        "SourceLimiter" => (
            part::<Vec<ratelimit::sourcelimiter::Record>>(c, &c.flows)?,
            Value::Null,
            part::<u64>(c, &c.reporting)?,
        ),
        "ARPQuerier" => (
            Value::Null,
            part::<Vec<arp_querier::EntryRecord>>(c, &c.supporting)?,
            part::<arp_querier::Counters>(c, &c.reporting)?,
        ),
        "FlowMonitor" => (
            part::<Vec<flow_monitor::FlowRecord>>(c, &c.flows)?,
            Value::Null,
            part::<flow_monitor::Aggregates>(c, &c.reporting)?,
        ),
        "Counter" => (
            Value::Null,
            Value::Null,
            part::<(u64, u64)>(c, &c.reporting)?,
        ),
        other => {
            return Err(StateError::Malformed(format!(
                "no JSON view of {other}'s state"
            )))
        }
    };
    let flows = match flows {
        Value::Array(v) => v,
        _ => Vec::new(),
    };
    let mut shared = Map::new();
    shared.insert(String::from("supporting"), supporting);
    shared.insert(String::from("reporting"), reporting);
    Ok((flows, json!(shared)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{get, FlowFilter, Parts};
    use crate::testing::router_from_source;

    #[test]
    fn every_class_has_a_json_view() {
        let (r, _) = router_from_source(
            "Idle -> rw :: IPRewriter(pattern 1.2.3.4 1024-2047 - - 0 0) -> Discard;
             Idle -> [0]nat64 :: NAT64(192.0.2.1); Idle -> [1]nat64;
             nat64[0] -> Discard; nat64[1] -> Discard;
             Idle -> lim :: SourceLimiter(3, 1s) -> Discard; lim[1] -> Discard;
             Idle -> arp :: ARPQuerier(10.0.0.1, 02:00:00:00:00:01) -> Discard;
             Idle -> [1]arp; arp[1] -> Discard;
             Idle -> mon :: FlowMonitor -> Discard;
             Idle -> c :: Counter -> Discard;",
        );
        r.write("arp.insert", "10.0.0.9 02:00:00:00:00:09").unwrap();
        let mut n = 0;
        for (eid, info) in r.infos().iter().enumerate() {
            let c = r.with_element(eid, |e, _| {
                e.state()
                    .map(|s| get(s, info.class.name, &FlowFilter::all(), Parts::ALL).unwrap())
            });
            let Some(Some(c)) = c else { continue };
            let (flows, shared) = to_json(&c).unwrap();
            assert!(flows.is_empty(), "{}", info.class.name);
            assert!(shared.is_object());
            if info.class.name == "ARPQuerier" {
                let t = shared["supporting"][0]["ip"].clone();
                assert_eq!(t, json!([10, 0, 0, 9]), "{shared}");
            }
            n += 1;
        }
        assert_eq!(n, 6);
    }
}

//! A replicated hop's policy: how many replicas, how they are health
//! checked, when they scale, how traffic is split between them.
//!
//! ```toml
//! [[hop]]
//! name = "nat"
//! config = "nat.click"
//! replicas = { min = 1, max = 4 }   # or a bare N: min = max = N
//! split = "src-ip"                  # or "5-tuple", "dst-ip"
//! defines = { PUBLIC = "10.0.2.1$REPLICA" }
//! [hop.health]
//! interval = "100ms"
//! misses = 3
//! [hop.scale]
//! metric = "pps"                    # pps, bps, cpu, ram, or handler = "E.H"
//! above = 2000
//! below = 200
//! for = "1s"
//! cooldown = "5s"
//! warm = 1
//! ```

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Most replicas of one hop.
pub const REPLICAS_MAX: u32 = 64;

/// How new flows are spread over a hop's replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Split {
    /// By source address (the default): a client stays on one replica.
    SrcIp,
    /// By addresses, protocol and ports.
    FiveTuple,
    /// By destination address.
    DstIp,
}

impl Split {
    /// Parses the chain file's spelling.
    pub fn parse(s: &str) -> Option<Split> {
        match s {
            "src-ip" => Some(Split::SrcIp),
            "5-tuple" => Some(Split::FiveTuple),
            "dst-ip" => Some(Split::DstIp),
            _ => None,
        }
    }

    /// The chain file's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::SrcIp => "src-ip",
            Split::FiveTuple => "5-tuple",
            Split::DstIp => "dst-ip",
        }
    }
}

/// What a hop scales on, per replica.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Metric {
    /// Packets per second received, over the replica's NICs.
    Pps,
    /// Bits per second received, over the replica's NICs.
    Bps,
    /// Percent of one host core used by the replica's VM process.
    Cpu,
    /// Percent of the guest's heap in use, as the guest reports it.
    Ram,
    /// A numeric read handler, `ELEMENT.HANDLER`.
    Handler(String),
}

impl Metric {
    /// Its name as `chain show` prints it.
    pub fn label(&self) -> String {
        match self {
            Metric::Pps => "pps".into(),
            Metric::Bps => "bps".into(),
            Metric::Cpu => "cpu".into(),
            Metric::Ram => "ram".into(),
            Metric::Handler(h) => h.clone(),
        }
    }
}

/// When a hop grows or shrinks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scale {
    /// The metric, averaged over the hop's serving replicas.
    pub metric: Metric,
    /// Add a replica when the metric stays above this.
    pub above: f64,
    /// Drain one when it stays below this.
    pub below: f64,
    /// How long the condition must hold, in milliseconds.
    pub hold_ms: u64,
    /// Least time between two scalings, in milliseconds.
    pub cooldown_ms: u64,
    /// Spare replicas kept booted, receiving no traffic.
    pub warm: u32,
}

/// A replicated hop's whole policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Fewest serving replicas.
    pub min: u32,
    /// Most serving replicas.
    pub max: u32,
    /// Health poll period, in milliseconds.
    pub interval_ms: u64,
    /// Unanswered polls in a row that mean a replica failed.
    pub misses: u32,
    /// Scaling, if any.
    pub scale: Option<Scale>,
    /// How flows are spread.
    pub split: Split,
}

impl Policy {
    /// The health poll period.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    /// Spare replicas to keep.
    pub fn warm(&self) -> u32 {
        self.scale.as_ref().map_or(0, |s| s.warm)
    }

    /// One line for `chain show`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "replicas {}..{}, split {}, health every {} ms (misses {})",
            self.min,
            self.max,
            self.split.as_str(),
            self.interval_ms,
            self.misses
        );
        if let Some(sc) = &self.scale {
            s.push_str(&format!(
                ", scale on {} above {} below {} for {} ms, cooldown {} ms, warm {}",
                sc.metric.label(),
                sc.above,
                sc.below,
                sc.hold_ms,
                sc.cooldown_ms,
                sc.warm
            ));
        }
        s
    }
}

/// `replicas = N` or `replicas = { min = A, max = B }`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum RawReplicas {
    N(i64),
    Range { min: i64, max: i64 },
}

/// `[hop.health]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealth {
    interval: Option<String>,
    misses: Option<i64>,
}

/// `[hop.scale]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScale {
    metric: Option<String>,
    handler: Option<String>,
    above: f64,
    below: f64,
    #[serde(rename = "for")]
    hold: Option<String>,
    cooldown: Option<String>,
    warm: Option<i64>,
}

/// Parses `100ms`, `1s`, `2m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    let ms = match unit {
        "ms" => n,
        "s" => n * 1e3,
        "m" => n * 60e3,
        _ => return None,
    };
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_micros((ms * 1e3) as u64))
}

/// A policy problem and which part of the hop it is in (`replicas`,
/// `health`, `scale`, `split`), for `file:line:col`.
pub(crate) type Problem = (&'static str, String);

/// Checks and builds a hop's policy from its raw parts.
pub(crate) fn build(
    replicas: Option<RawReplicas>,
    health: Option<RawHealth>,
    scale: Option<RawScale>,
    split: Option<&str>,
) -> Result<Policy, Problem> {
    let (min, max) = match replicas {
        None => (1, 1),
        Some(RawReplicas::N(n)) => (n, n),
        Some(RawReplicas::Range { min, max }) => (min, max),
    };
    if min < 1 || max > REPLICAS_MAX as i64 {
        return Err((
            "replicas",
            format!("replicas must lie in 1..={REPLICAS_MAX} (min {min}, max {max})"),
        ));
    }
    if max < min {
        return Err(("replicas", format!("max {max} is below min {min}")));
    }
    let dur = |what: &'static str, v: Option<&String>, default: u64| -> Result<u64, Problem> {
        match v {
            None => Ok(default),
            Some(s) => parse_duration(s)
                .map(|d| d.as_millis() as u64)
                .ok_or_else(|| {
                    (
                        what,
                        format!("bad duration '{s}': expected e.g. \"100ms\", \"2s\""),
                    )
                }),
        }
    };
    let (interval_ms, misses) = match &health {
        None => (100, 3),
        Some(h) => (
            dur("health", h.interval.as_ref(), 100)?,
            h.misses.unwrap_or(3),
        ),
    };
    if interval_ms < 10 {
        return Err(("health", "interval must be at least 10ms".into()));
    }
    if !(1..=1000).contains(&misses) {
        return Err(("health", format!("misses {misses}: expected 1 to 1000")));
    }
    let scale = match scale {
        None => None,
        Some(s) => {
            let metric = match (s.metric.as_deref(), s.handler) {
                (Some(_), Some(_)) => {
                    return Err(("scale", "give either metric or handler, not both".into()))
                }
                (None, Some(h)) => {
                    mb_store_client::clickos::split_handler(&h)
                        .ok()
                        .filter(|(e, _)| !e.is_empty())
                        .ok_or_else(|| {
                            ("scale", format!("handler '{h}': expected ELEMENT.HANDLER"))
                        })?;
                    Metric::Handler(h)
                }
                (Some("pps"), None) => Metric::Pps,
                (Some("bps"), None) => Metric::Bps,
                (Some("cpu"), None) => Metric::Cpu,
                (Some("ram"), None) => Metric::Ram,
                (Some(m), None) => {
                    return Err((
                        "scale",
                        format!(
                        "unknown metric '{m}': expected pps, bps, cpu, ram (or handler = \"E.H\")"
                    ),
                    ))
                }
                (None, None) => {
                    return Err(("scale", "[hop.scale] needs a metric or a handler".into()))
                }
            };
            if s.below >= s.above {
                return Err((
                    "scale",
                    format!("below ({}) must be less than above ({})", s.below, s.above),
                ));
            }
            let warm = s.warm.unwrap_or(0);
            if !(0..=REPLICAS_MAX as i64).contains(&warm) {
                return Err((
                    "scale",
                    format!("warm {warm}: expected 0 to {REPLICAS_MAX}"),
                ));
            }
            Some(Scale {
                metric,
                above: s.above,
                below: s.below,
                hold_ms: dur("scale", s.hold.as_ref(), 1000)?,
                cooldown_ms: dur("scale", s.cooldown.as_ref(), 5000)?,
                warm: warm as u32,
            })
        }
    };
    let split = match split {
        None => Split::SrcIp,
        Some(s) => Split::parse(s).ok_or_else(|| {
            (
                "split",
                format!("split '{s}': expected \"src-ip\", \"5-tuple\" or \"dst-ip\""),
            )
        })?,
    };
    Ok(Policy {
        min: min as u32,
        max: max as u32,
        interval_ms,
        misses: misses as u32,
        scale,
        split,
    })
}

/// The value of a define for replica `n`: `$REPLICA` becomes `n`.
pub fn for_replica(value: &str, n: u32) -> String {
    value.replace("$REPLICA", &n.to_string())
}

/// A hop's definitions for its replica `n`: `$REPLICA` in values becomes
/// `n`, and `REPLICA` is defined as `n`.
pub fn replica_defines(defines: &[(String, String)], n: u32) -> Vec<(String, String)> {
    let mut d: Vec<(String, String)> = defines
        .iter()
        .map(|(k, v)| (k.clone(), for_replica(v, n)))
        .collect();
    d.push(("REPLICA".into(), n.to_string()));
    d
}

impl Policy {
    /// The replica indices a hop may use: serving ones and spares.
    pub fn indices(&self) -> std::ops::Range<u32> {
        0..self.max + self.warm()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5h"), None);
    }

    #[test]
    fn policies_are_checked() {
        let p = build(Some(RawReplicas::N(2)), None, None, None).unwrap();
        assert_eq!((p.min, p.max, p.interval_ms, p.misses), (2, 2, 100, 3));
        assert_eq!(p.split, Split::SrcIp);
        let e = build(
            Some(RawReplicas::Range { min: 3, max: 2 }),
            None,
            None,
            None,
        )
        .unwrap_err();
        assert!(e.1.contains("below min"), "{e:?}");
        let raw = |m: &str| RawScale {
            metric: Some(m.into()),
            handler: None,
            above: 10.0,
            below: 1.0,
            hold: Some("2s".into()),
            cooldown: None,
            warm: Some(1),
        };
        let p = build(None, None, Some(raw("cpu")), Some("5-tuple")).unwrap();
        let s = p.scale.unwrap();
        assert_eq!(
            (s.metric, s.hold_ms, s.cooldown_ms, s.warm),
            (Metric::Cpu, 2000, 5000, 1)
        );
        let e = build(None, None, Some(raw("load")), None).unwrap_err();
        assert!(e.0 == "scale" && e.1.contains("unknown metric"), "{e:?}");
        let e = build(None, None, None, Some("mac")).unwrap_err();
        assert_eq!(e.0, "split");
        assert_eq!(for_replica("10.0.0.1$REPLICA", 3), "10.0.0.13");
    }
}

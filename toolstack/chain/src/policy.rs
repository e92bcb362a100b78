//! A hop's policy: how many replicas it runs, how they are watched, when
//! the controller adds or removes one, and how traffic is split between
//! them; and the per-replica definitions (`$REPLICA`, list defines).
//!
//! ```toml
//! [[hop]]
//! name = "nat"
//! config = "nat.click"
//! replicas = { min = 1, max = 4 }     # or a bare N: min = max = N
//! split = "src-ip"                    # or "5-tuple", "dst-ip"
//! defines = { PUBLIC = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"],
//!             ID = "nat-$REPLICA" }
//!
//! [hop.health]
//! interval = "100ms"                  # one store read per replica per interval
//! misses = 3                          # unanswered polls before a replica is failed
//!
//! [hop.scale]
//! metric = "pps"                      # pps, bps, cpu, ram; or handler = "ELEM.HANDLER"
//! above = 50000                       # scale out when above this ...
//! below = 10000                       # ... scale in when below this ...
//! for = "1s"                          # ... for this long
//! cooldown = "5s"                     # no other scaling this long after one
//! warm = 1                            # spare replicas booted ahead
//! ```
//!
//! Parsing lives here so the chain file's reader ([`crate::spec`]) stays
//! about the chain; every refusal names the chain file's `file:line:col`.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;
use std::time::Duration;

use click::element::Element;
use click::host::MemoryHost;
use click::time::SimClock;
use click::{ElementClass, Env, Registry, Router};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::spec::Src;

/// Largest `max` and `warm` of a hop: bounds a switch group's buckets
/// and the controller's polls.
pub const REPLICAS_MAX: u32 = 64;

/// The define that holds a replica's index, written `$REPLICA` (or
/// `${REPLICA}`) in a hop's define values.
pub const REPLICA: &str = "REPLICA";

/// Keys of `[hop.health]`, `[hop.scale]` and the `replicas = { ... }` table.
pub(crate) const HEALTH_KEYS: &[&str] = &["interval", "misses"];
pub(crate) const SCALE_KEYS: &[&str] = &[
    "metric", "handler", "above", "below", "for", "cooldown", "warm",
];
pub(crate) const REPLICAS_KEYS: &[&str] = &["min", "max"];

/// A place in the chain file, kept for checks made after parsing (the
/// scale handler against the hop's configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    /// The chain file, as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl Loc {
    /// An error at this place.
    pub fn error(&self, message: impl fmt::Display) -> Error {
        Error::Spec {
            file: self.file.clone(),
            line: self.line,
            col: self.col,
            message: message.to_string(),
        }
    }
}

/// How many replicas a hop runs (warm spares not counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replicas {
    /// Never fewer (at least 1: a hop with none would drop its traffic).
    pub min: u32,
    /// Never more.
    pub max: u32,
}

/// How the controller watches each replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    /// Time between two polls of one replica (default 100 ms).
    pub interval: Duration,
    /// Consecutive unanswered polls that make a replica failed (default 3).
    pub misses: u32,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            interval: Duration::from_millis(100),
            misses: 3,
        }
    }
}

/// A per-replica quantity the host measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Packets per second, received and sent, summed over the replica's NICs.
    Pps,
    /// Bits per second, likewise.
    Bps,
    /// Percent of one host core the replica's VM process uses.
    Cpu,
    /// Percent of the guest's heap in use, as the guest reports it.
    Ram,
}

impl Metric {
    /// Every metric, as the chain file names them.
    pub const ALL: [Metric; 4] = [Metric::Pps, Metric::Bps, Metric::Cpu, Metric::Ram];

    /// Its name in the chain file.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Pps => "pps",
            Metric::Bps => "bps",
            Metric::Cpu => "cpu",
            Metric::Ram => "ram",
        }
    }

    /// The metric named `s`.
    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// What a scale policy compares with its thresholds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A host-measured metric.
    Metric(Metric),
    /// A numeric read handler of the hop's configuration, read in each
    /// replica through the store.
    Handler {
        /// The element (`c` of `c.rate`; compound paths keep their `/`).
        element: String,
        /// The handler (`rate`).
        handler: String,
        /// Where the chain file names it.
        at: Loc,
    },
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Metric(m) => f.write_str(m.name()),
            Trigger::Handler {
                element, handler, ..
            } => write!(f, "{element}.{handler}"),
        }
    }
}

/// When to add and remove replicas.
#[derive(Clone, Debug, PartialEq)]
pub struct Scale {
    /// The quantity watched, per replica.
    pub trigger: Trigger,
    /// Scale out when the replicas' mean stays above this for `hold`.
    pub above: f64,
    /// Scale in when it stays below this for `hold` (less than `above`).
    pub below: f64,
    /// How long a condition must hold (`for`, default 1 s).
    pub hold: Duration,
    /// No scaling this long after the last (default 5 s).
    pub cooldown: Duration,
    /// Spare replicas kept booted, configured and idle (default 0).
    pub warm: u32,
}

/// What the switch hashes on to pick a replica for a new flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Split {
    /// The source address (the default): one client, one replica.
    #[default]
    SrcIp,
    /// Addresses, protocol and ports.
    FiveTuple,
    /// The destination address.
    DstIp,
}

impl Split {
    /// Every split, as the chain file names them.
    pub const ALL: [Split; 3] = [Split::SrcIp, Split::FiveTuple, Split::DstIp];

    /// Its name in the chain file.
    pub fn name(self) -> &'static str {
        match self {
            Split::SrcIp => "src-ip",
            Split::FiveTuple => "5-tuple",
            Split::DstIp => "dst-ip",
        }
    }
}

/// A hop's whole policy (the defaults: one replica, polled every 100 ms,
/// no scaling).
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Replica bounds.
    pub replicas: Replicas,
    /// Polling.
    pub health: Health,
    /// Scaling, if the hop scales.
    pub scale: Option<Scale>,
    /// How flows are spread over replicas.
    pub split: Split,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            replicas: Replicas { min: 1, max: 1 },
            health: Health::default(),
            scale: None,
            split: Split::default(),
        }
    }
}

impl Policy {
    /// How many replica indices exist: at most this many replicas of the
    /// hop are up at once (`max` serving plus the warm spares), each with
    /// its own index `0..slots()`, which list defines must cover.
    pub fn slots(&self) -> u32 {
        self.replicas.max + self.scale.as_ref().map_or(0, |s| s.warm)
    }
}

/// One of a hop's own definitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Define {
    /// The same value for every replica (`$REPLICA` expanded).
    One(String),
    /// Replica i takes item i (`$REPLICA` expanded).
    List(Vec<String>),
}

impl Define {
    /// Its value for replica `i` (`None` past a list's end).
    pub fn for_replica(&self, i: u32) -> Option<String> {
        let v = match self {
            Define::One(v) => v,
            Define::List(items) => items.get(i as usize)?,
        };
        let n = i.to_string();
        Some(
            v.replace(&format!("${{{REPLICA}}}"), &n)
                .replace(&format!("${REPLICA}"), &n),
        )
    }
}

/// Replica `i`'s definitions from a hop's `defines`, in name order.
pub fn resolve(defines: &BTreeMap<String, Define>, i: u32) -> Vec<(String, String)> {
    defines
        .iter()
        .filter_map(|(k, d)| Some((k.clone(), d.for_replica(i)?)))
        .collect()
}

/// Parses a duration: a decimal number and a unit, `ms`, `s` or `m`
/// (`100ms`, `1s`, `1.5s`, `2m`).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

/// `replicas = N` or `replicas = { min = A, max = B }` as written.
pub(crate) enum RawReplicas {
    Fixed(i64),
    Range {
        min: Option<Spanned<i64>>,
        max: Option<Spanned<i64>>,
    },
}

impl<'de> Deserialize<'de> for RawReplicas {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawReplicas;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a replica count or { min = N, max = M }")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<RawReplicas, E> {
                Ok(RawReplicas::Fixed(n))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawReplicas, A::Error> {
                let (mut min, mut max) = (None, None);
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "min" => min = Some(m.next_value()?),
                        "max" => max = Some(m.next_value()?),
                        _ => return Err(de::Error::unknown_field(&k, REPLICAS_KEYS)),
                    }
                }
                Ok(RawReplicas::Range { min, max })
            }
        }
        d.deserialize_any(V)
    }
}

/// A define's value as written: a string or a list of strings.
pub(crate) struct RawDefine(pub Define);

impl<'de> Deserialize<'de> for RawDefine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDefine;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings (one per replica)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawDefine, E> {
                Ok(RawDefine(Define::One(s.to_string())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<RawDefine, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = s.next_element::<String>()? {
                    items.push(v);
                }
                Ok(RawDefine(Define::List(items)))
            }
        }
        d.deserialize_any(V)
    }
}

/// `[hop.health]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealth {
    interval: Option<Spanned<String>>,
    misses: Option<Spanned<i64>>,
}

/// `[hop.scale]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScale {
    metric: Option<Spanned<String>>,
    handler: Option<Spanned<String>>,
    above: Option<Spanned<f64>>,
    below: Option<Spanned<f64>>,
    #[serde(rename = "for")]
    hold: Option<Spanned<String>>,
    cooldown: Option<Spanned<String>>,
    warm: Option<Spanned<i64>>,
}

/// A hop's policy keys as written.
pub(crate) struct RawPolicy {
    pub replicas: Option<Spanned<RawReplicas>>,
    pub health: Option<Spanned<RawHealth>>,
    pub scale: Option<Spanned<RawScale>>,
    pub split: Option<Spanned<String>>,
}

fn duration(src: &Src, v: &Spanned<String>, key: &str, zero_ok: bool) -> Result<Duration> {
    let d = parse_duration(v.get_ref()).ok_or_else(|| {
        src.at(
            v.span(),
            format!(
                "{key} = \"{}\": expected a duration such as \"100ms\", \"1s\" or \"2m\"",
                v.get_ref()
            ),
        )
    })?;
    if d.is_zero() && !zero_ok {
        return Err(src.at(v.span(), format!("{key} must be more than 0")));
    }
    Ok(d)
}

fn count(src: &Src, v: &Spanned<i64>, key: &str, least: i64) -> Result<u32> {
    let n = *v.get_ref();
    if n < least {
        return Err(src.at(v.span(), format!("{key} = {n}: at least {least}")));
    }
    if n > i64::from(REPLICAS_MAX) {
        return Err(src.at(
            v.span(),
            format!("{key} = {n}: at most {REPLICAS_MAX} replicas per hop"),
        ));
    }
    Ok(n as u32)
}

fn replicas(src: &Src, raw: Option<Spanned<RawReplicas>>) -> Result<Replicas> {
    let Some(raw) = raw else {
        return Ok(Replicas { min: 1, max: 1 });
    };
    let span = raw.span();
    match raw.into_inner() {
        RawReplicas::Fixed(n) => {
            let n = Spanned::new(span, n);
            if *n.get_ref() == 0 {
                return Err(src.at(
                    n.span(),
                    "replicas = 0: a hop needs at least one replica to carry its traffic",
                ));
            }
            let n = count(src, &n, "replicas", 1)?;
            Ok(Replicas { min: n, max: n })
        }
        RawReplicas::Range { min, max } => {
            let min_v = match &min {
                Some(m) if *m.get_ref() == 0 => {
                    return Err(src.at(
                        m.span(),
                        "min = 0: a hop needs at least one replica to carry its traffic",
                    ))
                }
                Some(m) => count(src, m, "min", 1)?,
                None => 1,
            };
            let max_v = match &max {
                Some(m) => count(src, m, "max", 1)?,
                None => min_v,
            };
            if max_v < min_v {
                let sp = max.as_ref().map_or(span, |m| m.span());
                return Err(src.at(sp, format!("max = {max_v} is less than min = {min_v}")));
            }
            Ok(Replicas {
                min: min_v,
                max: max_v,
            })
        }
    }
}

fn health(src: &Src, raw: Option<Spanned<RawHealth>>) -> Result<Health> {
    let mut h = Health::default();
    let Some(raw) = raw else { return Ok(h) };
    let raw = raw.into_inner();
    if let Some(i) = &raw.interval {
        h.interval = duration(src, i, "interval", false)?;
    }
    if let Some(m) = &raw.misses {
        let n = *m.get_ref();
        if !(1..=1000).contains(&n) {
            return Err(src.at(m.span(), format!("misses = {n}: from 1 to 1000")));
        }
        h.misses = n as u32;
    }
    Ok(h)
}

fn scale(src: &Src, raw: Option<Spanned<RawScale>>) -> Result<Option<Scale>> {
    let Some(raw) = raw else { return Ok(None) };
    let span = raw.span();
    let r = raw.into_inner();
    let trigger = match (&r.metric, &r.handler) {
        (Some(_), Some(h)) => {
            return Err(src.at(
                h.span(),
                "[hop.scale] takes metric or handler, not both",
            ))
        }
        (None, None) => {
            return Err(src.at(
                span,
                "[hop.scale] needs metric = \"pps\"|\"bps\"|\"cpu\"|\"ram\" or handler = \"ELEM.HANDLER\"",
            ))
        }
        (Some(m), None) => Trigger::Metric(Metric::parse(m.get_ref()).ok_or_else(|| {
            src.at(
                m.span(),
                format!(
                    "unknown metric '{}': expected one of {}",
                    m.get_ref(),
                    Metric::ALL.map(|m| format!("\"{}\"", m.name())).join(", ")
                ),
            )
        })?),
        (None, Some(h)) => {
            let text = h.get_ref();
            let (element, handler) = text
                .rsplit_once('.')
                .filter(|(e, h)| !e.is_empty() && !h.is_empty())
                .ok_or_else(|| {
                    src.at(
                        h.span(),
                        format!(
                            "handler '{text}': expected ELEM.HANDLER (an element of the hop's configuration and one of its read handlers)"
                        ),
                    )
                })?;
            Trigger::Handler {
                element: element.to_string(),
                handler: handler.to_string(),
                at: loc_of(src, h.span()),
            }
        }
    };
    let threshold = |v: &Option<Spanned<f64>>, key: &str| -> Result<(f64, Range<usize>)> {
        let v = v
            .as_ref()
            .ok_or_else(|| src.at(span.clone(), format!("[hop.scale] needs {key} (a number)")))?;
        let n = *v.get_ref();
        if !n.is_finite() || n < 0.0 {
            return Err(src.at(
                v.span(),
                format!("{key} = {n}: expected a number, 0 or more"),
            ));
        }
        Ok((n, v.span()))
    };
    let (above, above_at) = threshold(&r.above, "above")?;
    let (below, below_at) = threshold(&r.below, "below")?;
    if above <= below {
        return Err(src.at(
            below_at,
            format!("below = {below} must be less than above = {above} (the gap keeps scaling from flapping)"),
        ));
    }
    if trigger == Trigger::Metric(Metric::Ram) && above >= 100.0 {
        return Err(src.at(
            above_at,
            format!("above = {above}: ram is a percentage, which never exceeds 100"),
        ));
    }
    let hold = match &r.hold {
        Some(v) => duration(src, v, "for", true)?,
        None => Duration::from_secs(1),
    };
    let cooldown = match &r.cooldown {
        Some(v) => duration(src, v, "cooldown", true)?,
        None => Duration::from_secs(5),
    };
    let warm = match &r.warm {
        Some(w) => count(src, w, "warm", 0)?,
        None => 0,
    };
    Ok(Some(Scale {
        trigger,
        above,
        below,
        hold,
        cooldown,
        warm,
    }))
}

/// Checks a hop's policy keys and defines together; every error found,
/// in file order.
pub(crate) fn policy(
    src: &Src,
    raw: RawPolicy,
    defines: &BTreeMap<String, Spanned<Define>>,
    all_errs: &mut Vec<Error>,
) -> Policy {
    let mut errs = Vec::new();
    let p = policy_unsorted(src, raw, defines, &mut errs);
    errs.sort_by_key(|e| match e {
        Error::Spec { line, col, .. } => (*line, *col),
        _ => (0, 0),
    });
    all_errs.extend(errs);
    p
}

fn policy_unsorted(
    src: &Src,
    raw: RawPolicy,
    defines: &BTreeMap<String, Spanned<Define>>,
    errs: &mut Vec<Error>,
) -> Policy {
    let mut p = Policy::default();
    match replicas(src, raw.replicas) {
        Ok(r) => p.replicas = r,
        Err(e) => errs.push(e),
    }
    match health(src, raw.health) {
        Ok(h) => p.health = h,
        Err(e) => errs.push(e),
    }
    match scale(src, raw.scale) {
        Ok(s) => p.scale = s,
        Err(e) => errs.push(e),
    }
    if let Some(s) = raw.split {
        match Split::ALL.into_iter().find(|x| x.name() == s.get_ref()) {
            Some(x) => p.split = x,
            None => errs.push(src.at(
                s.span(),
                format!(
                    "split '{}': expected one of {}",
                    s.get_ref(),
                    Split::ALL.map(|x| format!("\"{}\"", x.name())).join(", ")
                ),
            )),
        }
    }
    let slots = p.slots();
    for (k, d) in defines {
        if let Define::List(items) = d.get_ref() {
            if (items.len() as u64) < u64::from(slots) {
                let why = if slots > p.replicas.max {
                    format!(
                        "max = {} plus warm = {}",
                        p.replicas.max,
                        slots - p.replicas.max
                    )
                } else {
                    format!("max = {slots}")
                };
                errs.push(src.at(
                    d.span(),
                    format!(
                        "{k} lists {} value(s) but the hop can have {slots} replica(s) up at once ({why}): give one per replica",
                        items.len()
                    ),
                ));
            }
        }
    }
    p
}

/// Checks that a scale policy's handler is a numeric read handler of
/// the hop's configuration `source` (named `file`) as flattened with
/// `defines`. Numeric cannot be told from a handler's declaration, so the
/// rule is: the element declares the handler readable (the generic
/// `name`, `class`, `config`, `ports` and `handlers` are text), and
/// reading it once on the configuration built on the host (simulated
/// clock, in-memory host, devices replaced by inert stand-ins, nothing
/// run) gives a number. A configuration that does not build is left to
/// the configuration check, which reports it.
pub fn check_handler(
    trigger: &Trigger,
    source: &str,
    file: &str,
    defines: &[(String, String)],
) -> Result<()> {
    let Trigger::Handler {
        element,
        handler,
        at,
    } = trigger
    else {
        return Ok(());
    };
    let reg = probe_registry();
    let Ok(flat) = click::lang::parse(source, file, defines, &|c| reg.contains(c)) else {
        return Ok(());
    };
    let Some(eid) = flat.find(element) else {
        let names = flat.elements.iter().map(|e| e.name.as_str());
        let near = click::suggest::closest(element, names)
            .map(|n| format!(" (did you mean '{n}'?)"))
            .unwrap_or_default();
        return Err(at.error(format!(
            "handler '{element}.{handler}': {file} has no element named '{element}'{near}"
        )));
    };
    let class = flat.elements[eid].class.clone();
    let env = Env {
        clock: Box::new(SimClock::new()),
        host: Box::new(MemoryHost::default()),
    };
    let Ok(router) = Router::new(flat, &reg, env) else {
        return Ok(());
    };
    let all = router.element_handlers(eid);
    let own: Vec<_> = all
        .iter()
        .filter(|d| !GENERIC.contains(&d.name) && d.readable())
        .collect();
    let names = || own.iter().map(|d| d.name).collect::<Vec<_>>().join(", ");
    if !own.iter().any(|d| d.name == handler) {
        let which = if all.iter().any(|d| d.name == handler) {
            "is not a numeric read handler"
        } else {
            "is not a handler"
        };
        let list = if own.is_empty() {
            format!("{class} has no read handlers of its own")
        } else {
            format!("{class}'s read handlers: {}", names())
        };
        return Err(at.error(format!(
            "handler '{element}.{handler}' {which} of '{element} :: {class}' ({list})"
        )));
    }
    let value = router
        .read(&format!("{element}.{handler}"))
        .unwrap_or_default();
    if !is_number(&value) {
        return Err(at.error(format!(
            "handler '{element}.{handler}' of '{element} :: {class}' is not numeric (it reads {:?}); scale on a handler that reads a number, such as a counter's rate",
            value.trim()
        )));
    }
    Ok(())
}

/// Whether a handler's text is one number (what the controller compares).
pub fn is_number(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok_and(f64::is_finite)
}

/// Handlers every element has; all text.
const GENERIC: &[&str] = &["name", "class", "config", "ports", "handlers"];

/// An element that does nothing: stands in for classes that reach the
/// host (devices, files) when a configuration is built only to be probed.
struct Inert;

impl Element for Inert {}

/// The runner's classes, those that touch the host replaced by inert
/// elements with the same ports and processing.
fn probe_registry() -> Registry {
    static STANDINS: OnceLock<Vec<ElementClass>> = OnceLock::new();
    let standins = STANDINS.get_or_init(|| {
        let standard = Registry::standard();
        let runner = mb_runner::registry();
        runner
            .names()
            .filter(|n| !standard.contains(n))
            .filter_map(|n| runner.get(n))
            .map(|c| ElementClass {
                make: |args, _| {
                    args.rest_raw();
                    Ok(Box::new(Inert))
                },
                ..*c
            })
            .collect()
    });
    let mut r = Registry::standard();
    for c in standins {
        r.add(c);
    }
    r
}

/// A chain file's position of `span` (for errors made after parsing).
pub(crate) fn loc_of(src: &Src, span: Range<usize>) -> Loc {
    match src.at(span, "") {
        Error::Spec {
            file, line, col, ..
        } => Loc { file, line, col },
        _ => unreachable!("Src::at makes a located error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{parse, Chain};
    use std::path::PathBuf;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("mbctl-chain-policy-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("nat.click"), COUNTING).unwrap();
        d
    }

    /// A hop config with a counter, a queue and an ARP responder.
    const COUNTING: &str = "define($IN_DEV 0, $OUT_DEV 1);\n\
        FromDevice($IN_DEV) -> c :: Counter -> q :: Queue(50) -> ToDevice($OUT_DEV);\n\
        ar :: ARPResponder(10.0.0.1 02:00:00:00:00:01) -> Discard;\nIdle -> ar;\n";

    const BASE: &str = r#"name = "sc"
[left]
bridge = "a"
gateway = "10.1.0.1/24"
[right]
bridge = "b"
gateway = "10.2.0.1/24"
[[hop]]
name = "nat"
config = "nat.click"
"#;

    fn chain(extra: &str) -> Result<Chain> {
        parse(&format!("{BASE}{extra}"), &dir().join("c.toml"))
    }

    fn ok(extra: &str) -> Policy {
        chain(extra).unwrap_or_else(|e| panic!("{e}")).hops[0]
            .policy
            .clone()
    }

    /// `c.toml:LINE:COL: ` of the first `needle` in `extra`, as it sits
    /// in the chain text.
    fn at(extra: &str, needle: &str) -> String {
        let text = format!("{BASE}{extra}");
        let off = BASE.len() + extra.find(needle).expect("needle in extra");
        let line = text[..off].matches('\n').count() + 1;
        let col = off - text[..off].rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("c.toml:{line}:{col}: ")
    }

    /// The error for `extra`, checked to be at `needle` and to say `says`.
    fn refused(extra: &str, needle: &str, says: &str) {
        let e = chain(extra).expect_err(extra).to_string();
        let want = at(extra, needle);
        assert!(
            e.contains(&want) && e.contains(says),
            "{extra}\ngave: {e}\nwant: {want}... {says}"
        );
    }

    #[test]
    fn no_policy_is_one_replica_polled_every_100ms() {
        let p = ok("");
        assert_eq!(p, Policy::default());
        assert_eq!(p.replicas, Replicas { min: 1, max: 1 });
        assert_eq!(p.health.interval, Duration::from_millis(100));
        assert_eq!(p.health.misses, 3);
        assert_eq!(p.split, Split::SrcIp);
        assert_eq!(p.slots(), 1);
    }

    #[test]
    fn replicas_as_a_number_or_a_range() {
        assert_eq!(ok("replicas = 3\n").replicas, Replicas { min: 3, max: 3 });
        let r = ok("replicas = { min = 1, max = 4 }\n").replicas;
        assert_eq!(r, Replicas { min: 1, max: 4 });
        assert_eq!(ok("replicas = { max = 4 }\n").replicas.min, 1);
        assert_eq!(ok("replicas = { min = 2 }\n").replicas.max, 2);
        let r = ok("replicas = { min = 2, max = 2 }\n").replicas;
        assert_eq!(r, Replicas { min: 2, max: 2 });
        assert_eq!(ok("[hop.replicas]\nmin = 2\nmax = 5\n").replicas.max, 5);
    }

    #[test]
    fn replica_refusals() {
        let x = "replicas = { min = 3, max = 2 }\n";
        refused(x, "2 }", "max = 2 is less than min = 3");
        let x = "replicas = { min = 0, max = 2 }\n";
        refused(x, "0,", "min = 0: a hop needs at least one replica");
        refused(
            "replicas = 0\n",
            "0",
            "replicas = 0: a hop needs at least one",
        );
        refused("replicas = -2\n", "-2", "replicas = -2: at least 1");
        refused("replicas = 65\n", "65", "at most 64 replicas per hop");
        let x = "replicas = { min = 1, most = 4 }\n";
        refused(
            x,
            "most",
            "unknown field `most`, expected one of `min`, `max`",
        );
        refused("replicas = \"two\"\n", "\"two\"", "a replica count or");
    }

    #[test]
    fn health_is_read_with_its_defaults() {
        let h = ok("[hop.health]\ninterval = \"250ms\"\n").health;
        assert_eq!(h.interval, Duration::from_millis(250));
        assert_eq!(h.misses, 3);
        let h = ok("[hop.health]\ninterval = \"1.5s\"\nmisses = 5\n").health;
        assert_eq!(h.interval, Duration::from_millis(1500));
        assert_eq!(h.misses, 5);
        let h = ok("health = { misses = 1 }\n").health;
        assert_eq!((h.interval, h.misses), (Duration::from_millis(100), 1));
    }

    #[test]
    fn health_refusals() {
        let x = "[hop.health]\ninterval = \"100\"\n";
        refused(x, "\"100\"", "expected a duration such as");
        let x = "[hop.health]\ninterval = \"0ms\"\n";
        refused(x, "\"0ms\"", "interval must be more than 0");
        refused(
            "[hop.health]\nmisses = 0\n",
            "0",
            "misses = 0: from 1 to 1000",
        );
        let x = "[hop.health]\nperiod = \"1s\"\n";
        refused(
            x,
            "period",
            "unknown field `period`, expected one of `interval`",
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("0.5s"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        for bad in ["", "s", "1", "1h", "-1s", ".5s", "1.s", "1 s s", "1e3ms"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn scale_on_a_metric_with_its_defaults() {
        let x = "replicas = { min = 1, max = 4 }\n[hop.scale]\nmetric = \"pps\"\nabove = 50000\nbelow = 10000.5\n";
        let s = ok(x).scale.unwrap();
        assert_eq!(s.trigger, Trigger::Metric(Metric::Pps));
        assert_eq!((s.above, s.below), (50000.0, 10000.5));
        assert_eq!(s.hold, Duration::from_secs(1));
        assert_eq!(s.cooldown, Duration::from_secs(5));
        assert_eq!(s.warm, 0);
        for m in Metric::ALL {
            let x = format!("[hop.scale]\nmetric = \"{}\"\nabove = 60\nbelow = 20\nfor = \"200ms\"\ncooldown = \"0s\"\nwarm = 2\n", m.name());
            let p = ok(&x);
            let s = p.scale.clone().unwrap();
            assert_eq!(s.trigger, Trigger::Metric(m));
            assert_eq!(
                (s.hold, s.cooldown, s.warm),
                (Duration::from_millis(200), Duration::ZERO, 2)
            );
            assert_eq!(p.slots(), 3, "max 1 plus 2 warm");
        }
    }

    #[test]
    fn scale_on_a_handler() {
        let x =
            "replicas = { max = 2 }\n[hop.scale]\nhandler = \"c.rate\"\nabove = 1000\nbelow = 10\n";
        let s = ok(x).scale.unwrap();
        let Trigger::Handler {
            element,
            handler,
            at: loc,
        } = &s.trigger
        else {
            panic!("{:?}", s.trigger)
        };
        assert_eq!((element.as_str(), handler.as_str()), ("c", "rate"));
        let want = at(x, "\"c.rate\"");
        assert_eq!(format!("c.toml:{}:{}: ", loc.line, loc.col), want);
        assert!(loc.file.ends_with("c.toml"));
        assert_eq!(s.trigger.to_string(), "c.rate");
    }

    #[test]
    fn scale_refusals() {
        let s = "[hop.scale]\n";
        let x = format!("{s}metric = \"latency\"\nabove = 2\nbelow = 1\n");
        refused(
            &x,
            "\"latency\"",
            "unknown metric 'latency': expected one of \"pps\", \"bps\", \"cpu\", \"ram\"",
        );
        let x = format!("{s}metric = \"pps\"\nhandler = \"c.rate\"\nabove = 2\nbelow = 1\n");
        refused(&x, "\"c.rate\"", "metric or handler, not both");
        let x = format!("{s}above = 2\nbelow = 1\n");
        refused(
            &x,
            "[hop.scale]",
            "needs metric = \"pps\"|\"bps\"|\"cpu\"|\"ram\" or handler",
        );
        let x = format!("{s}metric = \"pps\"\nabove = 10\nbelow = 10.0\n");
        refused(&x, "10.0", "below = 10 must be less than above = 10");
        let x = format!("{s}metric = \"pps\"\nabove = 5\nbelow = 10\n");
        refused(&x, "10\n", "below = 10 must be less than above = 5");
        let x = format!("{s}metric = \"pps\"\nbelow = 10\n");
        refused(&x, "[hop.scale]", "[hop.scale] needs above (a number)");
        let x = format!("{s}metric = \"pps\"\nabove = 10\n");
        refused(&x, "[hop.scale]", "[hop.scale] needs below (a number)");
        let x = format!("{s}metric = \"pps\"\nabove = 10\nbelow = -1\n");
        refused(&x, "-1", "below = -1: expected a number, 0 or more");
        let x = format!("{s}metric = \"ram\"\nabove = 100\nbelow = 50\n");
        refused(&x, "100", "ram is a percentage");
        let x = format!("{s}metric = \"pps\"\nabove = \"many\"\nbelow = 1\n");
        refused(
            &x,
            "\"many\"",
            "invalid type: string \"many\", expected f64",
        );
        let x = format!("{s}handler = \"rate\"\nabove = 2\nbelow = 1\n");
        refused(&x, "\"rate\"", "handler 'rate': expected ELEM.HANDLER");
        let x = format!("{s}handler = \"c.\"\nabove = 2\nbelow = 1\n");
        refused(&x, "\"c.\"", "expected ELEM.HANDLER");
        let x = format!("{s}metric = \"pps\"\nabove = 2\nbelow = 1\nfor = \"soon\"\n");
        refused(&x, "\"soon\"", "for = \"soon\": expected a duration");
        let x = format!("{s}metric = \"pps\"\nabove = 2\nbelow = 1\ncooldown = \"5\"\n");
        refused(&x, "\"5\"", "cooldown = \"5\": expected a duration");
        let x = format!("{s}metric = \"pps\"\nabove = 2\nbelow = 1\nwarm = -1\n");
        refused(&x, "-1", "warm = -1: at least 0");
        let x = format!("{s}metric = \"pps\"\nabove = 2\nbelow = 1\nthreshold = 3\n");
        refused(
            &x,
            "threshold",
            "unknown field `threshold`, expected one of `metric`",
        );
    }

    #[test]
    fn split_forms() {
        assert_eq!(ok("").split, Split::SrcIp);
        for s in Split::ALL {
            assert_eq!(ok(&format!("split = \"{}\"\n", s.name())).split, s);
        }
        let x = "split = \"round-robin\"\n";
        refused(
            x,
            "\"round-robin\"",
            "split 'round-robin': expected one of \"src-ip\", \"5-tuple\", \"dst-ip\"",
        );
    }

    #[test]
    fn replica_defines() {
        let x = "replicas = { max = 3 }\ndefines = { PUBLIC = [\"198.51.100.1\", \"198.51.100.2\", \"198.51.100.3\"], ID = \"nat-$REPLICA\", PORT = [\"1$REPLICA\", \"2\", \"3\"], SEED = \"${REPLICA}7\" }\n";
        let c = chain(x).unwrap();
        let h = &c.hops[0];
        let get = |i: u32| h.defines_for(i).into_iter().collect::<BTreeMap<_, _>>();
        assert_eq!(get(0)["PUBLIC"], "198.51.100.1");
        assert_eq!(get(2)["PUBLIC"], "198.51.100.3");
        assert_eq!(get(1)["ID"], "nat-1");
        assert_eq!(get(0)["PORT"], "10");
        assert_eq!(get(1)["PORT"], "2");
        assert_eq!(get(2)["SEED"], "27");
        // Past a list's end the define is left out rather than guessed.
        assert!(!get(3).contains_key("PUBLIC"));
        assert_eq!(get(3)["ID"], "nat-3");
        // $REPLICA in a hop without replicas is replica 0's.
        let c = chain("defines = { ID = \"nat-$REPLICA\", ONE = [\"x\"] }\n").unwrap();
        assert_eq!(
            c.hops[0].defines_for(0),
            [("ID".into(), "nat-0".into()), ("ONE".into(), "x".into())]
        );
    }

    #[test]
    fn replicas_with_their_own_defines_are_told_apart() {
        let c =
            chain("replicas = { max = 3 }\ndefines = { A = [\"x\", \"x\", \"y\"], B = \"b\" }\n")
                .unwrap();
        assert_eq!(c.hops[0].distinct_replicas(), [2]);
        let c = chain("replicas = 3\ndefines = { ID = \"n$REPLICA\" }\n").unwrap();
        assert_eq!(c.hops[0].distinct_replicas(), [1, 2]);
        let c = chain("replicas = 3\ndefines = { B = \"b\" }\n").unwrap();
        assert!(c.hops[0].distinct_replicas().is_empty());
        // A replica's plan keeps the chain's definitions and swaps its own.
        let c = chain("replicas = 2\ndefines = { ID = \"n$REPLICA\" }\n").unwrap();
        let plan = crate::plan::derive(&c, crate::plan::Backend::Vm);
        let hp = &plan.hops[0];
        let d1 = hp.defines_for(&c.hops[0], 1);
        assert_eq!(d1.len(), hp.defines.len());
        assert_eq!(d1.last().unwrap(), &("ID".to_string(), "n1".to_string()));
        assert_eq!(hp.defines_for(&c.hops[0], 0), hp.defines);
        assert_eq!(c.hops[0].replica_label(1), "replica 1 (ID = n1)");
        assert_eq!(chain("").unwrap().hops[0].replica_label(0), "replica 0");
    }

    #[test]
    fn define_refusals() {
        let x =
            "replicas = { max = 3 }\ndefines = { PUBLIC = [\"198.51.100.1\", \"198.51.100.2\"] }\n";
        refused(
            x,
            "[\"198",
            "PUBLIC lists 2 value(s) but the hop can have 3 replica(s) up at once (max = 3)",
        );
        let x = "replicas = 2\ndefines = { PUBLIC = [\"a\", \"b\"] }\n[hop.scale]\nmetric = \"cpu\"\nabove = 80\nbelow = 20\nwarm = 1\n";
        refused(
            x,
            "[\"a\"",
            "3 replica(s) up at once (max = 2 plus warm = 1)",
        );
        refused("defines = { P = [] }\n", "[]", "P lists no value");
        refused(
            "defines = { P = 3 }\n",
            "3",
            "expected a string or a list of strings",
        );
        refused("defines = { P = [3] }\n", "3", "expected a string");
        refused(
            "defines = { REPLICA = \"1\" }\n",
            "REPLICA",
            "'REPLICA' is the replica's index",
        );
    }

    #[test]
    fn every_policy_error_of_a_hop_is_reported() {
        let x = "replicas = { min = 3, max = 2 }\nsplit = \"x\"\n[hop.health]\nmisses = 0\n[hop.scale]\nmetric = \"mem\"\nabove = 1\nbelow = 0\n";
        let (c, errs) = crate::spec::parse_all(&format!("{BASE}{x}"), &dir().join("c.toml"));
        let errs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(
            errs.iter()
                .any(|e| e.contains("max = 2 is less than min = 3")),
            "{errs:?}"
        );
        assert!(errs.iter().any(|e| e.contains("misses = 0")), "{errs:?}");
        assert!(
            errs.iter().any(|e| e.contains("unknown metric 'mem'")),
            "{errs:?}"
        );
        assert!(errs.iter().any(|e| e.contains("split 'x'")), "{errs:?}");
        assert!(
            c.unwrap().hops.is_empty(),
            "the hop with errors is left out"
        );
    }

    fn handler_check(spec: &str) -> Result<()> {
        let (element, handler) = spec.rsplit_once('.').unwrap();
        let t = Trigger::Handler {
            element: element.into(),
            handler: handler.into(),
            at: Loc {
                file: "c.toml".into(),
                line: 12,
                col: 11,
            },
        };
        let defines = [
            ("IN_DEV".into(), "0".into()),
            ("OUT_DEV".into(), "1".into()),
        ];
        check_handler(&t, COUNTING, "nat.click", &defines)
    }

    #[test]
    fn numeric_read_handlers_pass() {
        for h in [
            "c.count",
            "c.rate",
            "c.byte_rate",
            "q.length",
            "q.drops",
            "q.capacity",
        ] {
            handler_check(h).unwrap_or_else(|e| panic!("{h}: {e}"));
        }
        // A metric needs no handler check.
        let t = Trigger::Metric(Metric::Cpu);
        check_handler(&t, "this does not parse", "x.click", &[]).unwrap();
    }

    #[test]
    fn handlers_that_are_not_numeric_reads_are_refused() {
        let e = |h: &str| handler_check(h).unwrap_err().to_string();
        let m = e("cc.rate");
        assert!(m.starts_with("c.toml:12:11: handler 'cc.rate': nat.click has no element named 'cc' (did you mean 'c'?)"), "{m}");
        let m = e("c.rat");
        assert!(m.contains("handler 'c.rat' is not a handler of 'c :: Counter' (Counter's read handlers: count, byte_count, rate, byte_rate)"), "{m}");
        let m = e("c.reset");
        assert!(
            m.contains("'c.reset' is not a numeric read handler of 'c :: Counter'"),
            "{m}"
        );
        let m = e("c.class");
        assert!(m.contains("'c.class' is not a numeric read handler"), "{m}");
        let m = e("ar.table");
        assert!(
            m.contains("handler 'ar.table' of 'ar :: ARPResponder' is not numeric (it reads"),
            "{m}"
        );
        let m = e("Discard@3.count");
        assert!(m.contains("no element named 'Discard@3'"), "{m}");
    }

    #[test]
    fn a_config_that_does_not_build_is_left_to_the_config_check() {
        let t = Trigger::Handler {
            element: "c".into(),
            handler: "rate".into(),
            at: Loc {
                file: "c.toml".into(),
                line: 1,
                col: 1,
            },
        };
        check_handler(&t, "c :: Countr -> Discard;", "x.click", &[]).unwrap();
    }

    #[test]
    fn numbers() {
        for n in ["0", "12", " 3.5\n", "-1", "1e3"] {
            assert!(is_number(n), "{n}");
        }
        for n in ["", "x", "1 2", "NaN", "inf", "12 packets"] {
            assert!(!is_number(n), "{n}");
        }
    }
}

//! The chain file: a small TOML document naming the chain, its two ends
//! and its hops in order. Every error names `file:line:col`.
//!
//! ```toml
//! name = "fwnat"                 # 1-8 of a-z, 0-9; prefixes every device made
//!
//! [left]                         # where traffic enters: exactly one of
//! netns = "client"               #   netns = "NS" or ["NS1", "NS2"] (made if missing)
//! address = "10.10.1.2/24"       #   iface = "DEV"  (an existing host interface)
//! gateway = "10.10.1.1"          #   bridge = "BR"  (an existing OVS bridge)
//!
//! [right]
//! netns = "server"
//! address = "10.10.2.2/24"
//! gateway = "10.10.2.1"
//!
//! [[hop]]                        # hops in traffic order, left to right
//! name = "fw"
//! config = "firewall.click"      # relative to this file
//!
//! [[hop]]
//! name = "nat"
//! config = "nat.click"
//! defines = { PUBLIC = "10.10.2.1" }
//! ```
//!
//! An end's addresses and gateway may be IPv6 (`fd64:1::2/64`), all of
//! one family; the two ends' families may differ.
//!
//! A hop may also run several replicas, with health checks, scaling and a
//! traffic split: see [`crate::policy`].

use crate::error::{Context, Error, Result};
use crate::policy::{self, Define, Policy, RawDefine, RawHealth, RawPolicy, RawReplicas, RawScale};
use mb_vm::bail;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Longest chain name: device names are `<chain>-h<i>i` within Linux's 15 bytes.
pub const NAME_MAX: usize = 8;

/// Most hops in a chain.
pub const HOPS_MAX: usize = 32;

/// An IPv4 or IPv6 address with a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl Prefix {
    /// Parses `ADDR/LEN` (or a bare address, with `default_len`), IPv4
    /// or IPv6.
    pub fn parse(s: &str, default_len: Option<u8>) -> Option<Prefix> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
            None => (s, default_len),
        };
        let addr: IpAddr = a.parse().ok()?;
        let len = l?;
        (len <= Prefix::bits(addr)).then_some(Prefix { addr, len })
    }

    /// The address's length in bits: 32 or 128.
    fn bits(a: IpAddr) -> u8 {
        if a.is_ipv4() {
            32
        } else {
            128
        }
    }

    /// Whether this is an IPv6 prefix.
    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// The single address as a host prefix (`/32` or `/128`).
    pub fn host(a: IpAddr) -> Prefix {
        Prefix {
            addr: a,
            len: Prefix::bits(a),
        }
    }

    /// The network this prefix lies in (`10.10.1.0/24`, `fd64::/64`).
    pub fn network(&self) -> Prefix {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - self.len as u32).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - self.len as u32).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        Prefix {
            addr,
            len: self.len,
        }
    }

    /// Whether `a` lies in this prefix's network (never, for an address
    /// of the other family).
    pub fn contains(&self, a: IpAddr) -> bool {
        a.is_ipv6() == self.is_ipv6()
            && Prefix {
                addr: a,
                len: self.len,
            }
            .network()
                == self.network()
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// What one end of the chain is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndKind {
    /// Network namespaces (made when missing), each reached through a veth
    /// pair, all on one chain-made bridge.
    Netns(Vec<String>),
    /// An existing host interface, added to a chain-made bridge.
    Iface(String),
    /// An existing Open vSwitch bridge the hop's port joins.
    Bridge(String),
}

/// One end: what it is, and its addressing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct End {
    /// `left` or `right`.
    pub side: &'static str,
    /// What it is.
    pub kind: EndKind,
    /// Addresses given to the namespaces' interfaces, one per namespace.
    pub addresses: Vec<Prefix>,
    /// The interface name inside each namespace.
    pub ifname: String,
    /// The address the chain answers ARP for on this side, with the
    /// side's prefix length: the ends' gateway.
    pub gateway: Prefix,
    /// Whether namespaces get a default route through the gateway.
    pub route: bool,
}

/// One middlebox of the chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    /// Its name in the chain (`fw`).
    pub name: String,
    /// Its Click configuration file (absolute, or relative to the cwd).
    pub config: PathBuf,
    /// Its own definitions for its configuration, per replica: see
    /// [`Hop::defines_for`].
    pub defines: BTreeMap<String, Define>,
    /// Guest memory for the VM backend (`-m` syntax), if set.
    pub memory: Option<String>,
    /// Its replicas, health checks, scaling and traffic split.
    pub policy: Policy,
}

impl Hop {
    /// Replica `i`'s own `NAME=VALUE` definitions: list defines give
    /// their item `i`, and `$REPLICA` becomes `i` (0 for a hop without
    /// replicas).
    pub fn defines_for(&self, i: u32) -> Vec<(String, String)> {
        policy::resolve(&self.defines, i)
    }

    /// `replica I (NAME = VALUE, ...)`: replica `i` and its own
    /// definitions that differ from replica 0's, for messages.
    pub fn replica_label(&self, i: u32) -> String {
        let zero = self.defines_for(0);
        let own: Vec<String> = self
            .defines_for(i)
            .into_iter()
            .filter(|d| !zero.contains(d))
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        if own.is_empty() {
            format!("replica {i}")
        } else {
            format!("replica {i} ({})", own.join(", "))
        }
    }

    /// The replicas past 0 whose own definitions differ from every lower
    /// one's (none when no define depends on the replica): each needs its
    /// configuration checked with them.
    pub fn distinct_replicas(&self) -> Vec<u32> {
        let mut seen = vec![self.defines_for(0)];
        let mut out = Vec::new();
        for i in 1..self.policy.slots() {
            let d = self.defines_for(i);
            if !seen.contains(&d) {
                seen.push(d);
                out.push(i);
            }
        }
        out
    }
}

/// A whole chain as the file describes it, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// The chain's name.
    pub name: String,
    /// Where traffic enters.
    pub left: End,
    /// Where it leaves.
    pub right: End,
    /// The middleboxes, left to right.
    pub hops: Vec<Hop>,
    /// The file it came from.
    pub file: PathBuf,
    /// How hops run, if the file says (`vm` or `runner`).
    pub backend: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnd {
    netns: Option<Spanned<OneOrMany>>,
    iface: Option<Spanned<String>>,
    bridge: Option<Spanned<String>>,
    address: Option<Spanned<OneOrMany>>,
    ifname: Option<Spanned<String>>,
    gateway: Spanned<String>,
    route: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHop {
    name: Spanned<String>,
    config: Spanned<String>,
    #[serde(default)]
    defines: BTreeMap<Spanned<String>, Spanned<RawDefine>>,
    memory: Option<String>,
    replicas: Option<Spanned<RawReplicas>>,
    health: Option<Spanned<RawHealth>>,
    scale: Option<Spanned<RawScale>>,
    split: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    name: Spanned<String>,
    backend: Option<Spanned<String>>,
    left: Spanned<RawEnd>,
    right: Spanned<RawEnd>,
    #[serde(default)]
    hop: Vec<Spanned<RawHop>>,
}

/// Turns byte offsets into `file:line:col` messages.
pub(crate) struct Src<'a> {
    file: &'a str,
    text: &'a str,
}

impl Src<'_> {
    /// An error at `span`.
    pub(crate) fn at(&self, span: Range<usize>, msg: impl fmt::Display) -> Error {
        let off = span.start.min(self.text.len());
        let before = &self.text[..off];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        Error::Spec {
            file: self.file.to_string(),
            line,
            col,
            message: msg.to_string(),
        }
    }
}

/// Names the chain makes devices from: 1-8 lowercase letters or digits,
/// starting with a letter.
pub fn check_chain_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok {
        bail!("bad chain name '{name}': use 1 to {NAME_MAX} lowercase letters or digits, starting with a letter");
    }
    Ok(())
}

fn word_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Defines the chain sets for every hop; a hop's own `defines` may not
/// name them.
pub const RESERVED: &[&str] = &[
    "IN_DEV",
    "OUT_DEV",
    "IN_MAC",
    "OUT_MAC",
    "IN_IP",
    "OUT_IP",
    "IN_ARP",
    "OUT_ARP",
    "PREV_MAC",
    "NEXT_MAC",
    "LEFT_NET",
    "RIGHT_NET",
    "LEFT_GW",
    "RIGHT_GW",
    "HOP",
    "CHAIN",
];

/// Parses and checks chain file `path`.
pub fn load(path: &Path) -> Result<Chain> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text, path)
}

/// Parses and checks chain text read from `path` (relative hop configs
/// resolve against its directory); the first error if any.
pub fn parse(text: &str, path: &Path) -> Result<Chain> {
    let (chain, errs) = parse_all(text, path);
    match (chain, errs.into_iter().next()) {
        (Some(c), None) => Ok(c),
        (_, Some(e)) => Err(e),
        (None, None) => unreachable!("a chain that did not parse has an error"),
    }
}

/// Keys of the chain file's top level, of `[left]`/`[right]`, of `[[hop]]`.
const CHAIN_KEYS: &[&str] = &["name", "backend", "left", "right", "hop"];
const END_KEYS: &[&str] = &[
    "netns", "iface", "bridge", "address", "ifname", "gateway", "route",
];
const HOP_KEYS: &[&str] = &[
    "name", "config", "defines", "memory", "replicas", "health", "scale", "split",
];

/// Reports each key of `t` that `allowed` does not list, and removes it
/// so the rest of the file is still checked.
fn unknown_keys(src: &Src, t: &mut DeTable<'_>, allowed: &[&str], errs: &mut Vec<Error>) {
    let unknown: Vec<(String, Range<usize>)> = t
        .keys()
        .filter(|k| !allowed.contains(&k.get_ref().as_ref()))
        .map(|k| (k.get_ref().to_string(), k.span()))
        .collect();
    for (k, span) in unknown {
        let expected: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
        errs.push(src.at(
            span,
            format!(
                "unknown field `{k}`, expected one of {}",
                expected.join(", ")
            ),
        ));
        t.remove(k.as_str());
    }
}

/// Parses and checks chain text read from `path` as far as it can: every
/// error found, in file order where it can tell, and the chain without
/// the parts that were wrong (`None` when its ends or structure are).
pub fn parse_all(text: &str, path: &Path) -> (Option<Chain>, Vec<Error>) {
    let file = path.display().to_string();
    let src = Src { file: &file, text };
    let mut errs = Vec::new();
    let (mut doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let errs = syntax
            .iter()
            .map(|e| src.at(e.span().unwrap_or(0..0), e.message()))
            .collect();
        return (None, errs);
    }
    let top = doc.get_mut();
    unknown_keys(&src, top, CHAIN_KEYS, &mut errs);
    for (k, v) in top.iter_mut() {
        match (k.get_ref().as_ref(), v.get_mut()) {
            ("left" | "right", DeValue::Table(t)) => unknown_keys(&src, t, END_KEYS, &mut errs),
            ("hop", DeValue::Array(hops)) => {
                for h in hops.iter_mut() {
                    if let DeValue::Table(t) = h.get_mut() {
                        unknown_keys(&src, t, HOP_KEYS, &mut errs);
                        for (k, v) in t.iter_mut() {
                            let allowed = match k.get_ref().as_ref() {
                                "health" => policy::HEALTH_KEYS,
                                "scale" => policy::SCALE_KEYS,
                                "replicas" => policy::REPLICAS_KEYS,
                                _ => continue,
                            };
                            if let DeValue::Table(t) = v.get_mut() {
                                unknown_keys(&src, t, allowed, &mut errs);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let raw = match RawChain::deserialize(toml::de::Deserializer::from(doc)) {
        Ok(raw) => raw,
        Err(e) => {
            errs.push(src.at(e.span().unwrap_or(0..0), e.message()));
            return (None, errs);
        }
    };
    let name = raw.name.get_ref().clone();
    if let Err(e) = check_chain_name(&name) {
        errs.push(src.at(raw.name.span(), e));
    }
    let backend = match raw.backend {
        Some(b) if b.get_ref() != "vm" && b.get_ref() != "runner" => {
            errs.push(src.at(
                b.span(),
                format!("backend '{}': expected \"vm\" or \"runner\"", b.get_ref()),
            ));
            None
        }
        b => b.map(|b| b.into_inner()),
    };
    let right_span = raw.right.span();
    let left = end(&src, "left", raw.left).map_err(|e| errs.push(e)).ok();
    let right = end(&src, "right", raw.right).map_err(|e| errs.push(e)).ok();
    if raw.hop.is_empty() {
        errs.push(src.at(0..0, "a chain needs at least one [[hop]]"));
    }
    if raw.hop.len() > HOPS_MAX {
        errs.push(src.at(raw.hop[HOPS_MAX].span(), format!("at most {HOPS_MAX} hops")));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut hops: Vec<Hop> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for h in raw.hop.into_iter().take(HOPS_MAX) {
        let h = h.into_inner();
        let n = errs.len();
        let hname = h.name.get_ref().clone();
        if !word_ok(&hname) {
            errs.push(src.at(
                h.name.span(),
                format!("bad hop name '{hname}': use letters, digits, '-' or '_' (at most 32)"),
            ));
        }
        if names.contains(&hname) {
            errs.push(src.at(h.name.span(), format!("two hops are named '{hname}'")));
        }
        names.push(hname.clone());
        let config = base.join(h.config.get_ref());
        if !config.is_file() {
            errs.push(src.at(
                h.config.span(),
                format!("no configuration file {}", config.display()),
            ));
        }
        let mut defines = BTreeMap::new();
        for (k, v) in h.defines {
            let key = k.get_ref();
            if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || key.is_empty() {
                errs.push(src.at(k.span(), format!("bad define name '{key}'")));
            } else if RESERVED.contains(&key.as_str()) {
                errs.push(src.at(
                    k.span(),
                    format!("'{key}' is set by the chain (see click-configs/chains/README.md)"),
                ));
            } else if key == policy::REPLICA {
                errs.push(src.at(
                    k.span(),
                    "'REPLICA' is the replica's index: write $REPLICA in a value instead",
                ));
            }
            let span = v.span();
            let v = v.into_inner().0;
            if v == Define::List(Vec::new()) {
                errs.push(src.at(span.clone(), format!("{key} lists no value")));
            }
            defines.insert(key.clone(), Spanned::new(span, v));
        }
        let raw_policy = RawPolicy {
            replicas: h.replicas,
            health: h.health,
            scale: h.scale,
            split: h.split,
        };
        let policy = policy::policy(&src, raw_policy, &defines, &mut errs);
        if errs.len() == n {
            hops.push(Hop {
                name: hname,
                config,
                defines: defines
                    .into_iter()
                    .map(|(k, v)| (k, v.into_inner()))
                    .collect(),
                memory: h.memory,
                policy,
            });
        }
    }
    let (Some(left), Some(right)) = (left, right) else {
        return (None, errs);
    };
    if left.gateway.network() == right.gateway.network() {
        errs.push(src.at(
            right_span,
            format!(
                "left and right are the same network {}; a chain joins two networks",
                left.gateway.network()
            ),
        ));
        return (None, errs);
    }
    let chain = Chain {
        name,
        left,
        right,
        hops,
        file: path.to_path_buf(),
        backend,
    };
    (Some(chain), errs)
}

fn end(src: &Src, side: &'static str, raw: Spanned<RawEnd>) -> Result<End> {
    let span = raw.span();
    let r = raw.into_inner();
    let given = [r.netns.is_some(), r.iface.is_some(), r.bridge.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(src.at(
            span,
            format!("[{side}] needs exactly one of netns, iface or bridge"),
        ));
    }
    let ifname = match r.ifname {
        Some(i) => {
            mb_ovs::netdev::check_ifname(i.get_ref()).map_err(|e| src.at(i.span(), e))?;
            i.into_inner()
        }
        None => "eth0".into(),
    };
    let mut addresses = Vec::new();
    if let Some(a) = &r.address {
        let sp = a.span();
        let list = match a.get_ref() {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        };
        for s in list {
            let p = Prefix::parse(&s, None).ok_or_else(|| {
                src.at(
                    sp.clone(),
                    format!("bad address '{s}': expected A.B.C.D/LEN or IPV6/LEN"),
                )
            })?;
            addresses.push(p);
        }
    }
    let gw_text = r.gateway.get_ref();
    let families = |a: &dyn fmt::Display, g: &dyn fmt::Display| {
        format!("address {a} and gateway {g} are of different families: an end is IPv4 or IPv6")
    };
    let gateway = match Prefix::parse(gw_text, addresses.first().map(|a| a.len)) {
        Some(g) => g,
        None => {
            let msg = match (gw_text.parse::<IpAddr>(), addresses.first()) {
                (Ok(g), Some(a)) if g.is_ipv6() != a.is_ipv6() => families(a, &g),
                _ => format!(
                    "bad gateway '{gw_text}': expected A.B.C.D/LEN or IPV6/LEN (or the bare address with an address)"
                ),
            };
            return Err(src.at(r.gateway.span(), msg));
        }
    };
    for a in &addresses {
        if a.is_ipv6() != gateway.is_ipv6() {
            return Err(src.at(
                r.address.as_ref().map(|a| a.span()).unwrap_or(span.clone()),
                families(a, &gateway),
            ));
        }
        if !gateway.contains(a.addr) || a.len != gateway.len {
            return Err(src.at(
                r.address.as_ref().map(|a| a.span()).unwrap_or(span.clone()),
                format!(
                    "address {a} is not in the gateway's network {}",
                    gateway.network()
                ),
            ));
        }
        if a.addr == gateway.addr {
            return Err(src.at(
                r.gateway.span(),
                format!("gateway {} is also an end's address", a.addr),
            ));
        }
    }
    let kind = if let Some(n) = r.netns {
        let sp = n.span();
        let list = n.into_inner().into_vec();
        if list.is_empty() {
            return Err(src.at(sp, "netns lists no namespace"));
        }
        for ns in &list {
            if !word_ok(ns) {
                return Err(src.at(sp.clone(), format!("bad namespace name '{ns}'")));
            }
        }
        if addresses.len() != list.len() {
            return Err(src.at(
                sp,
                format!(
                    "{} namespace(s) but {} address(es): give one address per namespace",
                    list.len(),
                    addresses.len()
                ),
            ));
        }
        EndKind::Netns(list)
    } else if let Some(i) = r.iface {
        mb_ovs::netdev::check_ifname(i.get_ref()).map_err(|e| src.at(i.span(), e))?;
        EndKind::Iface(i.into_inner())
    } else if let Some(b) = r.bridge {
        mb_ovs::netdev::check_ifname(b.get_ref()).map_err(|e| src.at(b.span(), e))?;
        EndKind::Bridge(b.into_inner())
    } else {
        unreachable!("one kind was counted above")
    };
    if !matches!(kind, EndKind::Netns(_)) && !addresses.is_empty() {
        return Err(src.at(span, format!("[{side}] address applies to netns ends only")));
    }
    Ok(End {
        side,
        kind,
        addresses,
        ifname,
        gateway,
        route: r.route.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("mbctl-chain-spec-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        for f in ["fw.click", "nat.click"] {
            std::fs::write(d.join(f), "Idle -> Discard;").unwrap();
        }
        d
    }

    const GOOD: &str = r#"
name = "fwnat"
[left]
netns = "client"
address = "10.10.1.2/24"
gateway = "10.10.1.1"
[right]
netns = ["web1", "web2"]
address = ["10.10.2.11/24", "10.10.2.12/24"]
gateway = "10.10.2.1"
[[hop]]
name = "fw"
config = "fw.click"
[[hop]]
name = "nat"
config = "nat.click"
defines = { PUBLIC = "10.10.2.1" }
"#;

    fn err(text: &str) -> String {
        parse(text, &dir().join("c.toml")).unwrap_err().to_string()
    }

    #[test]
    fn a_good_chain() {
        let c = parse(GOOD, &dir().join("c.toml")).unwrap();
        assert_eq!(c.name, "fwnat");
        assert_eq!(c.hops.len(), 2);
        assert_eq!(
            c.hops[1].defines_for(0),
            [("PUBLIC".into(), "10.10.2.1".into())]
        );
        assert_eq!(c.hops[1].policy, Policy::default());
        assert_eq!(c.left.gateway.to_string(), "10.10.1.1/24");
        assert_eq!(
            c.right.kind,
            EndKind::Netns(vec!["web1".into(), "web2".into()])
        );
        assert!(c.hops[0].config.ends_with("fw.click"));
    }

    #[test]
    fn the_backend_key_is_checked() {
        let c = parse(GOOD, &dir().join("c.toml")).unwrap();
        assert_eq!(c.backend, None);
        let t = GOOD.replace("name = \"fwnat\"", "name = \"fwnat\"\nbackend = \"runner\"");
        let c = parse(&t, &dir().join("c.toml")).unwrap();
        assert_eq!(c.backend.as_deref(), Some("runner"));
        let e = err(&GOOD.replace("name = \"fwnat\"", "name = \"fwnat\"\nbackend = \"xen\""));
        assert!(
            e.contains("c.toml:3:11") && e.contains("backend 'xen'"),
            "{e}"
        );
    }

    #[test]
    fn toml_errors_name_line_and_column() {
        let e = err("name = \"x\"\n[left\n");
        assert!(e.contains("c.toml:2:"), "{e}");
        let e = err(&GOOD.replace("gateway = \"10.10.1.1\"", "gateway = 3"));
        assert!(e.contains("c.toml:6:11"), "{e}");
        let e = err(&GOOD.replace(
            "[[hop]]\nname = \"fw\"",
            "[[hop]]\nname = \"fw\"\ncolour = 1",
        ));
        assert!(
            e.contains("unknown field `colour`") && e.contains("c.toml:13:"),
            "{e}"
        );
    }

    #[test]
    fn semantic_errors_point_at_the_value() {
        let e = err(&GOOD.replace("\"fwnat\"", "\"Fw-NAT-toolong\""));
        assert!(
            e.contains("c.toml:2:8") && e.contains("bad chain name"),
            "{e}"
        );
        let e = err(&GOOD.replace("nat.click", "missing.click"));
        assert!(
            e.contains("c.toml:16:10") && e.contains("no configuration file"),
            "{e}"
        );
        let e = err(&GOOD.replace("name = \"nat\"", "name = \"fw\""));
        assert!(
            e.contains("two hops are named 'fw'") && e.contains(":15:"),
            "{e}"
        );
        let e = err(&GOOD.replace("PUBLIC", "IN_MAC"));
        assert!(e.contains("set by the chain") && e.contains(":17:"), "{e}");
        let e = err(&GOOD.replace("10.10.1.2/24", "10.10.9.2/24"));
        assert!(e.contains("not in the gateway's network"), "{e}");
        let e = err(&GOOD.replace(
            "address = [\"10.10.2.11/24\", \"10.10.2.12/24\"]",
            "address = \"10.10.2.11/24\"",
        ));
        assert!(e.contains("2 namespace(s) but 1 address(es)"), "{e}");
        let e = err(&GOOD.replace("netns = \"client\"", "netns = \"client\"\niface = \"eth3\""));
        assert!(
            e.contains("exactly one of netns, iface or bridge") && e.contains(":3:1"),
            "{e}"
        );
        let e = err(&GOOD
            .replace("10.10.2.1\"", "10.10.1.1\"")
            .replace("10.10.2.1", "10.10.1.1")
            .replace("10.10.2.1", "10.10.1.1"));
        assert!(
            e.contains("same network") || e.contains("not in the gateway"),
            "{e}"
        );
        let e = err("name = \"a\"\n[left]\nbridge = \"br0\"\ngateway = \"10.0.0.1\"\n[right]\nbridge = \"br1\"\ngateway = \"10.0.1.1/24\"\n");
        assert!(
            e.contains("c.toml:4:11") && e.contains("A.B.C.D/LEN"),
            "{e}"
        );
        let e = err("name = \"a\"\n[left]\nbridge = \"br0\"\ngateway = \"10.0.0.1/24\"\n[right]\nbridge = \"br1\"\ngateway = \"10.0.1.1/24\"\n");
        assert!(e.contains("at least one [[hop]]"), "{e}");
    }

    #[test]
    fn parse_all_reports_every_error_and_keeps_the_good_hops() {
        let t = GOOD
            .replace(
                "gateway = \"10.10.1.1\"",
                "gateway = \"10.10.1.1\"\nmtu = 9000",
            )
            .replace("nat.click", "missing.click")
            .replace("name = \"fwnat\"", "name = \"fwnat\"\ncolour = 1");
        let (c, errs) = parse_all(&t, &dir().join("c.toml"));
        let errs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(
            errs[0].contains("c.toml:3:1: unknown field `colour`"),
            "{errs:?}"
        );
        assert!(
            errs[1].contains("c.toml:8:1: unknown field `mtu`"),
            "{errs:?}"
        );
        assert!(
            errs[2].contains("c.toml:18:10: no configuration file"),
            "{errs:?}"
        );
        let c = c.expect("the chain, without its broken hop");
        assert_eq!(c.hops.len(), 1);
        assert_eq!(c.hops[0].name, "fw");
        assert!(parse(&t, &dir().join("c.toml")).is_err());
    }

    #[test]
    fn prefixes() {
        let p = Prefix::parse("10.1.2.3/20", None).unwrap();
        assert_eq!(p.network().to_string(), "10.1.0.0/20");
        assert!(p.contains("10.1.15.255".parse().unwrap()));
        assert!(!p.contains("10.1.16.0".parse().unwrap()));
        assert_eq!(Prefix::parse("0.0.0.0/0", None).unwrap().network().len, 0);
        assert!(Prefix::parse("10.1.2.3/33", None).is_none());
        assert!(Prefix::parse("10.1.2.3", None).is_none());
        let p = Prefix::parse("fd64:1::2/64", None).unwrap();
        assert!(p.is_ipv6());
        assert_eq!(p.network().to_string(), "fd64:1::/64");
        assert!(p.contains("fd64:1::ffff".parse().unwrap()));
        assert!(!p.contains("fd64:2::1".parse().unwrap()));
        assert!(!p.contains("10.1.2.3".parse().unwrap()));
        assert_eq!(Prefix::parse("::/0", None).unwrap().network().len, 0);
        assert!(Prefix::parse("fd64::1/129", None).is_none());
        assert_eq!(
            Prefix::host("fd64::1".parse().unwrap()).to_string(),
            "fd64::1/128"
        );
    }

    #[test]
    fn ends_may_be_ipv6_but_not_mixed() {
        let t = GOOD
            .replace("10.10.1.2/24", "fd64:1::2/64")
            .replace("\"10.10.1.1\"", "\"fd64:1::1\"");
        let c = parse(&t, &dir().join("c.toml")).unwrap();
        assert_eq!(c.left.gateway.to_string(), "fd64:1::1/64");
        assert_eq!(c.left.addresses[0].to_string(), "fd64:1::2/64");
        assert!(!c.right.gateway.is_ipv6());
        let e = err(&GOOD.replace("\"10.10.1.1\"", "\"fd64:1::1/64\""));
        assert!(
            e.contains("c.toml:5:11") && e.contains("different families"),
            "{e}"
        );
        let e = err(&t.replace("\"fd64:1::1\"", "\"10.10.1.1\""));
        assert!(
            e.contains("c.toml:6:11") && e.contains("different families"),
            "{e}"
        );
        let e = err(&t.replace("fd64:1::2/64", "fd64:2::2/64"));
        assert!(
            e.contains("not in the gateway's network fd64:1::/64"),
            "{e}"
        );
        let e = err(&t.replace("fd64:1::1", "fd64:1::1/130"));
        assert!(e.contains("c.toml:6:11") && e.contains("IPV6/LEN"), "{e}");
    }
}

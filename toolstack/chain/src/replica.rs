//! Replicated hops: their replicas (`CHAIN-HOP-N` VMs) and everything the
//! controller must know to manage them, kept in the store under
//! `/mbctl/chain/<chain>/<hop>` as one JSON document ([`HopState`]), so a
//! restarted agent carries on from it.

use crate::error::{Context, Error, Result};
use mb_agent::client::Done;
use mb_agent::proto::Request;
use mb_ovs::Ovs;
use mb_store_client::clickos::StoreOps;
use mb_vm::rundir::RunDir;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use super::policy;

/// Where the controller's records live in the store.
pub const ROOT: &str = "/mbctl/chain";

/// `/mbctl/chain/<chain>/<hop>`.
pub fn path(chain: &str, hop: &str) -> String {
    format!("{ROOT}/{chain}/{hop}")
}

/// The VM name of replica `n` of hop `hop` of chain `chain`.
pub fn vm_name(chain: &str, hop: &str, n: u32) -> String {
    format!("{chain}-{hop}-{n}")
}

/// How new flows are spread over a hop's replicas (as recorded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Split {
    /// By source address.
    SrcIp,
    /// By addresses, protocol and ports.
    FiveTuple,
    /// By destination address.
    DstIp,
}

impl Split {
    /// The chain file's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::SrcIp => "src-ip",
            Split::FiveTuple => "5-tuple",
            Split::DstIp => "dst-ip",
        }
    }
}

/// What a hop scales on, per replica (as recorded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Metric {
    /// Packets per second received, over the replica's NICs.
    Pps,
    /// Bits per second received.
    Bps,
    /// Percent of one host core used by the replica's VM process.
    Cpu,
    /// Percent of the guest's heap in use.
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

/// When a hop grows or shrinks (as recorded).
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

/// A replicated hop's policy as the controller records it: the chain
/// file's ([`policy::Policy`]) in a form the store keeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Fewest serving replicas.
    pub min: u32,
    /// Most serving replicas.
    pub max: u32,
    /// Health poll period, in milliseconds.
    pub interval_ms: u64,
    /// Polls in a row without a new heartbeat that mean a replica failed.
    pub misses: u32,
    /// Scaling, if any.
    pub scale: Option<Scale>,
    /// How flows are spread.
    pub split: Split,
}

impl From<&policy::Policy> for Policy {
    fn from(p: &policy::Policy) -> Policy {
        Policy {
            min: p.replicas.min,
            max: p.replicas.max,
            interval_ms: p.health.interval.as_millis() as u64,
            misses: p.health.misses,
            scale: p.scale.as_ref().map(|s| Scale {
                metric: match &s.trigger {
                    policy::Trigger::Metric(policy::Metric::Pps) => Metric::Pps,
                    policy::Trigger::Metric(policy::Metric::Bps) => Metric::Bps,
                    policy::Trigger::Metric(policy::Metric::Cpu) => Metric::Cpu,
                    policy::Trigger::Metric(policy::Metric::Ram) => Metric::Ram,
                    policy::Trigger::Handler {
                        element, handler, ..
                    } => Metric::Handler(format!("{element}.{handler}")),
                },
                above: s.above,
                below: s.below,
                hold_ms: s.hold.as_millis() as u64,
                cooldown_ms: s.cooldown.as_millis() as u64,
                warm: s.warm,
            }),
            split: match p.split {
                policy::Split::SrcIp => Split::SrcIp,
                policy::Split::FiveTuple => Split::FiveTuple,
                policy::Split::DstIp => Split::DstIp,
            },
        }
    }
}

impl Policy {
    /// The health poll period.
    pub fn interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.interval_ms)
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

/// A replica's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RState {
    /// Its VM is being booted.
    Booting,
    /// Booted and wired, receiving no traffic: a spare.
    Warm,
    /// Serving: new flows may reach it.
    Running,
    /// No new flows; removed when its flows have ended.
    Draining,
    /// Found dead; being removed.
    Failed,
}

impl RState {
    /// Its name in `chain show`.
    pub fn as_str(self) -> &'static str {
        match self {
            RState::Booting => "booting",
            RState::Warm => "warm",
            RState::Running => "running",
            RState::Draining => "draining",
            RState::Failed => "failed",
        }
    }
}

/// A switch port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    /// The device.
    pub dev: String,
    /// Its OpenFlow port number.
    pub ofport: u32,
    /// The MAC address behind it, when the chain knows it (end hosts).
    pub mac: Option<String>,
}

/// One replica.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Replica {
    /// Its index (`N` of `CHAIN-HOP-N`, `$REPLICA` in its defines).
    pub n: u32,
    /// Its VM.
    pub vm: String,
    /// Its state.
    pub state: RState,
    /// What it becomes once booted (`warm` or `running`).
    pub goal: RState,
    /// Its face towards the left, once wired.
    pub inp: Option<Port>,
    /// Its face towards the right, once wired.
    pub out: Option<Port>,
    /// Its domain id, once booted.
    pub domid: Option<u32>,
    /// Its VM process, once booted.
    pub pid: Option<i32>,
    /// When it entered its state (ms since the epoch).
    pub since_ms: u64,
    /// Its last metric sample.
    pub metric: Option<f64>,
}

impl Replica {
    /// Whether it is wired to the switch (its ports known).
    pub fn wired(&self) -> bool {
        self.inp.is_some() && self.out.is_some()
    }
}

/// One side of a replicated hop: the bridge its replicas' faces share
/// with the chain's neighbour there (an end's hosts, or another hop).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// The bridge.
    pub bridge: String,
    /// The neighbour's ports on it.
    pub others: Vec<Port>,
}

/// Counters that outlive agents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Replicas added by scaling out.
    pub scale_outs: u64,
    /// Replicas drained by scaling in.
    pub scale_ins: u64,
    /// Replicas found failed.
    pub failures: u64,
    /// Replicas booted in all.
    pub boots: u64,
}

/// A replicated hop as the controller keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HopState {
    /// The chain.
    pub chain: String,
    /// The hop.
    pub hop: String,
    /// Its position in the chain.
    pub index: usize,
    /// Its policy.
    pub policy: Policy,
    /// Its Click configuration (absolute).
    pub config: PathBuf,
    /// Each replica index's definitions (the chain's and its own).
    pub defines: Vec<Vec<(String, String)>>,
    /// Guest memory, if set.
    pub memory: Option<String>,
    /// The Open vSwitch its bridges are on.
    pub ovs_rundir: PathBuf,
    /// Whether that Open vSwitch is the private one.
    pub ovs_private: bool,
    /// Towards the left end.
    pub left: Side,
    /// Towards the right end.
    pub right: Side,
    /// Its replicas, by index (each its own node under the hop's, as a
    /// store value holds at most a few KiB).
    #[serde(skip)]
    pub replicas: Vec<Replica>,
    /// How many replicas should serve.
    pub target: u32,
    /// When it last scaled (ms since the epoch).
    pub last_scale_ms: u64,
    /// Counters.
    pub counters: Counters,
}

impl HopState {
    /// Its Open vSwitch.
    pub fn ovs(&self) -> Result<Ovs> {
        if self.ovs_private {
            Ovs::private_if_running(&self.ovs_rundir).ok_or_else(|| {
                Error::Invalid(format!(
                    "the private Open vSwitch in {} is not running",
                    self.ovs_rundir.display()
                ))
            })
        } else {
            Ovs::system().ok_or_else(|| Error::Invalid("Open vSwitch is not running".into()))
        }
    }

    /// Replica `n`'s definitions.
    pub fn defines_for(&self, n: u32) -> Vec<(String, String)> {
        self.defines.get(n as usize).cloned().unwrap_or_default()
    }

    /// A new replica, booting towards `goal`, with the lowest free index
    /// (so `$REPLICA` stays within the policy's bounds: a replacement
    /// takes a gone replica's index, and its per-replica settings); none
    /// while every index with settings is taken (a failed or draining
    /// replica not yet removed holds its own).
    pub fn add_replica(&mut self, goal: RState, now_ms: u64) -> Option<Replica> {
        let n = (0..self.defines.len() as u32).find(|n| self.replicas.iter().all(|r| r.n != *n))?;
        let r = Replica {
            n,
            vm: vm_name(&self.chain, &self.hop, n),
            state: RState::Booting,
            goal,
            inp: None,
            out: None,
            domid: None,
            pid: None,
            since_ms: now_ms,
            metric: None,
        };
        self.replicas.push(r.clone());
        Some(r)
    }

    /// The replica named `vm`.
    pub fn replica_mut(&mut self, vm: &str) -> Option<&mut Replica> {
        self.replicas.iter_mut().find(|r| r.vm == vm)
    }

    /// How many replicas are in `state`.
    pub fn count(&self, state: RState) -> u32 {
        self.replicas.iter().filter(|r| r.state == state).count() as u32
    }

    /// How many replicas serve or will: running, or booting to run.
    pub fn serving(&self) -> u32 {
        self.replicas
            .iter()
            .filter(|r| {
                r.state == RState::Running
                    || (r.state == RState::Booting && r.goal == RState::Running)
            })
            .count() as u32
    }

    /// How many spares there are or will be.
    pub fn spares(&self) -> u32 {
        self.replicas
            .iter()
            .filter(|r| {
                r.state == RState::Warm || (r.state == RState::Booting && r.goal == RState::Warm)
            })
            .count() as u32
    }
}

/// `/mbctl/chain/<chain>/<hop>/replica/<n>`.
fn replica_path(chain: &str, hop: &str, n: u32) -> String {
    format!("{}/replica/{n}", path(chain, hop))
}

fn parse<T: for<'de> Deserialize<'de>>(p: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Invalid(format!("the record {p}: {e}")))
}

/// Reads hop `hop`'s state.
pub fn load(st: &mut dyn StoreOps, chain: &str, hop: &str) -> Result<Option<HopState>> {
    let p = path(chain, hop);
    let Some(text) = st.read(&p)? else {
        return Ok(None);
    };
    let mut h: HopState = parse(&p, &text)?;
    let dir = format!("{p}/replica");
    for n in st.list(&dir)? {
        let rp = format!("{dir}/{n}");
        if let Some(t) = st.read(&rp)? {
            h.replicas.push(parse(&rp, &t)?);
        }
    }
    h.replicas.sort_by_key(|r| r.n);
    Ok(Some(h))
}

/// Writes hop state `h`; with `prev` (what the store holds), only what
/// differs from it.
pub fn save(st: &mut dyn StoreOps, h: &HopState, prev: Option<&HopState>) -> Result<()> {
    let hop_text = serde_json::to_string(h).expect("hop states serialize");
    let prev_text = prev.map(|p| serde_json::to_string(p).expect("hop states serialize"));
    if prev_text.as_deref() != Some(hop_text.as_str()) {
        st.write(&path(&h.chain, &h.hop), &hop_text)?;
    }
    for r in &h.replicas {
        if prev.and_then(|p| p.replicas.iter().find(|x| x.n == r.n)) != Some(r) {
            let text = serde_json::to_string(r).expect("replicas serialize");
            st.write(&replica_path(&h.chain, &h.hop, r.n), &text)?;
        }
    }
    let gone: Vec<u32> = match prev {
        Some(p) => p.replicas.iter().map(|r| r.n).collect(),
        None => st
            .list(&format!("{}/replica", path(&h.chain, &h.hop)))?
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect(),
    };
    for n in gone {
        if !h.replicas.iter().any(|r| r.n == n) {
            st.rm(&replica_path(&h.chain, &h.hop, n))?;
        }
    }
    Ok(())
}

/// The names of chain `chain`'s replicated hops (one list, nothing
/// parsed: the controller looks for new hops this way every second).
pub fn hops(st: &mut dyn StoreOps, chain: &str) -> Result<Vec<String>> {
    Ok(st.list(&format!("{ROOT}/{chain}"))?)
}

/// Every replicated hop of chain `chain`, in chain order.
pub fn load_chain(st: &mut dyn StoreOps, chain: &str) -> Result<Vec<HopState>> {
    let mut v = Vec::new();
    for hop in hops(st, chain)? {
        if let Some(h) = load(st, chain, &hop)? {
            v.push(h);
        }
    }
    v.sort_by_key(|h| h.index);
    Ok(v)
}

/// The chains with replicated hops.
pub fn chains(st: &mut dyn StoreOps) -> Result<Vec<String>> {
    Ok(st.list(ROOT)?)
}

/// Boots replica `r` of hop `h` through `call` (the agent's request
/// handler), and returns it wired: its ports and process known. The
/// caller adds it to the switch's rules.
pub fn boot(
    run: &RunDir,
    h: &HopState,
    r: &Replica,
    call: &dyn Fn(&Request) -> mb_agent::Result<Done>,
) -> Result<Replica> {
    let ovs = h.ovs()?;
    let d = crate::dir(run, &h.chain);
    let cfg = crate::vm::flatten_as(
        &h.config,
        &h.hop,
        &h.defines_for(r.n),
        &d.join(format!("{}.click", r.vm)),
    )?;
    let req = crate::vm::boot_request(
        &ovs,
        &h.hop,
        &r.vm,
        [&h.left.bridge, &h.right.bridge],
        &cfg,
        h.memory.as_deref(),
    )?;
    call(&req).with_context(|| format!("booting {}", r.vm))?;
    wired(run, &ovs, r)
}

/// Replica `r` with its ports and process read from its VM's record.
pub fn wired(run: &RunDir, ovs: &Ovs, r: &Replica) -> Result<Replica> {
    let mut st = mb_agent::client::store(run)?;
    let rec = mb_vm::Record::load_existing(&mut st, &r.vm)?;
    // (The boot that added the taps to the switch turned their offloads
    // off.)
    let port = |i: usize| -> Result<Port> {
        let dev = rec
            .nics
            .get(i)
            .and_then(|n| n.ifname.clone())
            .ok_or_else(|| Error::Invalid(format!("{}: NIC {i} has no host device", r.vm)))?;
        Ok(Port {
            ofport: ovs.ofport(&dev)?,
            dev,
            mac: None,
        })
    };
    // Both at once: a scale-out waits for this.
    let (inp, out) = std::thread::scope(|s| {
        let inp = s.spawn(|| port(0));
        (inp.join().expect("no panic"), port(1))
    });
    let mut r = r.clone();
    r.inp = Some(inp?);
    r.out = Some(out?);
    r.domid = Some(rec.domid);
    r.pid = rec.pid;
    Ok(r)
}

/// Destroys replica VM `vm` through `call`; one already gone is fine.
pub fn destroy(vm: &str, call: &dyn Fn(&Request) -> mb_agent::Result<Done>) -> Result<()> {
    match call(&Request::Destroy { name: vm.into() }) {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("no middlebox") || e.to_string().contains("not found") => {
            Ok(())
        }
        Err(e) => Err(Error::wrap(format!("destroying {vm}"), e.into())),
    }
}

use mb_vm::error::WithContext;

/// A store connection to a live agent and chain `chain`'s hop records.
/// After a failed `up` the agent may be dying (a fault killed it): its
/// socket still accepts, then resets. The records must go all the same,
/// or the next agent's controller would act on them, so a reset is
/// followed by a wait for the next agent (`client::store` starts one).
fn live_chain(run: &RunDir, chain: &str) -> Result<(mb_store_client::Store, Vec<HopState>)> {
    let mut tries = 0;
    loop {
        let got = mb_agent::client::store(run)
            .map_err(Error::from)
            .and_then(|mut st| Ok((load_chain(&mut st, chain)?, st)));
        match got {
            Ok((hops, st)) => return Ok((st, hops)),
            Err(_) if tries < 3 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Takes chain `chain`'s replicated hops out of the controller's hands
/// (their records go first, so it stops acting on them) and destroys
/// every replica they list. Used by `chain down` and a failed `chain up`.
pub fn forget_all(run: &RunDir, chain: &str) -> Result<()> {
    let (mut st, hops) = live_chain(run, chain)?;
    if hops.is_empty() {
        return Ok(());
    }
    st.rm(&format!("{ROOT}/{chain}"))?;
    let call = |r: &Request| mb_agent::client::call(run, r);
    let mut errors = Vec::new();
    for h in &hops {
        for r in &h.replicas {
            if let Err(e) = destroy(&r.vm, &call) {
                errors.push(mb_vm::error::report(&e));
            }
        }
    }
    // Replicas the controller was booting when its record went.
    let prefixes: Vec<String> = hops
        .iter()
        .map(|h| format!("{}-{}-", h.chain, h.hop))
        .collect();
    for rec in mb_vm::Record::load_all(&mut st)? {
        let ours = prefixes.iter().any(|p| {
            rec.name
                .strip_prefix(p.as_str())
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        if ours {
            if let Err(e) = destroy(&rec.name, &call) {
                errors.push(mb_vm::error::report(&e));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Undo(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_count() {
        let mut h = HopState {
            chain: "c".into(),
            hop: "nat".into(),
            index: 0,
            policy: Policy {
                min: 1,
                max: 3,
                interval_ms: 100,
                misses: 3,
                scale: None,
                split: Split::SrcIp,
            },
            config: "/x/nat.click".into(),
            defines: (0..3)
                .map(|i| vec![("PUBLIC".to_string(), format!("10.0.0.1{i}"))])
                .collect(),
            memory: None,
            ovs_rundir: "/run/ovs".into(),
            ovs_private: true,
            left: Side {
                bridge: "c-l0".into(),
                others: vec![],
            },
            right: Side {
                bridge: "c-l1".into(),
                others: vec![],
            },
            replicas: vec![],
            target: 1,
            last_scale_ms: 0,
            counters: Counters::default(),
        };
        let a = h.add_replica(RState::Running, 5).unwrap();
        let b = h.add_replica(RState::Warm, 6).unwrap();
        assert_eq!((a.vm.as_str(), b.vm.as_str()), ("c-nat-0", "c-nat-1"));
        assert_eq!((h.serving(), h.spares()), (1, 1));
        assert_eq!(
            h.defines_for(1),
            vec![("PUBLIC".to_string(), "10.0.0.11".to_string())]
        );
        let mut st = mb_store_client::mem::Mem::default();
        save(&mut st, &h, None).unwrap();
        assert_eq!(load(&mut st, "c", "nat").unwrap().as_ref(), Some(&h));
        let mut h2 = h.clone();
        h2.replicas.remove(0);
        h2.replicas[0].state = RState::Running;
        save(&mut st, &h2, Some(&h)).unwrap();
        assert_eq!(load(&mut st, "c", "nat").unwrap(), Some(h2));
        let text = st.read("/mbctl/chain/c/nat/replica/1").unwrap().unwrap();
        assert!(text.contains("\"state\":\"running\""), "{text}");
        assert_eq!(load(&mut st, "c", "web").unwrap(), None);
        // Three indexes have settings: a fourth replica waits for one.
        assert!(h.add_replica(RState::Warm, 7).is_some());
        assert_eq!(h.add_replica(RState::Warm, 8), None);
    }
}

//! The chain controller: keeps every replicated hop true to its policy.
//!
//! It runs in the agent ([`service`], registered by `mbctl` through
//! [`mb_agent::register_service`]) and is level-triggered: each round it
//! observes (one pipelined store round trip for all the replicas of a
//! hop, reading each one's heartbeat and what its metric needs, and the VM
//! process), compares with the policy and the hop's record in the store
//! ([`mb_chain::replica::HopState`]), and acts idempotently. Boots and
//! destroys run on worker threads and report back over a channel, so one
//! slow boot never stalls the polls of other replicas.
#![warn(missing_docs)]

mod probe;

use mb_agent::{Caller, ServiceCtx};
use mb_chain::events;
use mb_chain::replica::{self, HopState, RState, Replica};
use mb_chain::split;
use mb_ovs::Ovs;
use mb_store_client::Store;
use mb_vm::rundir::RunDir;
use mb_vm::sample;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

pub use probe::Probe;

/// How often the store is searched for chains that came or went.
const SCAN_PERIOD: Duration = Duration::from_secs(1);
/// How often a draining replica's remaining flows are counted.
const DRAIN_CHECK: Duration = Duration::from_secs(1);
/// The longest a replica drains before it is removed anyway.
const DRAIN_MAX: Duration = Duration::from_secs(120);
/// How long after a failed boot the next one is tried.
const BOOT_BACKOFF: Duration = Duration::from_secs(5);
/// How long a new replica is watched for its first forwarded packet.
const FORWARD_WATCH: Duration = Duration::from_secs(120);
/// Metrics alone change the record at most this often.
const SAVE_PERIOD: Duration = Duration::from_secs(1);

/// The agent service: runs the controller until the agent stops.
pub fn service(ctx: ServiceCtx) {
    let mut c = Controller::new(ctx.run, ctx.call);
    while !ctx.stop.load(Ordering::SeqCst) {
        c.step(Duration::from_millis(200));
    }
}

/// Registers the controller with every agent this process starts.
pub fn register() {
    mb_agent::register_service("mbctl-controller", service);
}

/// What a worker thread reports.
enum Done {
    Booted(Key, String, Result<Replica, String>),
    Destroyed(Key, String, Result<(), String>),
}

type Key = (String, String);

/// One replicated hop as the loop holds it.
struct Hop {
    st: HopState,
    /// What the store holds of it.
    saved: HopState,
    ovs: Option<Ovs>,
    next_poll: Instant,
    probes: HashMap<String, Probe>,
    above_since: Option<Instant>,
    below_since: Option<Instant>,
    applied: Option<u64>,
    /// Failed replicas whose learned flows must go with the next rules.
    forget: Vec<Replica>,
    /// Events of state changes the switch does not show yet: (replica,
    /// kind, detail), logged once the rules are applied, so a `running`
    /// event means new flows can reach the replica.
    pending: Vec<(String, &'static str, String)>,
    /// Replicas with a boot or destroy under way.
    busy: HashSet<String>,
    /// Failed replicas not yet replaced, oldest first.
    replacing: Vec<String>,
    boot_after: Instant,
    last_drain_check: Instant,
    dirty: bool,
    last_save: Instant,
}

/// The controller's loop state.
pub struct Controller {
    run: RunDir,
    call: Caller,
    st: Option<Store>,
    hops: BTreeMap<Key, Hop>,
    last_scan: Option<Instant>,
    tx: Sender<Done>,
    rx: Receiver<Done>,
}

impl Controller {
    /// A controller for the chains of `run`, acting through `call`.
    pub fn new(run: RunDir, call: Caller) -> Controller {
        let (tx, rx) = channel();
        Controller {
            run,
            call,
            st: None,
            hops: BTreeMap::new(),
            last_scan: None,
            tx,
            rx,
        }
    }

    /// One round: finds new and gone hops, takes workers' reports, polls
    /// the hops that are due and acts on them; then waits (at most
    /// `max_wait`) for the next poll or report.
    pub fn step(&mut self, max_wait: Duration) {
        if self.st.is_none() {
            self.st = self.run.connect_store().ok();
            if self.st.is_none() {
                std::thread::sleep(max_wait);
                return;
            }
        }
        if self.last_scan.is_none_or(|t| t.elapsed() >= SCAN_PERIOD) {
            if let Err(e) = self.scan() {
                eprintln!("mbctl controller: {}", mb_vm::error::report(&e));
                self.st = None;
                return;
            }
            self.last_scan = Some(Instant::now());
        }
        let keys: Vec<Key> = self.hops.keys().cloned().collect();
        for k in keys {
            let due = self.hops[&k].next_poll <= Instant::now();
            if due {
                if let Err(e) = self.round(&k) {
                    eprintln!(
                        "mbctl controller: {}/{}: {}",
                        k.0,
                        k.1,
                        mb_vm::error::report(&e)
                    );
                    if matches!(e, mb_chain::Error::Store(_)) {
                        self.st = None;
                        return;
                    }
                }
            }
        }
        let next = self
            .hops
            .values()
            .map(|h| h.next_poll)
            .min()
            .map_or(max_wait, |t| t.saturating_duration_since(Instant::now()))
            .min(max_wait);
        match self.rx.recv_timeout(next) {
            Ok(d) => self.done(d),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }
        while let Ok(d) = self.rx.try_recv() {
            self.done(d);
        }
    }

    /// Picks up hops whose records appeared, drops those whose went.
    fn scan(&mut self) -> mb_chain::Result<()> {
        let st = self.st.as_mut().expect("connected");
        let mut seen = HashSet::new();
        let mut new = Vec::new();
        for chain in replica::chains(st)? {
            for hop in replica::hops(st, &chain)? {
                let k = (chain.clone(), hop);
                // Only a new hop's record is read and parsed.
                if !self.hops.contains_key(&k) {
                    match replica::load(st, &k.0, &k.1)? {
                        Some(h) => new.push((k.clone(), h)),
                        None => continue,
                    }
                }
                seen.insert(k);
            }
        }
        for (k, h) in new {
            let hop = self.resume(h);
            self.hops.insert(k, hop);
        }
        self.hops.retain(|k, _| seen.contains(k));
        Ok(())
    }

    /// Takes over a hop from its record: a boot that a previous agent
    /// left unfinished is adopted if its VM runs, else dropped.
    fn resume(&mut self, mut st: HopState) -> Hop {
        let saved = st.clone();
        let mut changed = false;
        let booting: Vec<Replica> = st
            .replicas
            .iter()
            .filter(|r| r.state == RState::Booting)
            .cloned()
            .collect();
        let ovs = st.ovs().ok();
        for r in booting {
            let running = self.st.as_mut().and_then(|s| {
                mb_vm::Record::load(s, &r.vm)
                    .ok()
                    .flatten()
                    .filter(|rec| rec.state == mb_vm::State::Running)
            });
            let adopted = match (&ovs, running) {
                (Some(o), Some(_)) => replica::wired(&self.run, o, &r).ok(),
                _ => None,
            };
            match adopted {
                Some(mut w) => {
                    w.state = w.goal;
                    w.since_ms = events::now_ms();
                    *st.replica_mut(&r.vm).expect("listed") = w;
                    events::log(
                        &self.run,
                        &st.chain,
                        &st.hop,
                        Some(&r.vm),
                        r.goal.as_str(),
                        "its boot finished while no controller ran",
                    );
                }
                None => {
                    let _ = replica::destroy(&r.vm, self.call.as_ref());
                    st.replicas.retain(|x| x.vm != r.vm);
                    events::log(
                        &self.run,
                        &st.chain,
                        &st.hop,
                        Some(&r.vm),
                        "removed",
                        "its boot was cut short by an agent restart",
                    );
                }
            }
            changed = true;
        }
        if !st.replicas.is_empty() {
            events::log(
                &self.run,
                &st.chain,
                &st.hop,
                None,
                "resumed",
                &format!(
                    "controller took over {} replica(s): {}",
                    st.replicas.len(),
                    st.replicas
                        .iter()
                        .map(|r| format!("{} {}", r.vm, r.state.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        Hop {
            st,
            saved,
            ovs,
            next_poll: Instant::now(),
            probes: HashMap::new(),
            above_since: None,
            below_since: None,
            applied: None,
            forget: Vec::new(),
            pending: Vec::new(),
            busy: HashSet::new(),
            replacing: Vec::new(),
            boot_after: Instant::now(),
            last_drain_check: Instant::now(),
            dirty: changed,
            last_save: Instant::now(),
        }
    }

    /// Observe, compare, act, for hop `k`.
    fn round(&mut self, k: &Key) -> mb_chain::Result<()> {
        let run = self.run.clone();
        let call = self.call.clone();
        let tx = self.tx.clone();
        let st = self.st.as_mut().expect("connected");
        let hop = self.hops.get_mut(k).expect("listed");
        hop.next_poll += hop.st.policy.interval();
        if hop.next_poll < Instant::now() {
            // Fell behind (a slow store): no burst of catch-up polls.
            hop.next_poll = Instant::now() + hop.st.policy.interval();
        }
        if hop.ovs.is_none() {
            hop.ovs = hop.st.ovs().ok();
        }
        observe(&run, st, hop)?;
        decide(&run, hop);
        // `chain down` removes the hop's record, then destroys its
        // replicas: one that vanished then must not be replaced. Before a
        // boot (rare), make sure the hop is still ours; the scan drops it.
        if wants_boot(hop) && st.read(&replica::path(&k.0, &k.1))?.is_none() {
            return Ok(());
        }
        reconcile(&run, hop, &call, &tx, k);
        rules(&run, hop)?;
        // After the rules: a spare's boot would slow them down, and a
        // failed replica goes once its flows are moved.
        upkeep(&run, hop, &call, &tx, k);
        if let Some(ovs) = hop.ovs.clone() {
            drains(&run, &ovs, hop, &call, &tx, k);
            first_packets(&run, &ovs, hop);
        }
        if hop.dirty || hop.last_save.elapsed() >= SAVE_PERIOD {
            // Write only if the record is still there: `chain down`
            // removes it first to take the hop out of our hands.
            if st.read(&replica::path(&k.0, &k.1))?.is_some() {
                replica::save(st, &hop.st, Some(&hop.saved))?;
                hop.saved = hop.st.clone();
            }
            hop.dirty = false;
            hop.last_save = Instant::now();
        }
        Ok(())
    }

    /// A worker's report.
    fn done(&mut self, d: Done) {
        match d {
            Done::Booted(k, vm, result) => {
                // `chain down` removes the hop's record first: a boot that
                // ends after that is not ours to keep.
                let gone = self
                    .st
                    .as_mut()
                    .is_some_and(|st| matches!(st.read(&replica::path(&k.0, &k.1)), Ok(None)));
                if gone {
                    self.hops.remove(&k);
                }
                let Some(hop) = self.hops.get_mut(&k) else {
                    let _ = replica::destroy(&vm, self.call.as_ref());
                    return;
                };
                hop.busy.remove(&vm);
                hop.dirty = true;
                let (chain, name) = (hop.st.chain.clone(), hop.st.hop.clone());
                match result {
                    Ok(mut w) => {
                        let Some(r) = hop.st.replica_mut(&vm) else {
                            let _ = replica::destroy(&vm, self.call.as_ref());
                            return;
                        };
                        let took = events::now_ms().saturating_sub(r.since_ms);
                        w.state = r.goal;
                        w.since_ms = events::now_ms();
                        *r = w;
                        hop.st.counters.boots += 1;
                        let state = hop.st.replica_mut(&vm).map(|r| r.state);
                        let mut detail = format!("booted in {took} ms");
                        if state == Some(RState::Running) {
                            detail.push_str(&replaces(hop, &vm));
                        }
                        let kind = state.map_or("removed", RState::as_str);
                        hop.pending.push((vm, kind, detail));
                        // Now, not at the next poll: the reaction time
                        // of a cold scale-out ends with these rules.
                        if let Err(e) = rules(&self.run, hop) {
                            eprintln!(
                                "mbctl controller: {chain}/{name}: {}",
                                mb_vm::error::report(&e)
                            );
                        }
                    }
                    Err(e) => {
                        hop.st.replicas.retain(|r| r.vm != vm);
                        hop.boot_after = Instant::now() + BOOT_BACKOFF;
                        events::log(
                            &self.run,
                            &chain,
                            &name,
                            Some(&vm),
                            "failed",
                            &format!("boot failed: {e}"),
                        );
                    }
                }
            }
            Done::Destroyed(k, vm, Err(e)) => {
                // Tried again next round (a failed replica is destroyed
                // until it is gone).
                if let Some(hop) = self.hops.get_mut(&k) {
                    hop.busy.remove(&vm);
                    if let Some(r) = hop.st.replica_mut(&vm) {
                        r.state = RState::Failed;
                    }
                }
                events::log(
                    &self.run,
                    &k.0,
                    &k.1,
                    Some(&vm),
                    "failed",
                    &format!("removing it failed: {e}"),
                );
            }
            Done::Destroyed(k, vm, Ok(())) => {
                if let Some(hop) = self.hops.get_mut(&k) {
                    hop.busy.remove(&vm);
                    hop.st.replicas.retain(|r| r.vm != vm);
                    hop.probes.remove(&vm);
                    hop.dirty = true;
                    events::log(
                        &self.run,
                        &k.0,
                        &k.1,
                        Some(&vm),
                        "removed",
                        "VM, taps and records gone",
                    );
                }
            }
        }
    }
}

/// When newly serving replica `vm` stands in for a failed one: a
/// `replaced` event about that one, and a note for `vm`'s event.
fn replaces(hop: &mut Hop, vm: &str) -> String {
    if hop.replacing.is_empty() {
        return String::new();
    }
    let old = hop.replacing.remove(0);
    hop.pending
        .push((old.clone(), "replaced", format!("by {vm}")));
    format!("; replaces {old} (its flows start afresh here: no state snapshots yet)")
}

/// What the split's rules depend on: the serving replicas (buckets) and
/// the failed ones (fenced), with their ports (hashed: it is compared
/// every poll).
fn fingerprint(h: &HopState) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let ports = |r: &Replica| {
        (
            r.inp.as_ref().map(|p| p.ofport),
            r.out.as_ref().map(|p| p.ofport),
        )
    };
    for r in h
        .replicas
        .iter()
        .filter(|r| matches!(r.state, RState::Running | RState::Failed))
    {
        (&r.vm, r.state.as_str(), ports(r)).hash(&mut hasher);
    }
    hasher.finish()
}

/// Polls every booted replica of `hop`: health, counters, metric. A
/// replica whose VM process is gone, or whose polls went unanswered
/// `misses` times in a row, is failed.
fn observe(run: &RunDir, st: &mut Store, hop: &mut Hop) -> mb_chain::Result<()> {
    let metric = hop.st.policy.scale.as_ref().map(|s| s.metric.clone());
    let misses = hop.st.policy.misses;
    let (chain, name) = (hop.st.chain.clone(), hop.st.hop.clone());
    let mut failed = Vec::new();
    // A replica being destroyed is gone on purpose.
    let due: Vec<(String, u32, Option<i32>)> = hop
        .st
        .replicas
        .iter()
        .filter(|r| matches!(r.state, RState::Warm | RState::Running | RState::Draining))
        .filter(|r| !hop.busy.contains(&r.vm))
        .filter_map(|r| Some((r.vm.clone(), r.domid?, r.pid)))
        .collect();
    // A new probe asks its guest for a heartbeat and is first polled
    // next round, when the guest has had an interval to start beating.
    let beat = sample::beat_period_for(hop.st.policy.interval());
    let mut polled = HashSet::with_capacity(due.len());
    for (vm, domid, pid) in &due {
        if !hop.probes.contains_key(vm) {
            sample::ask_beat(st, *domid, Some(beat))?;
            hop.probes
                .insert(vm.clone(), Probe::new(metric.as_ref(), *domid, *pid));
        } else {
            polled.insert(vm);
        }
    }
    // One store round trip for the whole hop.
    let (vms, mut probes): (Vec<&String>, Vec<&mut Probe>) = hop
        .probes
        .iter_mut()
        .filter(|(vm, _)| polled.contains(vm))
        .unzip();
    let seen = probe::poll_all(st, &mut probes)?;
    for (vm, seen) in vms.into_iter().zip(seen) {
        let r = hop.st.replica_mut(vm).expect("listed");
        if let Some(m) = seen.metric {
            r.metric = Some(m);
        }
        // The first miss of a run is news; the rest are counted in the
        // failure event, not logged one by one at every interval.
        if seen.misses == 1 {
            events::log(
                run,
                &chain,
                &name,
                Some(vm),
                "poll-missed",
                "its heartbeat did not move since the last poll",
            );
        }
        if !seen.alive {
            failed.push((vm.clone(), "its VM process is gone".to_string()));
        } else if seen.misses >= misses {
            failed.push((vm.clone(), format!("{} polls unanswered", seen.misses)));
        }
    }
    for (vm, why) in failed {
        let was = hop.st.replica_mut(&vm).expect("listed").state;
        let detail = format!("failure detected: {why}");
        let r = set_state(hop, &vm, RState::Failed, "failed", &detail);
        hop.forget.push(r);
        hop.st.counters.failures += 1;
        if was == RState::Running {
            hop.replacing.push(vm.clone());
        }
    }
    Ok(())
}

/// Moves replica `vm` of `hop` to `state`, with `event` about it to be
/// logged once the switch's rules follow, and returns it as it is now.
fn set_state(hop: &mut Hop, vm: &str, state: RState, event: &'static str, detail: &str) -> Replica {
    let r = hop.st.replica_mut(vm).expect("listed");
    r.state = state;
    r.since_ms = events::now_ms();
    let r = r.clone();
    hop.dirty = true;
    hop.pending
        .push((vm.to_string(), event, detail.to_string()));
    r
}

/// Brings the switch's rules in line with `hop`'s replica states (when
/// they changed), then logs the events of those changes.
fn rules(run: &RunDir, hop: &mut Hop) -> mb_chain::Result<()> {
    if let Some(ovs) = &hop.ovs {
        let print = fingerprint(&hop.st);
        if hop.applied != Some(print) || !hop.forget.is_empty() {
            let forget: Vec<&Replica> = hop.forget.iter().collect();
            // The first time, all the rules: the hop may be an older
            // agent's.
            let write = match hop.applied {
                None => split::Write::All,
                Some(_) => split::Write::Groups,
            };
            split::apply(ovs, &hop.st, write, &forget)?;
            hop.forget.clear();
            hop.applied = Some(print);
        }
    }
    for (vm, kind, detail) in hop.pending.drain(..) {
        events::log(run, &hop.st.chain, &hop.st.hop, Some(&vm), kind, &detail);
    }
    Ok(())
}

/// Scaling: the metric averaged over serving replicas, held above or
/// below its thresholds for `for`, moves the target (within min..max,
/// at most once per `cooldown`).
fn decide(run: &RunDir, hop: &mut Hop) {
    let Some(sc) = hop.st.policy.scale.clone() else {
        return;
    };
    let values: Vec<f64> = hop
        .st
        .replicas
        .iter()
        .filter(|r| r.state == RState::Running)
        .filter_map(|r| r.metric)
        .collect();
    if values.is_empty() {
        return;
    }
    let avg = values.iter().sum::<f64>() / values.len() as f64;
    let now = Instant::now();
    let hold = Duration::from_millis(sc.hold_ms);
    let cooled = events::now_ms().saturating_sub(hop.st.last_scale_ms) >= sc.cooldown_ms;
    let (p, label) = (&hop.st.policy, sc.metric.label());
    let step = |out: bool, since: Option<Instant>| -> bool {
        let held = since.is_some_and(|t| now.duration_since(t) >= hold);
        let room = if out {
            hop.st.target < p.max
        } else {
            hop.st.target > p.min
        };
        held && cooled && room
    };
    if avg > sc.above {
        hop.below_since = None;
        let since = *hop.above_since.get_or_insert(now);
        if step(true, Some(since)) {
            hop.st.target += 1;
            hop.st.counters.scale_outs += 1;
            scaled(
                run,
                hop,
                &format!(
                    "{label} {avg:.1} above {} for {} ms: scaling out to {}",
                    sc.above, sc.hold_ms, hop.st.target
                ),
            );
        }
    } else if avg < sc.below {
        hop.above_since = None;
        let since = *hop.below_since.get_or_insert(now);
        if step(false, Some(since)) {
            hop.st.target -= 1;
            hop.st.counters.scale_ins += 1;
            scaled(
                run,
                hop,
                &format!(
                    "{label} {avg:.1} below {} for {} ms: scaling in to {}",
                    sc.below, sc.hold_ms, hop.st.target
                ),
            );
        }
    } else {
        hop.above_since = None;
        hop.below_since = None;
    }
}

fn scaled(run: &RunDir, hop: &mut Hop, detail: &str) {
    hop.st.last_scale_ms = events::now_ms();
    hop.above_since = None;
    hop.below_since = None;
    hop.dirty = true;
    events::log(run, &hop.st.chain, &hop.st.hop, None, "threshold", detail);
}

/// Whether a round would boot a replica: fewer serve than the target,
/// or fewer spares than the policy keeps warm.
fn wants_boot(hop: &Hop) -> bool {
    let p = &hop.st.policy;
    hop.st.serving() < hop.st.target.clamp(p.min, p.max) || hop.st.spares() < p.warm()
}

/// Brings the serving replicas to the target: promotes spares or boots,
/// drains the surplus.
fn reconcile(run: &RunDir, hop: &mut Hop, call: &Caller, tx: &Sender<Done>, k: &Key) {
    let p = hop.st.policy.clone();
    hop.st.target = hop.st.target.clamp(p.min, p.max);
    while hop.st.serving() < hop.st.target {
        let spare = hop
            .st
            .replicas
            .iter_mut()
            .filter(|r| r.state == RState::Warm)
            .min_by_key(|r| r.n);
        if let Some(r) = spare {
            let vm = r.vm.clone();
            let detail = format!("from the warm pool{}", replaces(hop, &vm));
            if let Some(pr) = hop.probes.get_mut(&vm) {
                pr.forwarded = false;
            }
            set_state(hop, &vm, RState::Running, "running", &detail);
            continue;
        }
        if Instant::now() < hop.boot_after {
            break;
        }
        if !boot(run, hop, RState::Running, call, tx, k) {
            break;
        }
    }
    let booting_to_run = hop
        .st
        .replicas
        .iter()
        .any(|r| r.state == RState::Booting && r.goal == RState::Running);
    if !booting_to_run && hop.st.count(RState::Running) > hop.st.target {
        let vm = hop
            .st
            .replicas
            .iter()
            .filter(|r| r.state == RState::Running)
            .max_by_key(|r| r.n)
            .expect("more than the target run")
            .vm
            .clone();
        let why = "no new flows; removed when its flows have ended";
        set_state(hop, &vm, RState::Draining, "draining", why);
    }
}

/// Keeps `warm` spares and removes failed replicas.
fn upkeep(run: &RunDir, hop: &mut Hop, call: &Caller, tx: &Sender<Done>, k: &Key) {
    while hop.st.spares() < hop.st.policy.warm() && Instant::now() >= hop.boot_after {
        if !boot(run, hop, RState::Warm, call, tx, k) {
            break;
        }
    }
    // Failed replicas go (their flows were moved with the rules).
    let failed: Vec<String> = hop
        .st
        .replicas
        .iter()
        .filter(|r| r.state == RState::Failed && !hop.busy.contains(&r.vm))
        .map(|r| r.vm.clone())
        .collect();
    for vm in failed {
        destroy(hop, &vm, call, tx, k);
    }
}

/// Starts booting a replica towards `goal`; false when every index is
/// taken (a failed or draining replica still holds one: later).
fn boot(
    run: &RunDir,
    hop: &mut Hop,
    goal: RState,
    call: &Caller,
    tx: &Sender<Done>,
    k: &Key,
) -> bool {
    let Some(r) = hop.st.add_replica(goal, events::now_ms()) else {
        return false;
    };
    hop.busy.insert(r.vm.clone());
    hop.dirty = true;
    events::log(
        run,
        &hop.st.chain,
        &hop.st.hop,
        Some(&r.vm),
        "booting",
        &format!("to be {}", goal.as_str()),
    );
    let (run, st, call, tx, k) = (
        run.clone(),
        hop.st.clone(),
        call.clone(),
        tx.clone(),
        k.clone(),
    );
    std::thread::spawn(move || {
        let res = replica::boot(&run, &st, &r, call.as_ref()).map_err(|e| mb_vm::error::report(&e));
        let _ = tx.send(Done::Booted(k, r.vm, res));
    });
    true
}

fn destroy(hop: &mut Hop, vm: &str, call: &Caller, tx: &Sender<Done>, k: &Key) {
    hop.busy.insert(vm.to_string());
    let (vm, call, tx, k) = (vm.to_string(), call.clone(), tx.clone(), k.clone());
    std::thread::spawn(move || {
        let r = replica::destroy(&vm, call.as_ref()).map_err(|e| mb_vm::error::report(&e));
        let _ = tx.send(Done::Destroyed(k, vm, r));
    });
}

/// Removes draining replicas whose flows have ended (or that drained for
/// too long).
fn drains(run: &RunDir, ovs: &Ovs, hop: &mut Hop, call: &Caller, tx: &Sender<Done>, k: &Key) {
    if hop.last_drain_check.elapsed() < DRAIN_CHECK {
        return;
    }
    hop.last_drain_check = Instant::now();
    let draining: Vec<Replica> = hop
        .st
        .replicas
        .iter()
        .filter(|r| r.state == RState::Draining && !hop.busy.contains(&r.vm))
        .cloned()
        .collect();
    for r in draining {
        let flows = split::flows_of(ovs, &hop.st, &r).unwrap_or(usize::MAX);
        let over = events::now_ms().saturating_sub(r.since_ms) > DRAIN_MAX.as_millis() as u64;
        if flows == 0 || over {
            let why = if flows == 0 {
                "its flows have ended".to_string()
            } else {
                format!(
                    "still {flows} flow(s) after {} s: removing anyway",
                    DRAIN_MAX.as_secs()
                )
            };
            events::log(
                run,
                &hop.st.chain,
                &hop.st.hop,
                Some(&r.vm),
                "drained",
                &why,
            );
            destroy(hop, &r.vm, call, tx, k);
        }
    }
}

/// Logs a serving replica's first forwarded packet.
fn first_packets(run: &RunDir, ovs: &Ovs, hop: &mut Hop) {
    for r in &hop.st.replicas {
        if r.state != RState::Running {
            continue;
        }
        let Some(p) = hop.probes.get_mut(&r.vm) else {
            continue;
        };
        let age = events::now_ms().saturating_sub(r.since_ms);
        if p.forwarded || age > FORWARD_WATCH.as_millis() as u64 {
            continue;
        }
        if split::forwarded(ovs, &hop.st, r).unwrap_or(false) {
            p.forwarded = true;
            events::log(
                run,
                &hop.st.chain,
                &hop.st.hop,
                Some(&r.vm),
                "forwarding",
                &format!("first packet forwarded {age} ms after it began serving"),
            );
        }
    }
}

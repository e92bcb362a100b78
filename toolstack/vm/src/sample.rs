//! What a controller measures of a running middlebox, per poll: whether it
//! is alive (its process, and the heartbeat the guest publishes) and its
//! load (packet and bit rates over its NICs, its process's CPU, its heap,
//! a numeric handler).
//!
//! Everything comes from the guest's monitoring record in the store
//! (`clickos_proto::stats`: NIC counters, heap, `beat`) and from
//! `/proc/<pid>/stat` of its QEMU process, read in one pipelined batch
//! per replica. A rate is a difference between two [`Sample`]s, over the
//! guest's own clock (`beat`) when both have it, so counters published
//! a little late do not read as a burst.
//!
//! The guest publishes its counters about once a second unless the host
//! asks for a heartbeat ([`ask_beat`]); then every beat period, with
//! `beat` advancing each time. A controller asks for one of at most half
//! its poll interval ([`beat_period_for`]), so every poll of a live guest
//! sees `beat` move ([`Liveness`]) and fresh counters.
//!
//! CPU is the QEMU process's (all its threads: vCPU, I/O). Under Xen the
//! domain's CPU time is the hypervisor's, which no process shows; `xl`
//! replicas report no CPU (`None`) rather than a wrong number.

use std::time::{Duration, Instant};

use mb_store_client::clickos::{self, stats, Home, NicCounters, Op, StoreOps};

use crate::record::Record;
use crate::Result;

/// What is sampled of one replica: taken from its record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its domain id (its store home).
    pub domid: u32,
    /// Its QEMU process, if it has one (not under xl).
    pub pid: Option<i32>,
    /// How many NICs it has.
    pub nics: usize,
}

impl From<&Record> for Target {
    fn from(r: &Record) -> Target {
        Target {
            domid: r.domid,
            pid: r.pid,
            nics: r.nics.len(),
        }
    }
}

/// A process's CPU time, from `/proc/<pid>/stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcTimes {
    /// User plus system time, in clock ticks.
    pub ticks: u64,
    /// When it started, in ticks since boot: tells a recycled pid apart.
    pub start: u64,
}

impl ProcTimes {
    /// Parses a `/proc/<pid>/stat` line.
    pub fn parse(stat: &str) -> Option<ProcTimes> {
        // The command name (field 2) is in parentheses and may hold
        // spaces or parentheses itself: count fields after the last `)`.
        let rest = &stat[stat.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // Fields 3.. of the line are f[0..]: utime is field 14, stime 15,
        // starttime 22.
        let num = |i: usize| f.get(i - 3)?.parse::<u64>().ok();
        Some(ProcTimes {
            ticks: num(14)? + num(15)?,
            start: num(22)?,
        })
    }

    /// The times of process `pid`; `None` when it is gone (or a zombie).
    pub fn read(pid: i32) -> Option<ProcTimes> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let state = stat[stat.rfind(')')? + 1..].split_whitespace().next()?;
        if state == "Z" || state == "X" {
            return None;
        }
        ProcTimes::parse(&stat)
    }
}

/// Clock ticks per second of `/proc`'s times.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// One look at a replica.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// When it was taken (host clock).
    pub at: Instant,
    /// The guest's `beat` (its clock in ms at its last publication), if
    /// it publishes one.
    pub beat: Option<u64>,
    /// Its NICs' counters, in guest order (zeros where not published;
    /// empty when the sampler does not read them).
    pub nics: Vec<NicCounters>,
    /// Heap bytes in use and usable, if the guest reports them (record
    /// format 2) and the sampler reads them.
    pub heap: Option<(u64, u64)>,
    /// Its process's CPU time; `None` without a process (xl) or when the
    /// process is gone.
    pub proc: Option<ProcTimes>,
    /// The sampled handler's value, from the answer to the previous
    /// sample's request; `None` before the first answer or when it is not
    /// a number.
    pub handler: Option<f64>,
}

impl Sample {
    /// Packets received over all NICs since boot.
    pub fn rx_packets(&self) -> u64 {
        self.nics.iter().map(|n| n.rx_packets).sum()
    }

    /// Bytes received over all NICs since boot.
    pub fn rx_bytes(&self) -> u64 {
        self.nics.iter().map(|n| n.rx_bytes).sum()
    }
}

/// A replica's load between two samples; `None` where it cannot be told
/// (no earlier sample, the quantity is not reported, no time passed).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Packets per second received, summed over its NICs.
    pub pps: Option<f64>,
    /// Bits per second received, summed over its NICs.
    pub bps: Option<f64>,
    /// Percent of one host core its VM process used.
    pub cpu: Option<f64>,
    /// Percent of the guest's heap in use (now, not a rate).
    pub ram: Option<f64>,
    /// The sampled handler's value.
    pub handler: Option<f64>,
}

impl Metrics {
    /// The load between `prev` and `now`.
    pub fn between(prev: Option<&Sample>, now: &Sample) -> Metrics {
        let ram = now
            .heap
            .filter(|&(_, size)| size > 0)
            .map(|(used, size)| used as f64 * 100.0 / size as f64);
        let mut m = Metrics {
            ram,
            handler: now.handler,
            ..Metrics::default()
        };
        let Some(prev) = prev else { return m };
        let host_secs = now.at.saturating_duration_since(prev.at).as_secs_f64();
        // The guest's clock spans exactly the publications between the
        // two samples; the host's, only when the guest does not beat.
        let secs = match (prev.beat, now.beat) {
            (Some(a), Some(b)) if b >= a => (b - a) as f64 / 1000.0,
            _ => host_secs,
        };
        if secs > 0.0 && !now.nics.is_empty() {
            let delta = |a: u64, b: u64| b.saturating_sub(a) as f64 / secs;
            m.pps = Some(delta(prev.rx_packets(), now.rx_packets()));
            m.bps = Some(8.0 * delta(prev.rx_bytes(), now.rx_bytes()));
        }
        if let (Some(a), Some(b)) = (prev.proc, now.proc) {
            if a.start == b.start && host_secs > 0.0 {
                let used = b.ticks.saturating_sub(a.ticks) as f64 / ticks_per_second();
                m.cpu = Some(used * 100.0 / host_secs);
            }
        }
        m
    }
}

/// Samples replicas: the record nodes it needs in one pipelined read, the
/// process's times, and (if asked) one handler, read through the store
/// without waiting: each sample collects the answer to the previous
/// sample's request and posts the next.
///
/// A sample is planned once per replica ([`Sampler::plan`]) and taken
/// either alone ([`Sampler::sample`]) or, by a caller that batches many
/// replicas into one store round trip, by sending the plan's reads and
/// ops itself and handing the values to [`Sampler::absorb`].
#[derive(Clone, Debug)]
pub struct Sampler {
    handler: Option<(String, String)>,
    counters: bool,
    heap: bool,
}

impl Default for Sampler {
    fn default() -> Sampler {
        Sampler {
            handler: None,
            counters: true,
            heap: true,
        }
    }
}

/// The store requests of one replica's sample: what [`Sampler::plan`]
/// made for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    reads: Vec<String>,
    ops: Vec<Op>,
    nics: usize,
    pid: Option<i32>,
}

impl Plan {
    /// The nodes to read, in the order [`Sampler::absorb`] takes them.
    pub fn reads(&self) -> &[String] {
        &self.reads
    }

    /// What to send after the reads: the next handler request (empty
    /// without a handler).
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }
}

impl Sampler {
    /// A sampler of the whole record and the process.
    pub fn new() -> Sampler {
        Sampler::default()
    }

    /// A sampler of the whole record, the process and handler
    /// `elem.handler` (a numeric read handler; compound element names
    /// keep their `/`).
    pub fn with_handler(element: &str, handler: &str) -> Sampler {
        Sampler {
            handler: Some((element.to_string(), handler.to_string())),
            ..Sampler::default()
        }
    }

    /// A sampler of only what is asked: the beat and the process always,
    /// NIC counters (`pps`, `bps`) and heap figures (`ram`) if asked, a
    /// handler if named. Each part left out is one store read fewer per
    /// NIC field or node per poll.
    pub fn reading(counters: bool, heap: bool, handler: Option<(&str, &str)>) -> Sampler {
        Sampler {
            handler: handler.map(|(e, h)| (e.to_string(), h.to_string())),
            counters,
            heap,
        }
    }

    /// The store requests that sample `t`.
    pub fn plan(&self, t: &Target) -> Plan {
        let home = Home::Domain(t.domid);
        let mut reads = vec![home.beat()];
        if self.heap {
            reads.extend([home.heap_used(), home.heap_size()]);
        }
        let nics = if self.counters { t.nics } else { 0 };
        for i in 0..nics {
            let dir = home.nic(i);
            reads.extend(NicCounters::FIELDS.iter().map(|f| format!("{dir}/{f}")));
        }
        let mut ops = Vec::new();
        if let Some((e, h)) = &self.handler {
            // The answer to the last request: error, lock, value.
            reads.extend([
                home.handler_error(e, h),
                home.lock(e, h),
                home.element(e, h),
            ]);
            ops = clickos::read_request_ops(t.domid, e, h);
        }
        Plan {
            reads,
            ops,
            nics,
            pid: t.pid,
        }
    }

    /// Samples `t` and returns the sample and the load since `prev` (the
    /// replica's previous sample, if any).
    pub fn sample(
        &self,
        st: &mut dyn StoreOps,
        t: &Target,
        prev: Option<&Sample>,
    ) -> Result<(Sample, Metrics)> {
        let plan = self.plan(t);
        let refs: Vec<&str> = plan.reads.iter().map(String::as_str).collect();
        let values = st.read_many(&refs)?;
        st.apply_ops(&plan.ops)?;
        let values: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
        let sample = self.absorb(&plan, &values);
        let m = Metrics::between(prev, &sample);
        Ok((sample, m))
    }

    /// The sample from the values read for `plan` (`None` where a node
    /// is missing or its read failed), and the process's times read now.
    pub fn absorb(&self, plan: &Plan, values: &[Option<&str>]) -> Sample {
        let num = |i: usize| {
            values
                .get(i)
                .copied()
                .flatten()
                .and_then(stats::parse_counter)
        };
        let mut at = 1;
        let heap = if self.heap {
            at += 2;
            num(1).zip(num(2))
        } else {
            None
        };
        let nics = (0..plan.nics)
            .map(|i| {
                let base = at + i * NicCounters::FIELDS.len();
                NicCounters::from_values(std::array::from_fn(|k| num(base + k).unwrap_or(0)))
            })
            .collect();
        at += plan.nics * NicCounters::FIELDS.len();
        let handler = self.handler.as_ref().and_then(|_| {
            let text = |i: usize| values.get(at + i).copied().flatten();
            // An error, or no lock yet, is no value.
            if text(0).is_some() || text(1).is_none() {
                return None;
            }
            text(2)
                .unwrap_or_default()
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
        });
        Sample {
            at: Instant::now(),
            beat: num(0),
            nics,
            heap,
            proc: plan.pid.and_then(ProcTimes::read),
            handler,
        }
    }
}

/// The heartbeat period to ask of a guest polled every `interval`: half
/// of it, so each poll of a live guest sees `beat` advance, within what a
/// guest keeps (`stats::BEAT_MIN_MS`..=`BEAT_MAX_MS`).
pub fn beat_period_for(interval: Duration) -> Duration {
    let ms = (interval.as_millis() as u64 / 2).clamp(stats::BEAT_MIN_MS, stats::BEAT_MAX_MS);
    Duration::from_millis(ms)
}

/// Asks domain `domid`'s guest for a heartbeat every `period` (`None`:
/// stop).
pub fn ask_beat(st: &mut dyn StoreOps, domid: u32, period: Option<Duration>) -> Result<()> {
    let ms = period.map_or(0, |p| p.as_millis().max(1) as u64);
    st.write(&Home::Domain(domid).beat_ms(), &ms.to_string())?;
    Ok(())
}

/// The cheap liveness read: domain `domid`'s `beat` (one store read).
pub fn read_beat(st: &mut dyn StoreOps, domid: u32) -> Result<Option<u64>> {
    Ok(clickos::read_u64(st, &Home::Domain(domid).beat())?)
}

/// Counts a replica's missed polls: a poll whose `beat` did not move
/// since the previous one is a miss; one where it moved clears them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Liveness {
    last: Option<u64>,
    misses: u32,
}

impl Liveness {
    /// Nothing seen yet.
    pub fn new() -> Liveness {
        Liveness::default()
    }

    /// Takes one poll's `beat` (`None`: not there, or the read failed)
    /// and returns the consecutive misses so far.
    pub fn observe(&mut self, beat: Option<u64>) -> u32 {
        match beat {
            Some(b) if self.last != Some(b) => {
                self.last = Some(b);
                self.misses = 0;
            }
            _ => self.misses = self.misses.saturating_add(1),
        }
        self.misses
    }

    /// Consecutive missed polls.
    pub fn misses(&self) -> u32 {
        self.misses
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mb_store_client::mem::Mem;

    fn publish(m: &mut Mem, domid: u32, s: &stats::Stats, prev: Option<&stats::Stats>) {
        for (p, v) in s.changes(prev, Home::Domain(domid)) {
            m.nodes.insert(p, v);
        }
    }

    fn nic(rx: u64) -> NicCounters {
        NicCounters {
            rx_packets: rx,
            rx_bytes: rx * 100,
            tx_packets: rx,
            tx_bytes: rx * 100,
            drops: 0,
        }
    }

    /// A store holding one guest's record: two NICs, a quarter of its
    /// heap in use, beat 5000.
    fn published() -> (Mem, stats::Stats) {
        let mut m = Mem::default();
        let s0 = stats::Stats {
            nics: vec![nic(1000), nic(10)],
            heap_used: 3 << 20,
            heap_size: 12 << 20,
            beat: Some(5_000),
            ..stats::Stats::default()
        };
        publish(&mut m, 7, &s0, None);
        (m, s0)
    }

    fn target() -> Target {
        Target {
            domid: 7,
            pid: None,
            nics: 2,
        }
    }

    #[test]
    fn rates_come_from_counters_over_the_guests_clock() {
        let (mut m, s0) = published();
        let sampler = Sampler::new();
        let (a, first) = sampler.sample(&mut m, &target(), None).unwrap();
        assert_eq!(a.beat, Some(5_000));
        assert_eq!(a.rx_packets(), 1010);
        assert_eq!(first.pps, None, "one sample has no rate");
        assert_eq!(first.ram, Some(25.0));
        assert_eq!(first.cpu, None, "no process");
        // 500 ms of guest time later: 2000 more packets on NIC 0, 500 on 1.
        let s1 = stats::Stats {
            nics: vec![nic(3000), nic(510)],
            heap_used: 6 << 20,
            beat: Some(5_500),
            ..s0.clone()
        };
        publish(&mut m, 7, &s1, Some(&s0));
        let (b, r) = sampler.sample(&mut m, &target(), Some(&a)).unwrap();
        assert_eq!(r.pps, Some(5000.0));
        assert_eq!(r.bps, Some(5000.0 * 100.0 * 8.0));
        assert_eq!(r.ram, Some(50.0));
        // Without a beat the host's clock is used.
        let early = Sample {
            at: b.at - Duration::from_secs(2),
            beat: None,
            ..a.clone()
        };
        let late = Sample { beat: None, ..b };
        let r = Metrics::between(Some(&early), &late);
        assert_eq!(r.pps, Some(2500.0 / 2.0));
    }

    #[test]
    fn a_format_1_guest_reports_no_heap_or_beat() {
        let mut m = Mem::default();
        m.nodes
            .insert(Home::Domain(7).nic(0) + "/rx_packets", "12".into());
        let (s, r) = Sampler::new().sample(&mut m, &target(), None).unwrap();
        assert_eq!((s.beat, s.heap, r.ram), (None, None, None));
        assert_eq!(s.rx_packets(), 12);
        assert_eq!(s.nics[1], NicCounters::default());
    }

    #[test]
    fn a_handler_is_requested_then_collected_on_the_next_sample() {
        let mut m = Mem::default();
        let sampler = Sampler::with_handler("c", "rate");
        let (s, r) = sampler.sample(&mut m, &target(), None).unwrap();
        assert_eq!((s.handler, r.handler), (None, None));
        let req = Home::Domain(7).control_read("c", "rate");
        assert!(m.nodes.contains_key(&req), "a read request was posted");
        // The guest answers: the value, then the lock.
        m.nodes
            .insert(Home::Domain(7).element("c", "rate"), "812.5\n".into());
        m.nodes
            .insert(Home::Domain(7).lock("c", "rate"), "0".into());
        let (s2, r) = sampler.sample(&mut m, &target(), Some(&s)).unwrap();
        assert_eq!((s2.handler, r.handler), (Some(812.5), Some(812.5)));
        assert!(
            !m.nodes.contains_key(&Home::Domain(7).lock("c", "rate")),
            "the next request cleared the answer"
        );
        // Text is no number.
        m.nodes
            .insert(Home::Domain(7).element("c", "rate"), "n/a".into());
        m.nodes
            .insert(Home::Domain(7).lock("c", "rate"), "0".into());
        let (s3, _) = sampler.sample(&mut m, &target(), Some(&s2)).unwrap();
        assert_eq!(s3.handler, None);
    }

    #[test]
    fn a_narrow_sampler_reads_only_what_it_was_asked_for() {
        let (mut m, _) = published();
        let beat_only = Sampler::reading(false, false, None);
        assert_eq!(beat_only.plan(&target()).reads(), [Home::Domain(7).beat()]);
        let (s, r) = beat_only.sample(&mut m, &target(), None).unwrap();
        assert_eq!((s.beat, s.heap, s.nics.len()), (Some(5_000), None, 0));
        let (_, r2) = beat_only.sample(&mut m, &target(), Some(&s)).unwrap();
        assert_eq!(
            (r.ram, r2.pps, r2.bps),
            (None, None, None),
            "not read, not guessed"
        );
        let heap = Sampler::reading(false, true, None);
        assert_eq!(heap.plan(&target()).reads().len(), 3);
        assert_eq!(
            heap.sample(&mut m, &target(), None).unwrap().1.ram,
            Some(25.0)
        );
        let handler = Sampler::reading(false, false, Some(("c", "rate")));
        let plan = handler.plan(&target());
        assert_eq!((plan.reads().len(), plan.ops().len()), (4, 3));
    }

    #[test]
    fn proc_stat_lines() {
        let line = "4242 (qemu-system-x86 (x)) S 1 4242 4242 0 -1 4194560 5000 0 0 0 \
                    250 50 0 0 20 0 3 0 987654 1000000 500 18446744073709551615";
        let t = ProcTimes::parse(line).unwrap();
        assert_eq!(
            t,
            ProcTimes {
                ticks: 300,
                start: 987654
            }
        );
        assert_eq!(ProcTimes::parse("4242 (x) S 1"), None);
        assert_eq!(ProcTimes::parse("garbage"), None);
        // This process is alive and has used some CPU.
        let me = ProcTimes::read(std::process::id() as i32).unwrap();
        assert!(me.start > 0);
        assert_eq!(ProcTimes::read(i32::MAX), None);
    }

    #[test]
    fn cpu_is_ticks_over_wall_time_and_a_new_process_resets_it() {
        let t0 = Instant::now();
        let hz = ticks_per_second();
        let a = Sample {
            at: t0,
            beat: None,
            nics: Vec::new(),
            heap: None,
            proc: Some(ProcTimes {
                ticks: 1000,
                start: 5,
            }),
            handler: None,
        };
        let b = Sample {
            at: t0 + Duration::from_secs(2),
            proc: Some(ProcTimes {
                ticks: 1000 + hz as u64,
                start: 5,
            }),
            ..a.clone()
        };
        let cpu = Metrics::between(Some(&a), &b).cpu.unwrap();
        assert!((cpu - 50.0).abs() < 1e-9, "{cpu}");
        let recycled = Sample {
            proc: Some(ProcTimes {
                ticks: 7,
                start: 99,
            }),
            ..b
        };
        assert_eq!(Metrics::between(Some(&a), &recycled).cpu, None);
    }

    #[test]
    fn liveness_counts_polls_without_a_new_beat() {
        let mut l = Liveness::new();
        assert_eq!(l.observe(None), 1, "no beat yet is a miss");
        assert_eq!(l.observe(Some(10)), 0);
        assert_eq!(l.observe(Some(10)), 1);
        assert_eq!(l.observe(Some(10)), 2);
        assert_eq!(l.observe(None), 3);
        assert_eq!(l.misses(), 3);
        assert_eq!(l.observe(Some(60)), 0);
    }

    #[test]
    fn beats_are_asked_for_at_half_the_interval() {
        assert_eq!(
            beat_period_for(Duration::from_millis(100)),
            Duration::from_millis(50)
        );
        assert_eq!(
            beat_period_for(Duration::from_millis(5)),
            Duration::from_millis(10)
        );
        assert_eq!(
            beat_period_for(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
        let mut m = Mem::default();
        ask_beat(&mut m, 3, Some(Duration::from_millis(50))).unwrap();
        assert_eq!(m.nodes[&Home::Domain(3).beat_ms()], "50");
        ask_beat(&mut m, 3, None).unwrap();
        assert_eq!(m.nodes[&Home::Domain(3).beat_ms()], "0");
        m.nodes.insert(Home::Domain(3).beat(), "1234".into());
        assert_eq!(read_beat(&mut m, 3).unwrap(), Some(1234));
        assert_eq!(read_beat(&mut m, 4).unwrap(), None);
    }
}

//! The controller's poll: every replica of a hop sampled in one pipelined
//! store round trip. What a replica's sample reads, and the arithmetic
//! that turns samples into liveness and load, are `mb_vm::sample`'s; this
//! module only batches the replicas' reads and keeps their history.

use mb_chain::replica::Metric;
use mb_store_client::clickos::{self, Op};
use mb_store_client::Store;
use mb_vm::sample::{Liveness, Metrics, Plan, Sample, Sampler, Target};
use std::collections::VecDeque;
use std::time::Duration;
use xenstore::client::Request;

/// NICs a hop's replica has.
const NICS: usize = mb_chain::vm::HOP_NICS;

/// The span rates are taken over: a CPU figure needs some clock ticks
/// (10 ms each) to be steady, and counters some packets.
const RATE_WINDOW: Duration = Duration::from_millis(500);

/// One replica's poll state.
pub struct Probe {
    sampler: Sampler,
    plan: Plan,
    metric: Option<Metric>,
    pid: Option<i32>,
    live: Liveness,
    /// Samples of the last [`RATE_WINDOW`] or so, oldest first.
    history: VecDeque<Sample>,
    /// Whether its first forwarded packet was seen.
    pub forwarded: bool,
}

/// What one poll found.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    /// The VM process exists (unknown counts as alive).
    pub alive: bool,
    /// Polls in a row whose heartbeat did not move (0: this one did).
    pub misses: u32,
    /// The metric, when it can be told yet.
    pub metric: Option<f64>,
}

impl Probe {
    /// A probe of replica `domid` (VM process `pid`) of a hop scaled on
    /// `metric`: it reads the heartbeat, and only what the metric needs.
    pub fn new(metric: Option<&Metric>, domid: u32, pid: Option<i32>) -> Probe {
        let handler = match metric {
            Some(Metric::Handler(h)) => clickos::split_handler(h).ok(),
            _ => None,
        };
        let sampler = Sampler::reading(
            matches!(metric, Some(Metric::Pps | Metric::Bps)),
            metric == Some(&Metric::Ram),
            handler,
        );
        let plan = sampler.plan(&Target {
            domid,
            pid,
            nics: NICS,
        });
        Probe {
            sampler,
            plan,
            metric: metric.cloned(),
            pid,
            live: Liveness::new(),
            history: VecDeque::new(),
            forwarded: false,
        }
    }

    /// Takes this poll's sample.
    fn take(&mut self, sample: Sample) -> Seen {
        let misses = self.live.observe(sample.beat);
        let alive = self.pid.is_none() || sample.proc.is_some();
        while self.history.len() >= 2
            && sample.at.saturating_duration_since(self.history[1].at) >= RATE_WINDOW
        {
            self.history.pop_front();
        }
        let m = Metrics::between(self.history.front(), &sample);
        self.history.push_back(sample);
        let metric = match &self.metric {
            None => None,
            Some(Metric::Pps) => m.pps,
            Some(Metric::Bps) => m.bps,
            Some(Metric::Cpu) => m.cpu,
            Some(Metric::Ram) => m.ram,
            Some(Metric::Handler(_)) => m.handler,
        };
        Seen {
            alive,
            misses,
            metric,
        }
    }
}

/// Polls many replicas in one pipelined store round trip; returns what
/// each one's poll found, in order.
pub fn poll_all(st: &mut Store, probes: &mut [&mut Probe]) -> mb_chain::Result<Vec<Seen>> {
    let mut reqs: Vec<Request> = Vec::new();
    for p in probes.iter() {
        reqs.extend(p.plan.reads().iter().map(|r| Request::Read(r)));
        reqs.extend(p.plan.ops().iter().map(|op| match op {
            Op::Rm(path) => Request::Rm(path),
            Op::Write(path, v) => Request::Write(path, v.as_bytes()),
        }));
    }
    let replies = st.pipeline(&reqs)?;
    let mut out = Vec::with_capacity(probes.len());
    let mut at = 0;
    let mut values: Vec<Option<&str>> = Vec::new();
    for p in probes.iter_mut() {
        let n = p.plan.reads().len();
        values.clear();
        values.extend(replies[at..at + n].iter().map(|r| {
            r.as_ref()
                .ok()
                .and_then(|r| std::str::from_utf8(r.bytes()).ok())
        }));
        at += n + p.plan.ops().len();
        let sample = p.sampler.absorb(&p.plan, &values);
        out.push(p.take(sample));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mb_store_client::clickos::NicCounters;
    use std::time::Instant;

    fn sample(at: Instant, beat: u64, rx: u64) -> Sample {
        Sample {
            at,
            beat: Some(beat),
            nics: vec![NicCounters {
                rx_packets: rx,
                ..NicCounters::default()
            }],
            heap: None,
            proc: None,
            handler: None,
        }
    }

    #[test]
    fn a_poll_reads_the_beat_and_only_what_the_metric_needs() {
        let reads = |m: Option<Metric>| Probe::new(m.as_ref(), 3, None).plan.reads().len();
        assert_eq!(reads(None), 1);
        assert_eq!(reads(Some(Metric::Cpu)), 1);
        assert_eq!(reads(Some(Metric::Ram)), 3);
        assert_eq!(
            reads(Some(Metric::Pps)),
            1 + NICS * NicCounters::FIELDS.len()
        );
        let h = Probe::new(Some(&Metric::Handler("c.rate".into())), 3, None);
        assert_eq!(h.plan.reads().len(), 4);
        assert_eq!(h.plan.ops().len(), 3, "the next request is posted");
    }

    #[test]
    fn rates_span_the_window_and_a_still_beat_is_a_miss() {
        let mut p = Probe::new(Some(&Metric::Pps), 3, None);
        let t0 = Instant::now();
        let first = p.take(sample(t0, 1000, 0));
        assert_eq!((first.misses, first.metric, first.alive), (0, None, true));
        // Ten polls 100 ms apart at 1000 packets per guest second.
        for i in 1..=10u64 {
            let at = t0 + Duration::from_millis(100 * i);
            let s = p.take(sample(at, 1000 + 100 * i, 100 * i));
            assert_eq!(s.misses, 0);
            assert_eq!(s.metric, Some(1000.0));
        }
        assert!(p.history.len() <= 7, "{} samples kept", p.history.len());
        let span = p.history.back().unwrap().at - p.history.front().unwrap().at;
        assert!(span >= RATE_WINDOW, "{span:?}");
        // The guest stops: its beat stands still.
        let at = t0 + Duration::from_millis(1100);
        assert_eq!(p.take(sample(at, 2000, 1000)).misses, 1);
        assert_eq!(p.take(sample(at, 2000, 1000)).misses, 2);
    }

    #[test]
    fn a_replica_whose_process_is_gone_is_not_alive() {
        let mut p = Probe::new(None, 3, Some(i32::MAX));
        let s = p.take(sample(Instant::now(), 1, 0));
        assert!(!s.alive);
        assert_eq!(s.metric, None);
    }
}

//! One replica's poll: a single pipelined store round trip that reads the
//! answer to the last health probe and the guest's NIC counters, and
//! posts the next probe; plus the VM process's state from `/proc`.

use clickos_proto::{parse_counter, Home};
use mb_chain::replica::Metric;
use mb_store_client::Store;
use std::time::Instant;
use xenstore::client::{ClientError, Reply, Request};

/// NICs a hop's replica has.
const NICS: usize = mb_chain::vm::HOP_NICS;

/// Counters older than this without change mean no traffic (the guest
/// publishes them about once a second while they move).
const STALE_MS: u128 = 2500;

/// The store nodes of one replica's poll.
pub struct Nodes {
    reads: Vec<String>,
    rms: [String; 2],
    write: String,
}

impl Nodes {
    /// The poll's requests: reads, then clearing the last answer, then
    /// the next probe.
    pub fn requests(&self) -> Vec<Request<'_>> {
        let mut v: Vec<Request> = self.reads.iter().map(|p| Request::Read(p)).collect();
        v.extend(self.rms.iter().map(|p| Request::Rm(p)));
        v.push(Request::Write(&self.write, b""));
        v
    }
}

/// Polls many replicas in one pipelined store round trip: `polls` are
/// (probe, domain, VM process); returns each one's sample, in order.
pub fn poll_all(
    st: &mut Store,
    polls: &mut [(&mut Probe, u32, Option<i32>)],
) -> mb_chain::Result<Vec<Sample>> {
    let nodes: Vec<Nodes> = polls.iter().map(|(p, d, _)| p.nodes(*d)).collect();
    let per: Vec<Vec<Request>> = nodes.iter().map(Nodes::requests).collect();
    let all: Vec<Request> = per.iter().flatten().cloned().collect();
    let replies = st.pipeline(&all)?;
    let mut out = Vec::new();
    let mut at = 0;
    for ((p, _, pid), reqs) in polls.iter_mut().zip(&per) {
        out.push(p.absorb(&replies[at..at + reqs.len()], *pid));
        at += reqs.len();
    }
    Ok(out)
}

/// One replica's poll state.
pub struct Probe {
    metric: Option<Metric>,
    handler: (String, String),
    posted: bool,
    /// Unanswered polls in a row.
    pub misses: u32,
    /// Whether its first forwarded packet was seen.
    pub forwarded: bool,
    /// The last change of its receive counters: (when, packets, bytes).
    last_change: Option<(Instant, u64, u64)>,
    rates: (f64, f64),
    cpu: Option<(Instant, u64)>,
    cpu_pct: Option<f64>,
}

/// What one poll found.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The VM process exists (unknown counts as alive).
    pub alive: bool,
    /// The previous probe went unanswered.
    pub missed: bool,
    /// The metric, when it can be told yet.
    pub metric: Option<f64>,
}

impl Probe {
    /// A fresh probe for a replica of a hop scaled on `metric`.
    pub fn new(metric: Option<&Metric>) -> Probe {
        Probe {
            metric: metric.cloned(),
            handler: super::probe_handler(metric),
            posted: false,
            misses: 0,
            forwarded: false,
            last_change: None,
            rates: (0.0, 0.0),
            cpu: None,
            cpu_pct: None,
        }
    }

    /// The store nodes a poll of domain `domid` reads, then removes, then
    /// writes (the next probe).
    pub fn nodes(&self, domid: u32) -> Nodes {
        let home = Home::Domain(domid);
        let (e, h) = (&self.handler.0, &self.handler.1);
        let (lock, err) = (home.lock(e, h), home.handler_error(e, h));
        let mut reads = vec![lock.clone(), err.clone(), home.element(e, h)];
        for i in 0..NICS {
            let d = home.nic(i);
            reads.push(format!("{d}/rx_packets"));
            reads.push(format!("{d}/rx_bytes"));
        }
        if self.metric == Some(Metric::Ram) {
            reads.push(home.heap_used());
            reads.push(home.heap_size());
        }
        Nodes {
            reads,
            rms: [lock, err],
            write: home.control_read(e, h),
        }
    }

    /// Takes a poll's replies (to [`Nodes::requests`], in order) for the
    /// replica whose VM process is `pid`.
    pub fn absorb(&mut self, replies: &[Result<Reply, ClientError>], pid: Option<i32>) -> Sample {
        let text = |i: usize| -> Option<String> {
            match replies.get(i) {
                Some(Ok(r)) => Some(String::from_utf8_lossy(r.bytes()).into_owned()),
                _ => None,
            }
        };
        let answered = text(0).is_some() || text(1).is_some();
        let missed = self.posted && !answered;
        if missed {
            self.misses += 1;
        } else if answered {
            self.misses = 0;
        }
        self.posted = true;
        let (mut pkts, mut bytes) = (0u64, 0u64);
        for i in 0..NICS {
            pkts += text(3 + 2 * i)
                .as_deref()
                .and_then(parse_counter)
                .unwrap_or(0);
            bytes += text(4 + 2 * i)
                .as_deref()
                .and_then(parse_counter)
                .unwrap_or(0);
        }
        self.rates(pkts, bytes);
        let alive = pid.is_none_or(alive);
        let metric = match &self.metric {
            None => None,
            Some(Metric::Pps) => Some(self.rates.0),
            Some(Metric::Bps) => Some(self.rates.1),
            Some(Metric::Cpu) => pid.and_then(|p| self.cpu(p)),
            Some(Metric::Ram) => {
                let n = |i: usize| text(3 + 2 * NICS + i).as_deref().and_then(parse_counter);
                match (n(0), n(1)) {
                    (Some(used), Some(size)) if size > 0 => Some(used as f64 * 100.0 / size as f64),
                    _ => None,
                }
            }
            Some(Metric::Handler(_)) => text(2)
                .filter(|_| text(0).is_some())
                .and_then(|v| v.trim().parse::<f64>().ok()),
        };
        Sample {
            alive,
            missed,
            metric,
        }
    }

    /// Receive rates from the counters' changes (they move about once a
    /// second), falling to zero when they stop moving.
    fn rates(&mut self, pkts: u64, bytes: u64) {
        let now = Instant::now();
        match self.last_change {
            Some((t, p, b)) if pkts != p || bytes != b => {
                let dt = now.duration_since(t).as_secs_f64().max(1e-3);
                if pkts >= p && bytes >= b {
                    self.rates = ((pkts - p) as f64 / dt, (bytes - b) as f64 * 8.0 / dt);
                }
                self.last_change = Some((now, pkts, bytes));
            }
            Some((t, ..)) if now.duration_since(t).as_millis() > STALE_MS => {
                self.rates = (0.0, 0.0)
            }
            Some(_) => {}
            None => self.last_change = Some((now, pkts, bytes)),
        }
    }

    /// Percent of one core the VM process used since the last sample
    /// (at least half a second apart, for a steady figure).
    fn cpu(&mut self, pid: i32) -> Option<f64> {
        let ticks = cpu_ticks(pid)?;
        let now = Instant::now();
        match self.cpu {
            Some((t, old)) if now.duration_since(t).as_millis() >= 500 => {
                // SAFETY: sysconf has no preconditions.
                let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
                let dt = now.duration_since(t).as_secs_f64();
                self.cpu_pct = Some(ticks.saturating_sub(old) as f64 / hz / dt * 100.0);
                self.cpu = Some((now, ticks));
            }
            Some(_) => {}
            None => self.cpu = Some((now, ticks)),
        }
        self.cpu_pct
    }
}

/// `utime + stime` of process `pid` (all its threads), in clock ticks.
fn cpu_ticks(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s.rfind(')').is_some_and(|i| !s[i + 2..].starts_with('Z')),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_uses_cpu_ticks() {
        let me = std::process::id() as i32;
        assert!(alive(me));
        assert!(!alive(-3));
        assert!(cpu_ticks(me).is_some());
    }

    #[test]
    fn rates_follow_counter_changes() {
        let mut p = Probe::new(Some(&Metric::Pps));
        p.rates(100, 6000);
        assert_eq!(p.rates, (0.0, 0.0));
        std::thread::sleep(std::time::Duration::from_millis(100));
        p.rates(200, 12000);
        assert!(p.rates.0 > 500.0 && p.rates.0 < 1001.0, "{:?}", p.rates);
        assert!((p.rates.1 / p.rates.0 - 480.0).abs() < 1.0, "{:?}", p.rates);
    }
}

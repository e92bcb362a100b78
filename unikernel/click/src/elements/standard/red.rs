//! `RED(MIN_THRESH, MAX_THRESH, MAX_P [, KEYWORDS])`: drops packets by
//! Random Early Detection, watching the queues it feeds or drains.
//!
//! # Ports
//! One input, one or two outputs; agnostic, but output 1 is push.
//!
//! # Processing
//! Keeps a running average of the summed length of its queues
//! (`avg += (len - avg) / 2^STABILITY` per packet, as Floyd and Jacobson)
//! and marks packets: never while the average is at most MIN_THRESH; with
//! a probability rising linearly from 0 to MAX_P between MIN_THRESH and
//! MAX_THRESH, spread out by the count of packets since the last mark
//! (`pb / (1 - count * pb)`); above MAX_THRESH always with `SIMPLE true`,
//! otherwise ("gentle" RED) with a probability rising from MAX_P to 1 at
//! twice MAX_THRESH. Marked packets leave on output 1 if it exists, else
//! they are dropped; a pull that meets a marked packet returns nothing.
//! Unless QUEUES names them, the queues are the nearest `Queue`s or
//! `FrontDropQueue`s downstream (push RED) or upstream (pull RED).
//!
//! # Keywords
//! * `MIN_THRESH`, `MAX_THRESH` (packets; MIN_THRESH <= MAX_THRESH).
//! * `MAX_P` (real, 0-1): marking probability at MAX_THRESH.
//! * `QUEUES` (space-separated element names): the queues to watch.
//! * `STABILITY` (0-16, default 4): the average's weight is 2^-STABILITY.
//! * `SIMPLE` (bool, default false): mark everything above MAX_THRESH.
//!
//! # Handlers
//! * `drops` (read): packets marked.
//! * `queues` (read): the watched queues' names.
//! * `avg_queue_size` (read): the running average.
//! * `min_thresh`, `max_thresh`, `max_p` (read): the parameters.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> RED(5, 50, 0.02) -> Queue(200) -> Unqueue -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::queue::Queue;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::elements::nat::rng::Rng;
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::{Ctx, PortKind, Router};

/// The `RED` class.
pub static CLASS: ElementClass = ElementClass {
    name: "RED",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, cx| {
        let min = args.required::<u32>("MIN_THRESH")?;
        let max = args.required::<u32>("MAX_THRESH")?;
        let max_p = args.required::<f64>("MAX_P")?;
        if max < min {
            return Err(ConfigError::out_of_range(
                "MAX_THRESH must be at least MIN_THRESH",
            ));
        }
        if !(0.0..=1.0).contains(&max_p) {
            return Err(ConfigError::out_of_range("MAX_P must be between 0 and 1"));
        }
        let queues = args.keyword::<String>("QUEUES")?;
        let stability = args.keyword_or::<u32>("STABILITY", 4)?;
        if stability > 16 {
            return Err(ConfigError::out_of_range(
                "STABILITY must be between 0 and 16",
            ));
        }
        Ok(Box::new(Red {
            min: f64::from(min),
            max: f64::from(max),
            max_p,
            weight: 1.0 / f64::from(1u32 << stability),
            simple: args.keyword_or("SIMPLE", false)?,
            queue_names: queues.map(|q| q.split_whitespace().map(String::from).collect()),
            queues: Vec::new(),
            avg: 0.0,
            count: 0,
            drops: 0,
            rng: Rng::from_name(cx.name()),
        }))
    },
};

fn is_queue(r: &Router, eid: usize) -> bool {
    matches!(r.info(eid).class.name, "Queue" | "FrontDropQueue")
}

/// The nearest queues reached from `eid`'s output 0 (`down`) or input 0
/// through elements of the same processing kind, not through queues.
fn nearest_queues(r: &Router, eid: usize, down: bool) -> Vec<usize> {
    let conns = &r.flat_config().connections;
    let mut found = Vec::new();
    let mut seen = alloc::vec![eid];
    let mut stack = alloc::vec![(eid, 0)];
    while let Some((e, port)) = stack.pop() {
        for c in conns {
            let (here, here_port, next) = if down {
                (c.from, c.from_port, c.to)
            } else {
                (c.to, c.to_port, c.from)
            };
            if here != e || here_port != port || seen.contains(&next) {
                continue;
            }
            seen.push(next);
            if is_queue(r, next) {
                found.push(next);
                continue;
            }
            let info = r.info(next);
            let (ports, kind) = if down {
                (&info.outputs, PortKind::Push)
            } else {
                (&info.inputs, PortKind::Pull)
            };
            for (p, k) in ports.iter().enumerate() {
                if *k == kind {
                    stack.push((next, p));
                }
            }
        }
    }
    found
}

/// A RED dropper.
pub struct Red {
    min: f64,
    max: f64,
    max_p: f64,
    weight: f64,
    simple: bool,
    queue_names: Option<Vec<String>>,
    queues: Vec<usize>,
    avg: f64,
    /// Packets since the last mark (Floyd and Jacobson's `count`).
    count: u32,
    drops: u64,
    rng: Rng,
}

impl Red {
    /// The marking probability for the current average, before `count`.
    fn base_probability(&self) -> f64 {
        if self.avg <= self.min {
            0.0
        } else if self.avg < self.max {
            self.max_p * (self.avg - self.min) / (self.max - self.min)
        } else if self.simple || self.avg >= 2.0 * self.max || self.max == 0.0 {
            1.0
        } else {
            self.max_p + (1.0 - self.max_p) * (self.avg - self.max) / self.max
        }
    }

    /// Updates the average and decides whether to mark the next packet.
    fn should_mark(&mut self, cx: &Ctx) -> bool {
        let len: usize = self
            .queues
            .iter()
            .filter_map(|&q| cx.with_element(q, |e, _| e.downcast_ref::<Queue>().map(Queue::len)))
            .flatten()
            .sum();
        self.avg += (len as f64 - self.avg) * self.weight;
        let pb = self.base_probability();
        if pb <= 0.0 {
            self.count = 0;
            return false;
        }
        self.count += 1;
        let pa = if pb >= 1.0 {
            1.0
        } else {
            let rest = 1.0 - f64::from(self.count) * pb;
            if rest <= pb {
                1.0
            } else {
                pb / rest
            }
        };
        // 53 random bits give a uniform value in [0, 1).
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        if u < pa {
            self.count = 0;
            true
        } else {
            false
        }
    }

    fn mark(&mut self, cx: &Ctx, p: Packet) {
        self.drops += 1;
        if cx.noutputs() > 1 {
            cx.push(1, p);
        } else {
            cx.kill(p);
        }
    }
}

impl Element for Red {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let r = cx.router();
        self.queues = match &self.queue_names {
            Some(names) => {
                let mut qs = Vec::new();
                for n in names {
                    let q = r.find(n).ok_or_else(|| {
                        ConfigError::initialize(format!("QUEUES: no element '{n}'"))
                    })?;
                    if !is_queue(r, q) {
                        return Err(ConfigError::initialize(format!(
                            "QUEUES: '{n}' is not a Queue"
                        )));
                    }
                    qs.push(q);
                }
                qs
            }
            None => nearest_queues(r, cx.eid(), cx.input_kind(0) == Some(PortKind::Push)),
        };
        if self.queues.is_empty() {
            return Err(ConfigError::initialize(
                "no nearby Queues; name them with QUEUES",
            ));
        }
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        if self.should_mark(cx) {
            self.mark(cx, p);
        } else {
            cx.push(0, p);
        }
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let p = cx.pull(0)?;
        if self.should_mark(cx) {
            self.mark(cx, p);
            None
        } else {
            Some(p)
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("drops"),
            HandlerDecl::read("queues"),
            HandlerDecl::read("avg_queue_size"),
            HandlerDecl::read("min_thresh"),
            HandlerDecl::read("max_thresh"),
            HandlerDecl::read("max_p"),
        ];
        H
    }

    fn read_handler(&self, cx: &Ctx, name: &str) -> String {
        match name {
            "drops" => self.drops.to_string(),
            "queues" => {
                let r = cx.router();
                let names: Vec<&str> = self
                    .queues
                    .iter()
                    .map(|&q| r.info(q).name.as_str())
                    .collect();
                names.join(" ")
            }
            "avg_queue_size" => format!("{:.3}", self.avg),
            "min_thresh" => self.min.to_string(),
            "max_thresh" => self.max.to_string(),
            "max_p" => self.max_p.to_string(),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{build_from_source, router_from_source, sink_contents};
    use alloc::format;

    #[test]
    fn finds_queues_and_drops_by_average() {
        // Nobody drains the queue, so its length grows by one per packet.
        let (r, _) = router_from_source(
            "Idle -> red :: RED(10, 20, 0.1, STABILITY 0) -> Null -> q :: Queue(1000) -> Discard;
             red[1] -> s :: TestSink;",
        );
        assert_eq!(r.read("red.queues").unwrap(), "q");
        let red = r.find("red").unwrap();
        for _ in 0..11 {
            r.inject(red, 0, Packet::new(60));
        }
        // With STABILITY 0 the average is the length: at most 10, no marks.
        assert_eq!(r.read("red.drops").unwrap(), "0");
        assert!(sink_contents(&r, "s").is_empty());
        for _ in 0..200 {
            r.inject(red, 0, Packet::new(60));
        }
        let drops: usize = r.read("red.drops").unwrap().parse().unwrap();
        assert_eq!(sink_contents(&r, "s").len(), drops);
        // At 40 (2 * MAX_THRESH) every packet is marked, so the queue never
        // grows past it; the rising probability stops it well above 20.
        let q: usize = r.read("q.length").unwrap().parse().unwrap();
        assert!((21..=40).contains(&q), "queue length {q}");
        assert_eq!(drops + q, 211);
    }

    #[test]
    fn pull_red_watches_upstream_queue_and_simple_mode() {
        let (r, _) = router_from_source(
            "Idle -> q :: Queue(100) -> red :: RED(0, 0, 0.5, SIMPLE true, STABILITY 0)
               -> Unqueue -> s :: TestSink;
             red[1] -> d :: TestSink;",
        );
        assert_eq!(r.read("red.queues").unwrap(), "q");
        assert_eq!(r.read("red.max_p").unwrap(), "0.5");
        let q = r.find("q").unwrap();
        for i in 0..5u8 {
            r.inject(q, 0, Packet::from_slice(&[i]));
        }
        r.run_until_idle();
        // Every packet pulled while others still wait is marked; the last
        // one leaves an empty queue behind and passes.
        assert_eq!(sink_contents(&r, "d").len(), 4);
        assert_eq!(sink_contents(&r, "s"), [(0, alloc::vec![4])]);
        assert_eq!(r.read("red.drops").unwrap(), "4");
    }

    #[test]
    fn argument_errors() {
        for (cfg, want) in [
            ("20, 10, 0.1", "MAX_THRESH"),
            ("1, 10, 1.5", "MAX_P"),
            ("1, 10, 0.1, STABILITY 40", "STABILITY"),
            ("1, 10, 0.1, QUEUES nosuch", "no element"),
            ("1, 10, 0.1, QUEUES c", "not a Queue"),
        ] {
            let src = format!("Idle -> RED({cfg}) -> c :: Counter -> Queue -> Discard;");
            match build_from_source(&src) {
                Ok(_) => panic!("{cfg:?} accepted"),
                Err(e) => {
                    let e = format!("{e}");
                    assert!(e.contains(want), "{cfg:?}: {e}");
                }
            }
        }
        match build_from_source("Idle -> RED(1, 10, 0.1) -> Discard;") {
            Ok(_) => panic!("RED without a queue accepted"),
            Err(e) => assert!(format!("{e}").contains("no nearby Queues")),
        }
    }
}

//! `Queue([CAPACITY])`: stores packets in a first-in first-out queue.
//!
//! # Ports
//! One push input. Output 0 is pulled; optional output 1 is pushed and gets
//! the packets the queue drops.
//!
//! # Processing
//! A packet arriving while the queue holds CAPACITY packets (default 1000)
//! is dropped (or pushed to output 1). Pulls take the oldest packet. When
//! the queue goes from empty to non-empty it wakes the tasks that pull from
//! it (Click's empty notification), so those can sleep while it is empty.
//! The first drop prints one `overflow` message.
//!
//! As in Click, room for CAPACITY packets is allocated when the queue is
//! configured, so a capacity the memory cannot hold is a configuration
//! error and a running queue never allocates per packet.
//!
//! # Keywords
//! * `CAPACITY` (unsigned): maximum length.
//!
//! # Handlers
//! * `length` (read): packets queued now.
//! * `highwater_length` (read): most packets ever queued at once.
//! * `drops` (read): packets dropped so far (full, or, after `capacity`
//!   was raised, no memory to grow).
//! * `capacity` (read/write): the capacity; shrinking drops the newest
//!   packets that no longer fit; growing reserves the room if it can
//!   (otherwise the queue grows as packets come, dropping those it has no
//!   memory for).
//! * `reset_counts` (write): zeroes `drops`; `highwater_length` becomes the
//!   current length.
//! * `reset` (write): drops every queued packet (to output 1 if connected).
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> q :: Queue(100) -> ToDump(out.pcap);
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::notify::downstream_pullers;
use crate::confparse::{parse_written, Args};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::Ctx;

/// The `Queue` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Queue",
    ports: "1/1-2",
    processing: "h/lh",
    phase: 0,
    make: |args, _cx| Ok(Box::new(Queue::configure(args, false)?)),
};

/// A FIFO of packets; also `FrontDropQueue` (`front_drop`).
pub struct Queue {
    q: VecDeque<Packet>,
    capacity: usize,
    highwater: usize,
    drops: u64,
    front_drop: bool,
    /// Tasks to wake when the queue stops being empty.
    pullers: Vec<usize>,
}

impl Queue {
    /// Reads `[CAPACITY]`.
    pub(crate) fn configure(args: &mut Args, front_drop: bool) -> Result<Queue, ConfigError> {
        let capacity = args.optional::<u32>("CAPACITY")?.unwrap_or(1000) as usize;
        let mut q = VecDeque::new();
        if !crate::fallible::reserve_deque(&mut q, capacity) {
            return Err(ConfigError::resource(alloc::format!(
                "out of memory for CAPACITY {capacity} (room for {capacity} packets)"
            )));
        }
        Ok(Queue {
            q,
            capacity,
            highwater: 0,
            drops: 0,
            front_drop,
            pullers: Vec::new(),
        })
    }

    /// True when no packet is queued.
    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Packets queued.
    pub fn len(&self) -> usize {
        self.q.len()
    }

    fn drop_packet(&mut self, cx: &Ctx, p: Packet) {
        if self.drops == 0 && self.capacity > 0 {
            cx.log("overflow");
        }
        self.drops += 1;
        if cx.noutputs() > 1 {
            cx.push(1, p);
        } else {
            cx.kill(p);
        }
    }

    fn wake_pullers(&self, cx: &Ctx) {
        for &e in &self.pullers {
            cx.wake(e);
        }
    }
}

impl Element for Queue {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.pullers = downstream_pullers(cx.router(), cx.eid(), 0);
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        if self.q.len() >= self.capacity {
            if !self.front_drop || self.capacity == 0 {
                self.drop_packet(cx, p);
                return;
            }
            if let Some(old) = self.q.pop_front() {
                self.drop_packet(cx, old);
            }
        }
        if !crate::fallible::reserve_deque(&mut self.q, 1) {
            self.drop_packet(cx, p);
            return;
        }
        self.q.push_back(p);
        if self.q.len() > self.highwater {
            self.highwater = self.q.len();
        }
        if self.q.len() == 1 {
            self.wake_pullers(cx);
        }
    }

    fn pull(&mut self, _cx: &Ctx, _port: usize) -> Option<Packet> {
        self.q.pop_front()
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("length"),
            HandlerDecl::read("highwater_length"),
            HandlerDecl::read("drops"),
            HandlerDecl::rw("capacity"),
            HandlerDecl::write("reset_counts"),
            HandlerDecl::write("reset"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "length" => self.q.len().to_string(),
            "highwater_length" => self.highwater.to_string(),
            "drops" => self.drops.to_string(),
            "capacity" => self.capacity.to_string(),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "capacity" => {
                let c = parse_written::<u32>(value)? as usize;
                // As Click's live reconfiguration: the oldest packets stay.
                while self.q.len() > c {
                    if let Some(p) = self.q.pop_back() {
                        cx.kill(p);
                    }
                }
                // Best effort: without the room now, the queue grows (or
                // drops) as packets come.
                let more = c - self.q.len();
                let _ = crate::fallible::reserve_deque(&mut self.q, more);
                self.capacity = c;
            }
            "reset_counts" => {
                self.drops = 0;
                self.highwater = self.q.len();
            }
            _ => {
                while let Some(p) = self.q.pop_front() {
                    if cx.noutputs() > 1 {
                        cx.push(1, p);
                    } else {
                        cx.kill(p);
                    }
                }
            }
        }
        Ok(())
    }

    fn take_state(&mut self, old: &mut dyn Element, cx: &Ctx) {
        let Some(o) = old.downcast_mut::<Queue>() else {
            return;
        };
        if !self.q.is_empty() {
            return;
        }
        while let Some(p) = o.q.pop_front() {
            if self.q.len() < self.capacity {
                self.q.push_back(p);
            } else {
                cx.kill(p);
            }
        }
        self.highwater = self.q.len();
        if !self.q.is_empty() {
            self.wake_pullers(cx);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use alloc::vec;
    use alloc::vec::Vec;

    fn fill(r: &crate::Router, n: u8) {
        for i in 0..n {
            r.inject(0, 0, Packet::from_slice(&[i]));
        }
    }

    fn drained(r: &crate::Router) -> Vec<u8> {
        sink_contents(r, "s")
            .iter()
            .filter(|(p, _)| *p == 0)
            .map(|(_, d)| d[0])
            .collect()
    }

    fn graph(class: &str, cfg: &str, drops_out: bool) -> crate::Router {
        let mut conns = vec![(0, 0, 1, 0), (1, 0, 2, 0)];
        if drops_out {
            conns.push((0, 1, 2, 1));
        }
        router(fed(
            &[
                ("q", class, cfg),
                ("u", "Unqueue", "ACTIVE false, BURST -1"),
                ("s", "TestSink", ""),
            ],
            &conns,
        ))
        .0
    }

    #[test]
    fn drops_new_arrivals_when_full_and_tracks_highwater() {
        let r = graph("Queue", "3", true);
        fill(&r, 5);
        assert_eq!(r.read("q.length").unwrap(), "3");
        assert_eq!(r.read("q.highwater_length").unwrap(), "3");
        assert_eq!(r.read("q.drops").unwrap(), "2");
        assert_eq!(r.read("q.capacity").unwrap(), "3");
        // Dropped packets went out of output 1.
        assert_eq!(sink_contents(&r, "s"), vec![(1, vec![3]), (1, vec![4])]);
        r.write("u.active", "true").unwrap();
        r.run_until_idle();
        assert_eq!(drained(&r), [0, 1, 2]);
        assert_eq!(r.read("q.length").unwrap(), "0");
        assert_eq!(r.read("q.highwater_length").unwrap(), "3");
        r.write("q.reset_counts", "").unwrap();
        assert_eq!(r.read("q.drops").unwrap(), "0");
        assert_eq!(r.read("q.highwater_length").unwrap(), "0");
    }

    #[test]
    fn default_capacity_capacity_handler_and_reset() {
        let r = graph("Queue", "", false);
        assert_eq!(r.read("q.capacity").unwrap(), "1000");
        r.write("u.active", "false").unwrap();
        fill(&r, 4);
        r.write("q.capacity", "2").unwrap();
        assert_eq!(r.read("q.length").unwrap(), "2");
        fill(&r, 1);
        assert_eq!(r.read("q.drops").unwrap(), "1");
        assert!(r.write("q.capacity", "lots").is_err());
        r.write("q.reset", "").unwrap();
        assert_eq!(r.read("q.length").unwrap(), "0");
        for cfg in ["x", "-1", "1, 2"] {
            assert!(
                build(fed(
                    &[
                        ("q", "Queue", cfg),
                        ("u", "Unqueue", ""),
                        ("s", "TestSink", "")
                    ],
                    &[(0, 0, 1, 0), (1, 0, 2, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
    }

    #[test]
    fn front_drop_queue_drops_oldest() {
        let r = graph("FrontDropQueue", "3", true);
        fill(&r, 5);
        assert_eq!(r.read("q.drops").unwrap(), "2");
        assert_eq!(r.read("q.length").unwrap(), "3");
        assert_eq!(sink_contents(&r, "s"), vec![(1, vec![0]), (1, vec![1])]);
        r.write("u.active", "true").unwrap();
        r.run_until_idle();
        assert_eq!(drained(&r), [2, 3, 4]);
    }

    #[test]
    fn overflow_is_reported_once() {
        let (r, host) = router(fed(
            &[
                ("q", "Queue", "1"),
                ("u", "Unqueue", "ACTIVE false"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0)],
        ));
        fill(&r, 4);
        let logs = host.logs.borrow();
        assert_eq!(
            logs.iter().filter(|l| l.contains("overflow")).count(),
            1,
            "{logs:?}"
        );
    }

    #[test]
    fn idle_puller_sleeps_and_is_woken() {
        let r = graph("Queue", "", false);
        r.write("u.active", "true").unwrap();
        // Nothing queued: the Unqueue runs once, finds the queue empty and
        // unschedules itself, so the router goes idle.
        assert!(!r.run_until_idle());
        assert_eq!(r.step(), crate::router::Step::Idle(None));
        fill(&r, 2);
        assert_eq!(r.step(), crate::router::Step::Worked);
        r.run_until_idle();
        assert_eq!(drained(&r), [0, 1]);
    }

    #[test]
    fn a_capacity_that_does_not_fit_in_memory_is_a_config_error() {
        let e = build(fed(
            &[("q", "Queue", "4000000000"), ("d", "Discard", "")],
            &[(0, 0, 1, 0)],
        ))
        .err()
        .expect("no memory for 4e9 packets");
        let e = alloc::format!("{e}");
        assert!(e.contains("out of memory for CAPACITY 4000000000"), "{e}");
    }

    #[test]
    fn out_of_memory_after_raising_the_capacity_is_a_counted_drop() {
        let r = graph("Queue", "1", false);
        r.inject(0, 0, Packet::new(1));
        crate::fallible::fail_in_tests(true);
        r.write("q.capacity", "5").unwrap();
        crate::fallible::fail_in_tests(false);
        assert_eq!(r.read("q.capacity").unwrap(), "5");
        assert_eq!(r.read("q.length").unwrap(), "1");
        // The room reserved for one packet may hold a few; past it, each
        // packet needing memory is dropped and counted.
        crate::fallible::fail_in_tests(true);
        for _ in 0..4 {
            r.inject(0, 0, Packet::new(1));
        }
        crate::fallible::fail_in_tests(false);
        let held: usize = r.read("q.length").unwrap().parse().unwrap();
        let drops: usize = r.read("q.drops").unwrap().parse().unwrap();
        assert!(drops > 0 && held + drops == 5 && held < 5, "{held} {drops}");
        r.inject(0, 0, Packet::new(1));
        assert_eq!(r.read("q.length").unwrap(), alloc::format!("{}", held + 1));
    }
}

//! `Counter([KEYWORDS])`: counts packets and bytes passing through.
//!
//! # Ports
//! One input, one output; agnostic (push or pull, like its neighbours).
//!
//! # Processing
//! Every packet leaves unchanged after being counted. In pull mode a pull on
//! the output pulls from the input.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `count` (read): packets counted.
//! * `byte_count` (read): bytes counted.
//! * `rate` (read): recent arrival rate in packets per second (an
//!   exponentially weighted average over about one second).
//! * `byte_rate` (read): the same in bytes per second.
//! * `reset` (write): zeroes the counts and rates.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> c :: Counter -> Discard;
//! // mbctl run x.click -h c.count
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::batch::Batch;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::Ctx;
use crate::state::{self, Role, StateError, StateInfo, StatefulElement};
use crate::time::Timestamp;

/// The `Counter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Counter",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(Counter::default())),
};

/// Exponentially weighted rate over ~1 s, updated once per elapsed
/// millisecond tick (Click's `RateEWMA` at userlevel).
#[derive(Default, Clone, Debug)]
pub struct Rate {
    /// Events seen in the current tick.
    pending: u64,
    /// Tick of `pending`.
    tick: i64,
    /// Average events per tick, scaled by 2^16.
    avg: u64,
    started: bool,
}

impl Rate {
    const SCALE: u32 = 16;
    /// 1/1024 weight per 1 ms tick: a time constant of about one second.
    const STABILITY: u32 = 10;

    /// Records `n` events at `now`.
    pub fn add(&mut self, now: Timestamp, n: u64) {
        self.add_at(now.msec(), n);
    }

    /// Records `n` events at millisecond tick `tick` ([`Timestamp::msec`]).
    #[inline]
    pub fn add_at(&mut self, tick: i64, n: u64) {
        if tick != self.tick || !self.started {
            self.roll(tick);
        }
        self.pending += n;
    }

    fn roll(&mut self, tick: i64) {
        if !self.started {
            self.started = true;
            self.tick = tick;
            return;
        }
        let mut elapsed = tick - self.tick;
        if elapsed <= 0 {
            return;
        }
        // The first elapsed tick folds in what was counted; the others were
        // empty ticks.
        self.avg = Self::fold(self.avg, self.pending << Self::SCALE);
        self.pending = 0;
        elapsed -= 1;
        for _ in 0..elapsed.min(20_000) {
            self.avg = Self::fold(self.avg, 0);
        }
        self.tick = tick;
    }

    fn fold(avg: u64, sample: u64) -> u64 {
        let w = Self::STABILITY;
        avg - (avg >> w) + (sample >> w)
    }

    /// Events per second at `now`.
    pub fn per_second(&mut self, now: Timestamp) -> u64 {
        self.roll(now.msec());
        (self.avg * 1000) >> Self::SCALE
    }
}

/// Counter's handlers, which AverageCounter shares.
pub const HANDLERS: &[HandlerDecl] = &[
    HandlerDecl::read("count"),
    HandlerDecl::read("byte_count"),
    HandlerDecl::read("rate"),
    HandlerDecl::read("byte_rate"),
    HandlerDecl::write("reset"),
];

/// Counts packets and bytes.
#[derive(Default)]
pub struct Counter {
    count: u64,
    bytes: u64,
    rate: Rate,
    byte_rate: Rate,
}

impl Counter {
    #[inline(always)]
    fn note(&mut self, cx: &Ctx, p: &Packet) {
        self.count += 1;
        self.bytes += p.len() as u64;
        // Millisecond ticks need no fresh clock reading per packet.
        let tick = cx.recent().msec();
        self.rate.add_at(tick, 1);
        self.byte_rate.add_at(tick, p.len() as u64);
    }

    /// Packets counted.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl Element for Counter {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.note(cx, &p);
        cx.push(0, p);
    }

    fn push_batch(&mut self, cx: &Ctx, _port: usize, b: Batch) {
        let mut bytes = 0;
        for p in b.iter() {
            bytes += p.len() as u64;
        }
        let n = b.len() as u64;
        self.count += n;
        self.bytes += bytes;
        let tick = cx.recent().msec();
        self.rate.add_at(tick, n);
        self.byte_rate.add_at(tick, bytes);
        cx.push_batch(0, b);
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let p = cx.pull(0)?;
        self.note(cx, &p);
        Some(p)
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        HANDLERS
    }

    fn read_handler(&self, cx: &Ctx, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "byte_count" => self.bytes.to_string(),
            "rate" => self.rate.clone().per_second(cx.now()).to_string(),
            "byte_rate" => self.byte_rate.clone().per_second(cx.now()).to_string(),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, _value: &str) -> Result<(), ConfigError> {
        *self = Counter::default();
        Ok(())
    }

    fn take_state(&mut self, old: &mut dyn Element, _cx: &Ctx) {
        if let Some(o) = old.downcast_mut::<Counter>() {
            core::mem::swap(self, o);
        }
    }

    fn state(&mut self) -> Option<&mut dyn StatefulElement> {
        Some(self)
    }
}

/// Format version of the exported counts.
const STATE_VERSION: u16 = 1;

/// The counts as they travel: (packets, bytes). Rates are recent
/// observations of one instance and start afresh.
type Counts = (u64, u64);

impl StatefulElement for Counter {
    fn info(&self) -> StateInfo {
        StateInfo {
            version: STATE_VERSION,
            per_flow: None,
            shared_supporting: false,
            shared_reporting: true,
            events: false,
        }
    }

    fn export_shared(&self, role: Role) -> Vec<u8> {
        match role {
            Role::Reporting => state::encode("Counter", STATE_VERSION, &(self.count, self.bytes)),
            Role::Supporting => Vec::new(),
        }
    }

    fn import_shared(
        &mut self,
        _role: Role,
        blob: &[u8],
        _now: Timestamp,
    ) -> Result<(), StateError> {
        let (n, b): Counts = state::decode("Counter", STATE_VERSION, blob)?;
        self.count += n;
        self.bytes += b;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::state::{self, Chunks, FlowFilter, Parts, StateError};
    use crate::testing::router_from_source;

    /// A router whose Counter (element 0) has seen `n` 60-byte packets.
    fn counted(n: usize) -> crate::router::Router {
        let (r, _) = router_from_source("c :: Counter -> TestSink; Idle -> c;");
        assert_eq!(r.find("c"), Some(0));
        for _ in 0..n {
            r.inject(0, 0, Packet::new(60));
        }
        r
    }

    #[test]
    fn counts_are_shared_reporting_state_merged_by_adding() {
        let a = counted(3);
        let b = counted(2);
        let chunks = a
            .with_element(0, |e, _| {
                state::get(
                    e.state().unwrap(),
                    "Counter",
                    &FlowFilter::all(),
                    Parts::ALL,
                )
            })
            .unwrap()
            .unwrap();
        assert!(chunks.flows.is_empty() && chunks.supporting.is_empty());
        let back = Chunks::from_bytes(&chunks.to_bytes()).unwrap();
        let now = b.now();
        let put = |c: &Chunks| {
            b.with_element(0, |e, _| state::put(e.state().unwrap(), "Counter", c, now))
                .unwrap()
        };
        assert_eq!(put(&back).unwrap().shared, 1);
        assert_eq!(b.read("c.count").unwrap(), "5");
        assert_eq!(b.read("c.byte_count").unwrap(), "300");
        // A clone carries no reporting state.
        let clone = a
            .with_element(0, |e, _| {
                state::get(
                    e.state().unwrap(),
                    "Counter",
                    &FlowFilter::all(),
                    Parts::CLONE,
                )
            })
            .unwrap()
            .unwrap();
        assert!(clone.is_empty());
        // Another version is refused with nothing added.
        let mut v2 = back.clone();
        v2.version = 2;
        assert!(matches!(put(&v2), Err(StateError::WrongKind { .. })));
        assert_eq!(b.read("c.count").unwrap(), "5");
    }
}

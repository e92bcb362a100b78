//! `ToDevice(DEVNAME [, BURST, KEYWORDS])`: sends packets out of a NIC.
//!
//! DEVNAME is the NIC's number (`ToDevice(1)`, as in ClickOS) or a name
//! ending in it (`eth1`). Packets wait in the element's own queue of at most
//! `QUEUE` packets until the main loop hands them to the device at the end
//! of the poll, in order and without a copy; a packet that finds the queue
//! full is dropped and counted.
//!
//! # Ports
//! One input, agnostic; no outputs.
//!
//! # Processing
//! In push mode, packets are queued as they arrive. In pull mode (fed by a
//! `Queue`), a task pulls up to `BURST` packets per run while the device
//! queue has room, and sleeps while every upstream queue is empty.
//!
//! # Keywords
//! * `BURST` (integer, default 32; also the second positional argument, as
//!   in ClickOS): most packets pulled per task run.
//! * `QUEUE` (integer, default 256): packets waiting for the device.
//! * `QUIET`, `DEBUG` (bool), `METHOD` (word): accepted for compatibility.
//!
//! # Handlers
//! * `count` (read): packets handed to the device.
//! * `drops` (read): packets dropped because the queue was full.
//! * `reset_counts` (write): zeroes both.
//!
//! # Example
//! ```text
//! FromDevice(0) -> Queue(1024) -> ToDevice(1, 32);
//! ```

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;

use click::confparse::Word;
use click::element::{Element, ElementClass, HandlerDecl};
use click::elements::device::DeviceCounts;
use click::elements::standard::notify::UpstreamSignal;
use click::error::ConfigError;
use click::router::PortKind;
use click::{Batch, Ctx, Packet};

use super::{bad_devname, parse_devname};

/// The `ToDevice` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ToDevice",
    ports: "1/0",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let dev: Word = args.required("DEVNAME")?;
        let nic = parse_devname(&dev.0).ok_or_else(|| bad_devname(&dev.0))?;
        let burst: usize = args.optional("BURST")?.unwrap_or(32);
        let limit: usize = args.keyword_or("QUEUE", 256)?;
        for k in ["QUIET", "DEBUG"] {
            let _: Option<bool> = args.keyword(k)?;
        }
        let _: Option<Word> = args.keyword("METHOD")?;
        if burst == 0 {
            return Err("BURST must be positive".into());
        }
        if limit == 0 {
            return Err("QUEUE must be positive".into());
        }
        // Room for the whole queue now, so sending never allocates.
        let mut outbox = VecDeque::new();
        if !click::fallible::reserve_deque(&mut outbox, limit) {
            return Err(ConfigError::resource(alloc::format!(
                "out of memory for QUEUE {limit}"
            )));
        }
        Ok(Box::new(ToDevice {
            nic,
            burst,
            limit,
            outbox,
            pull: false,
            signal: UpstreamSignal::default(),
            counts: DeviceCounts::default(),
            new_drops: 0,
        }))
    },
};

/// Sends packets on one NIC.
pub struct ToDevice {
    nic: usize,
    burst: usize,
    limit: usize,
    outbox: VecDeque<Packet>,
    pull: bool,
    signal: UpstreamSignal,
    counts: DeviceCounts,
    /// Drops not yet reported to the NIC's counters.
    new_drops: u64,
}

impl ToDevice {
    /// The NIC it sends on.
    pub fn nic(&self) -> usize {
        self.nic
    }

    /// Packets waiting for the device.
    pub fn pending(&self) -> usize {
        self.outbox.len()
    }

    /// Takes the oldest waiting packet (the main loop sends it).
    pub fn next_packet(&mut self) -> Option<Packet> {
        let p = self.outbox.pop_front()?;
        self.counts.count += 1;
        Some(p)
    }

    /// Drops since the last call (for the NIC's counters).
    pub fn take_new_drops(&mut self) -> u64 {
        core::mem::take(&mut self.new_drops)
    }

    /// Puts back a packet the device did not take, at the front.
    pub fn unsend(&mut self, p: Packet) {
        self.counts.count -= 1;
        self.outbox.push_front(p);
    }

    fn enqueue(&mut self, cx: &Ctx, p: Packet) {
        if self.outbox.len() < self.limit {
            self.outbox.push_back(p);
        } else {
            self.counts.drops += 1;
            self.new_drops += 1;
            cx.kill(p);
        }
    }
}

impl Element for ToDevice {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        // Reserved now so the fast path never grows it.
        self.outbox.reserve_exact(self.limit);
        self.pull = cx.input_kind(0) == Some(PortKind::Pull);
        if self.pull {
            self.signal = UpstreamSignal::new(cx, 0);
            cx.schedule();
        }
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.enqueue(cx, p);
    }

    fn push_batch(&mut self, cx: &Ctx, _port: usize, batch: Batch) {
        if self.outbox.len() + batch.len() <= self.limit {
            // Room for all: no limit test per packet.
            self.outbox.extend(batch);
            return;
        }
        for p in batch {
            self.enqueue(cx, p);
        }
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        if !self.pull {
            cx.unschedule();
            return false;
        }
        let room = self.limit.saturating_sub(self.outbox.len()).min(self.burst);
        let mut n = 0;
        while n < room {
            match cx.pull(0) {
                Some(p) => {
                    self.outbox.push_back(p);
                    n += 1;
                }
                None => break,
            }
        }
        // With the device queue full, stay scheduled: the loop drains it
        // after this step and the next run pulls again.
        if n < room && !self.signal.active(cx) {
            cx.unschedule();
        }
        n > 0
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        DeviceCounts::HANDLERS
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        self.counts.read(name)
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, _value: &str) -> Result<(), ConfigError> {
        self.counts.reset();
        Ok(())
    }

    fn take_state(&mut self, old: &mut dyn Element, _cx: &Ctx) {
        if let Some(old) = old.downcast_mut::<ToDevice>() {
            self.counts = old.counts;
            // Packets the old router queued for the same NIC still go out.
            if old.nic == self.nic {
                while self.outbox.len() < self.limit {
                    let Some(p) = old.outbox.pop_front() else {
                        break;
                    };
                    self.outbox.push_back(p);
                }
            }
        }
    }
}

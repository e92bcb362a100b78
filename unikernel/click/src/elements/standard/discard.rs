//! `Discard`: drops every packet it receives.
//!
//! # Ports
//! One input, no outputs; agnostic. In pull mode it pulls from its input
//! whenever scheduled.
//!
//! # Processing
//! Frees each packet (recycling its buffer).
//!
//! # Keywords
//! * `ACTIVE` (bool, default true): in pull mode, whether it pulls.
//!
//! # Handlers
//! * `count` (read): packets discarded.
//! * `reset_counts` (write): zeroes `count`.
//! * `active` (read/write): the `ACTIVE` setting.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::{String, ToString};

use super::notify::UpstreamSignal;
use crate::batch::Batch;
use crate::confparse::parse_written;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::{Ctx, PortKind};

/// The `Discard` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Discard",
    ports: "1/0",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let active = args.keyword_or("ACTIVE", true)?;
        Ok(Box::new(Discard {
            count: 0,
            active,
            signal: UpstreamSignal::default(),
        }))
    },
};

/// Drops packets.
pub struct Discard {
    count: u64,
    active: bool,
    signal: UpstreamSignal,
}

impl Element for Discard {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        if cx.input_kind(0) == Some(PortKind::Pull) {
            self.signal = UpstreamSignal::new(cx, 0);
            if self.active {
                cx.schedule();
            }
        }
        Ok(())
    }

    #[inline]
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.count += 1;
        cx.kill(p);
    }

    fn push_batch(&mut self, cx: &Ctx, _port: usize, b: Batch) {
        self.count += b.len() as u64;
        cx.kill_batch(b);
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        // Queues wake their pullers whether or not they are active.
        if !self.active {
            cx.unschedule();
            return false;
        }
        let mut worked = false;
        for _ in 0..crate::batch::BATCH_MAX {
            match cx.pull(0) {
                Some(p) => {
                    self.count += 1;
                    cx.kill(p);
                    worked = true;
                }
                None => {
                    if self.signal.known_nonempty(cx) {
                        worked = true;
                    } else if !self.signal.active(cx) {
                        cx.unschedule();
                    }
                    break;
                }
            }
        }
        worked
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("count"),
            HandlerDecl::write("reset_counts"),
            HandlerDecl::rw("active"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "active" => self.active.to_string(),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "reset_counts" => self.count = 0,
            _ => {
                self.active = parse_written(value)?;
                if self.active && cx.input_kind(0) == Some(PortKind::Pull) {
                    cx.schedule();
                } else {
                    cx.unschedule();
                }
            }
        }
        Ok(())
    }
}

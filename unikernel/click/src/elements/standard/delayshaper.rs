//! `DelayShaper(DELAY)`: holds each pulled packet until DELAY after its
//! timestamp.
//!
//! # Ports
//! One pull input, one pull output.
//!
//! # Processing
//! A pull takes a packet from the input (stamping it with the current
//! time if it has no timestamp) and holds it until its timestamp plus
//! DELAY; pulls before then return nothing, and a timer wakes the
//! pulling elements when it is due. On output the packet's timestamp is
//! the time it left. Usually after a `Queue` and a `SetTimestamp`.
//!
//! # Keywords
//! * `DELAY` (time): how long to hold packets.
//!
//! # Handlers
//! * `delay` (read/write): DELAY, in seconds.
//!
//! # Example
//! ```text
//! FromDevice(eth0) -> SetTimestamp -> Queue -> DelayShaper(50ms) -> ToDevice(eth1);
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::notify::downstream_pullers;
use crate::confparse::{parse_written, Duration};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `DelayShaper` class.
pub static CLASS: ElementClass = ElementClass {
    name: "DelayShaper",
    ports: "1/1",
    processing: "l/l",
    phase: 0,
    make: |args, _cx| {
        let Duration(delay) = args.required("DELAY")?;
        Ok(Box::new(DelayShaper {
            delay,
            held: None,
            closed: false,
            pullers: Vec::new(),
        }))
    },
};

/// Delays pulled packets.
pub struct DelayShaper {
    delay: Timestamp,
    held: Option<Packet>,
    /// Holding a packet that is not due yet.
    closed: bool,
    pullers: Vec<usize>,
}

impl DelayShaper {
    /// True while the held packet is not due: pullers may sleep until the
    /// shaper's timer wakes them.
    pub fn closed(&self) -> bool {
        self.closed
    }
}

impl Element for DelayShaper {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.pullers = downstream_pullers(cx.router(), cx.eid(), 0);
        Ok(())
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        if self.held.is_none() {
            let mut p = cx.pull(0)?;
            if p.timestamp() == Timestamp::ZERO {
                p.set_timestamp(cx.now());
            }
            p.set_timestamp(p.timestamp() + self.delay);
            self.held = Some(p);
        }
        let due = self.held.as_ref().map(|p| p.timestamp())?;
        let now = cx.now();
        if due <= now {
            let mut p = self.held.take()?;
            p.set_timestamp(now);
            return Some(p);
        }
        cx.set_timer(0, due);
        self.closed = true;
        None
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        self.closed = false;
        for &e in &self.pullers {
            cx.wake(e);
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("delay")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.delay.to_string()
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), ConfigError> {
        self.delay = parse_written::<Duration>(value)?.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::router_from_source;
    use crate::time::Timestamp;

    #[test]
    fn holds_packets_for_the_delay() {
        let (r, _) = router_from_source(
            "Idle -> q :: Queue -> d :: DelayShaper(1s) -> u :: Unqueue -> c :: Counter -> Discard;",
        );
        let start = r.now();
        let mut p = Packet::from_slice(&[1]);
        p.set_timestamp(start);
        r.inject(r.find("q").unwrap(), 0, p);
        // Simulated time jumps to the shaper's timer, and not before.
        r.run_until_idle();
        assert_eq!(r.read("c.count").unwrap(), "1");
        assert!(r.now() >= start + Timestamp::from_msec(1000));
        assert!(r.now() < start + Timestamp::from_msec(1100));
        assert_eq!(r.read("d.delay").unwrap(), "1.000000");
    }
}

//! `LinkUnqueue(LATENCY, BANDWIDTH)`: emulates a point-to-point link.
//!
//! # Ports
//! One pull input, one push output.
//!
//! # Processing
//! Pulls packets as fast as a link of BANDWIDTH can send them and pushes
//! each out LATENCY after its last byte was sent: a packet of L bytes
//! occupies the link for L/BANDWIDTH, and packets queue (upstream) while
//! the link is busy. Packets in flight are held inside the element.
//!
//! # Keywords
//! * `LATENCY` (time): the link's propagation delay.
//! * `BANDWIDTH` (bandwidth): the link's rate.
//!
//! # Handlers
//! * `latency`, `bandwidth` (read/write): the parameters.
//! * `size` (read): packets in flight.
//! * `reset` (write): drops the packets in flight.
//!
//! # Example
//! ```text
//! FromDevice(eth0) -> Queue(200) -> LinkUnqueue(40ms, 10Mbps) -> ToDevice(eth1);
//! ```

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};

use super::notify::UpstreamSignal;
use crate::confparse::{parse_written, Bandwidth, Duration};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;
use crate::time::Timestamp;

/// The `LinkUnqueue` class.
pub static CLASS: ElementClass = ElementClass {
    name: "LinkUnqueue",
    ports: "1/1",
    processing: "l/h",
    phase: 0,
    make: |args, _cx| {
        let Duration(latency) = args.required("LATENCY")?;
        let Bandwidth(bw) = args.required("BANDWIDTH")?;
        if bw == 0 {
            return Err(ConfigError::bad_value(
                "BANDWIDTH",
                "a positive bandwidth",
                "0",
            ));
        }
        Ok(Box::new(LinkUnqueue {
            latency,
            bw,
            busy_until: Timestamp::ZERO,
            flight: VecDeque::new(),
            signal: UpstreamSignal::default(),
        }))
    },
};

/// A link with latency and bandwidth.
pub struct LinkUnqueue {
    latency: Timestamp,
    /// Bytes per second.
    bw: u64,
    /// When the link finishes sending what it has taken.
    busy_until: Timestamp,
    /// (arrival time, packet), in order.
    flight: VecDeque<(Timestamp, Packet)>,
    signal: UpstreamSignal,
}

const DELIVER: u32 = 0;
const SEND: u32 = 1;

impl LinkUnqueue {
    fn send_time(&self, len: usize) -> Timestamp {
        let ns = (len as u128 * 1_000_000_000 / u128::from(self.bw)) as i64;
        Timestamp(ns)
    }

    fn deliver(&mut self, cx: &Ctx) {
        let now = cx.now();
        while self.flight.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, p)) = self.flight.pop_front() {
                cx.push(0, p);
            }
        }
        if let Some((t, _)) = self.flight.front() {
            cx.set_timer(DELIVER, *t);
        }
    }
}

impl Element for LinkUnqueue {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.signal = UpstreamSignal::new(cx, 0);
        cx.schedule();
        Ok(())
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        let now = cx.now();
        if self.busy_until > now {
            cx.unschedule();
            cx.set_timer(SEND, self.busy_until);
            return false;
        }
        let Some(p) = cx.pull(0) else {
            if !self.signal.known_nonempty(cx) && !self.signal.active(cx) {
                cx.unschedule();
            }
            return false;
        };
        self.busy_until = now + self.send_time(p.len());
        let arrive = self.busy_until + self.latency;
        self.flight.push_back((arrive, p));
        self.deliver(cx);
        true
    }

    fn run_timer(&mut self, cx: &Ctx, id: u32) {
        if id == DELIVER {
            self.deliver(cx);
        } else {
            cx.schedule();
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::rw("latency"),
            HandlerDecl::rw("bandwidth"),
            HandlerDecl::read("size"),
            HandlerDecl::write("reset"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "latency" => self.latency.to_string(),
            "bandwidth" => super::super::ratelimit::tokenbucket::unparse_bandwidth(
                u32::try_from(self.bw).unwrap_or(u32::MAX),
            ),
            _ => self.flight.len().to_string(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "latency" => self.latency = parse_written::<Duration>(value)?.0,
            "bandwidth" => {
                let Bandwidth(b) = parse_written(value)?;
                if b == 0 {
                    return Err("bandwidth must be positive".into());
                }
                self.bw = b;
            }
            _ => {
                for (_, p) in self.flight.drain(..) {
                    cx.kill(p);
                }
                self.busy_until = Timestamp::ZERO;
                cx.schedule();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::router_from_source;
    use crate::time::Timestamp;

    #[test]
    fn packets_take_latency_plus_sending_time() {
        // 1000 bytes per second: a 100-byte packet takes 100 ms to send.
        let (r, _) = router_from_source(
            "Idle -> q :: Queue -> l :: LinkUnqueue(1s, 1000Bps) -> c :: Counter -> Discard;",
        );
        let start = r.now();
        for _ in 0..3 {
            r.inject(r.find("q").unwrap(), 0, Packet::new(100));
        }
        r.run_until_idle();
        assert_eq!(r.read("c.count").unwrap(), "3");
        // The last one left after three sending times and the latency.
        let took = r.now() - start;
        assert!(took >= Timestamp::from_msec(1300), "{took}");
        assert!(took < Timestamp::from_msec(1400), "{took}");
        assert_eq!(r.read("l.size").unwrap(), "0");
    }
}

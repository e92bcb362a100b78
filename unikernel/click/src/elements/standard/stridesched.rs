//! `StrideSched(TICKETS0, ..., TICKETSn-1)`: pulls from its inputs in
//! proportion to their tickets (stride scheduling).
//!
//! # Ports
//! Any number of pull inputs (one argument each), one pull output.
//!
//! # Processing
//! Each input I has TICKETSI tickets (0 to 32768; more are reduced to
//! 32768, 0 disables the input) and a stride inversely proportional to
//! them. A pull tries the inputs in order of their pass values, lowest
//! first (the lower port on ties), advancing each tried input's pass by
//! its stride, until one returns a packet. Over time, input I is served
//! in proportion to TICKETSI among the inputs that have packets.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `ticketsI` (read/write, for inputs 0 to 15): input I's tickets.
//!
//! # Example
//! ```text
//! a :: Queue; b :: Queue;
//! a -> [0] s :: StrideSched(1, 3); b -> [1] s;
//! s -> Unqueue -> Discard;
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::confparse::FromArg;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `StrideSched` class.
pub static CLASS: ElementClass = ElementClass {
    name: "StrideSched",
    ports: "1-/1",
    processing: "l/l",
    phase: 0,
    make: |args, cx| {
        let raw = args.rest_positional();
        if raw.len() != cx.ninputs() {
            return Err(ConfigError::new(
                crate::error::ErrorKind::BadValue,
                format!("need {} arguments, one per input port", cx.ninputs()),
            ));
        }
        let mut s = StrideSched {
            clients: Vec::new(),
            order: Vec::new(),
        };
        for (i, a) in raw.iter().enumerate() {
            let t = parse_tickets(a).map_err(|e| ConfigError::bad_arg(i, e))?;
            let mut c = Client::default();
            c.set_tickets(t);
            c.pass = c.stride;
            s.clients.push(c);
        }
        for i in 0..s.clients.len() {
            s.insert(i);
        }
        Ok(Box::new(s))
    },
};

const STRIDE1: u32 = 1 << 16;
const MAX_TICKETS: u32 = 1 << 15;

fn parse_tickets(v: &str) -> Result<u32, String> {
    match i64::from_arg(v) {
        Some(t) if t < 0 => Err("number of tickets must be >= 0".into()),
        Some(t) => Ok(t.min(i64::from(MAX_TICKETS)) as u32),
        None => Err(format!("expected a number of tickets, got '{}'", v.trim())),
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Client {
    tickets: u32,
    stride: u32,
    pass: u32,
}

impl Client {
    fn set_tickets(&mut self, t: u32) {
        self.tickets = t;
        self.stride = STRIDE1.checked_div(t).unwrap_or(0);
    }
}

/// Stride scheduler.
pub struct StrideSched {
    clients: Vec<Client>,
    /// Inputs with tickets, by pass.
    order: Vec<usize>,
}

impl StrideSched {
    /// Puts input `i` before the first input with a pass not below its
    /// own (passes wrap, so compared by difference).
    fn insert(&mut self, i: usize) {
        if self.clients[i].tickets == 0 {
            return;
        }
        let pass = self.clients[i].pass;
        let at = self
            .order
            .iter()
            .position(|&j| (pass.wrapping_sub(self.clients[j].pass) as i32) <= 0)
            .unwrap_or(self.order.len());
        self.order.insert(at, i);
    }
}

const HANDLERS: &[HandlerDecl] = &[
    HandlerDecl::rw("tickets0"),
    HandlerDecl::rw("tickets1"),
    HandlerDecl::rw("tickets2"),
    HandlerDecl::rw("tickets3"),
    HandlerDecl::rw("tickets4"),
    HandlerDecl::rw("tickets5"),
    HandlerDecl::rw("tickets6"),
    HandlerDecl::rw("tickets7"),
    HandlerDecl::rw("tickets8"),
    HandlerDecl::rw("tickets9"),
    HandlerDecl::rw("tickets10"),
    HandlerDecl::rw("tickets11"),
    HandlerDecl::rw("tickets12"),
    HandlerDecl::rw("tickets13"),
    HandlerDecl::rw("tickets14"),
    HandlerDecl::rw("tickets15"),
];

fn port_of(name: &str) -> Option<usize> {
    name.strip_prefix("tickets")?.parse().ok()
}

impl Element for StrideSched {
    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let mut tried = 0;
        let mut got = None;
        while got.is_none() && tried < self.order.len() {
            let i = self.order[tried];
            got = cx.pull(i);
            let c = &mut self.clients[i];
            c.pass = c.pass.wrapping_add(c.stride);
            tried += 1;
        }
        let stridden: Vec<usize> = self.order.drain(..tried).collect();
        for i in stridden {
            self.insert(i);
        }
        got
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        &HANDLERS[..self.clients.len().min(HANDLERS.len())]
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        port_of(name)
            .and_then(|p| self.clients.get(p))
            .map(|c| c.tickets.to_string())
            .unwrap_or_default()
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        let p = port_of(name).ok_or_else(|| ConfigError::not_writable(name))?;
        let t = parse_tickets(value)?;
        let was = self.clients[p].tickets;
        self.clients[p].set_tickets(t);
        if was != 0 {
            self.order.retain(|&j| j != p);
        }
        if t != 0 {
            // A re-enabled input starts level with the current leader.
            let lead = self.order.first().map(|&j| self.clients[j].pass);
            let c = &mut self.clients[p];
            c.pass = lead.unwrap_or(0).wrapping_add(c.stride);
            self.insert(p);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::router_from_source;

    #[test]
    fn serves_inputs_in_proportion_to_tickets() {
        let (r, _) = router_from_source(
            "Idle -> a :: Queue(100); Idle -> b :: Queue(100);\n\
             a -> [0] s :: StrideSched(1, 3); b -> [1] s;\n\
             s -> u :: Unqueue(LIMIT 40) -> c :: Classifier(0/01, -);\n\
             c[0] -> ca :: Counter -> Discard; c[1] -> cb :: Counter -> Discard;",
        );
        for _ in 0..50 {
            r.inject(r.find("a").unwrap(), 0, Packet::from_slice(&[1]));
            r.inject(r.find("b").unwrap(), 0, Packet::from_slice(&[2]));
        }
        r.run_until_idle();
        assert_eq!(r.read("ca.count").unwrap(), "10");
        assert_eq!(r.read("cb.count").unwrap(), "30");
        assert_eq!(r.read("s.tickets1").unwrap(), "3");
        r.write("s.tickets1", "0").unwrap();
        assert!(r.write("s.tickets0", "-1").is_err());
    }
}

//! `ToDevice(DEVNAME [, KEYWORDS])`: sends frames out of a Linux network interface.
//!
//! Writes each packet, as an Ethernet frame, to a packet socket (AF_PACKET)
//! on DEVNAME. Needs root (or CAP_NET_RAW). When the socket is full, frames
//! wait (up to `QUEUE` of them; more are dropped) until `mbctl run`'s poll(2)
//! says the socket is writable again.
//!
//! # Ports
//! One input, push or pull (pull when fed by a Queue); no outputs.
//!
//! # Processing
//! Push: each packet is sent at once. Pull: a task pulls up to `BURST`
//! packets per run and sends them.
//!
//! # Keywords
//! * `BURST` (integer, default 16): packets pulled per task run.
//! * `QUEUE` (integer, default 256): frames kept while the socket is full.
//! * `QUIET` (bool, default false): do not report send errors.
//! * `METHOD` (`LINUX` or `PCAP`): accepted; always a packet socket.
//!
//! # Handlers
//! * `count` (read): frames sent. `drops` (read): frames dropped.
//! * `reset_counts` (write): zeroes both.
//!
//! # Example
//! ```text
//! FromDevice(veth0) -> c :: Counter -> Queue -> ToDevice(veth1);
//! ```

use std::collections::VecDeque;

use click::confparse::{Args, Word};
use click::element::{Element, ElementClass, HandlerDecl};
use click::elements::device::DeviceCounts;
use click::error::{ConfigError, ErrorKind};
use click::packet::Packet;
use click::router::{Ctx, PortKind};

use crate::device::PacketSocket;

/// The `ToDevice` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ToDevice",
    ports: "1/0",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| Ok(Box::new(ToDevice::configure(args)?)),
};

/// Sends frames out of an interface.
pub struct ToDevice {
    dev: String,
    burst: usize,
    limit: usize,
    quiet: bool,
    sock: Option<PacketSocket>,
    waiting: VecDeque<Packet>,
    pull: bool,
    counts: DeviceCounts,
}

impl ToDevice {
    fn configure(args: &mut Args) -> Result<ToDevice, ConfigError> {
        let dev: Word = args.required("DEVNAME")?;
        let burst: usize = args.keyword_or("BURST", 16)?;
        let limit: usize = args.keyword_or("QUEUE", 256)?;
        let quiet = args.keyword_or("QUIET", false)?;
        if let Some(m) = args.keyword::<Word>("METHOD")? {
            if !matches!(m.0.as_str(), "LINUX" | "PCAP") {
                let e = format!("bad METHOD '{}' (expected LINUX or PCAP)", m.0);
                return Err(ConfigError::new(ErrorKind::BadValue, e));
            }
        }
        if burst == 0 {
            return Err("BURST must be positive".into());
        }
        Ok(ToDevice {
            dev: dev.0,
            burst,
            limit,
            quiet,
            sock: None,
            waiting: VecDeque::new(),
            pull: false,
            counts: DeviceCounts::default(),
        })
    }

    /// The socket, for the driver's poll(2).
    pub fn socket(&self) -> Option<&PacketSocket> {
        self.sock.as_ref()
    }

    /// True while frames wait for the socket to drain.
    pub fn blocked(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Sends `p`, or keeps it if the socket is full; false if it had to
    /// wait.
    fn send(&mut self, cx: &Ctx, p: Packet) -> bool {
        let Some(sock) = self.sock.as_ref() else {
            cx.kill(p);
            return true;
        };
        if !self.waiting.is_empty() {
            self.keep(cx, p);
            return false;
        }
        match sock.send(p.data()) {
            Ok(true) => {
                self.counts.count += 1;
                cx.kill(p);
                true
            }
            Ok(false) => {
                self.keep(cx, p);
                false
            }
            Err(e) => {
                if !self.quiet {
                    cx.log(&format!("{}: {e}", self.dev));
                }
                self.counts.drops += 1;
                cx.kill(p);
                true
            }
        }
    }

    fn keep(&mut self, cx: &Ctx, p: Packet) {
        if self.waiting.len() < self.limit {
            self.waiting.push_back(p);
        } else {
            self.counts.drops += 1;
            cx.kill(p);
        }
    }

    /// Sends what waited; true if the queue emptied.
    fn drain(&mut self, cx: &Ctx) -> bool {
        while let Some(p) = self.waiting.pop_front() {
            let Some(sock) = self.sock.as_ref() else {
                break;
            };
            match sock.send(p.data()) {
                Ok(true) => {
                    self.counts.count += 1;
                    cx.kill(p);
                }
                Ok(false) => {
                    self.waiting.push_front(p);
                    return false;
                }
                Err(_) => {
                    self.counts.drops += 1;
                    cx.kill(p);
                }
            }
        }
        true
    }
}

impl Element for ToDevice {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let s = PacketSocket::open(&self.dev, false, true)
            .map_err(|e| ConfigError::initialize(format!("{}: {e}", self.dev)))?;
        self.sock = Some(s);
        self.pull = cx.input_kind(0) == Some(PortKind::Pull);
        if self.pull {
            cx.schedule();
        }
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.send(cx, p);
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        let before = self.counts.count;
        if !self.drain(cx) {
            return self.counts.count != before;
        }
        if self.pull {
            for _ in 0..self.burst {
                let Some(p) = cx.pull(0) else { break };
                if !self.send(cx, p) {
                    break;
                }
            }
        } else {
            cx.unschedule();
        }
        self.counts.count != before
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
}

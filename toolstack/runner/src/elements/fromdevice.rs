//! `FromDevice(DEVNAME [, PROMISC, SNAPLEN, KEYWORDS])`: receives frames from a Linux network interface.
//!
//! Opens a packet socket (AF_PACKET) on DEVNAME and emits every Ethernet
//! frame it receives, stamped with the arrival time. Needs root (or
//! CAP_NET_RAW). Frames this host sends on the interface (including
//! ToDevice's) are not received unless `OUTBOUND` is true. The kernel keeps
//! processing the frames too (as with Click's `SNIFFER true`): give the
//! interfaces of a middlebox no IP addresses. `mbctl run` sleeps in poll(2)
//! while no frame is waiting.
//!
//! # Ports
//! No inputs; one push output.
//!
//! # Processing
//! A task reads up to `BURST` waiting frames per run and pushes them.
//!
//! # Keywords
//! * `PROMISC` (bool, default false): put the interface in promiscuous mode.
//! * `SNIFFER` (bool, default true): accepted for compatibility; frames
//!   always reach the kernel as well.
//! * `OUTBOUND` (bool, default false): also emit frames this host sends.
//! * `SNAPLEN` (integer, default 2046): longer frames are truncated.
//! * `BURST` (integer, default 1): frames per task run.
//! * `TIMESTAMP` (bool, default true): set the timestamp annotation.
//! * `FORCE_IP` (bool, default false): emit only IPv4 frames, with their IP
//!   header annotation set.
//! * `METHOD` (`LINUX` or `PCAP`): accepted; always a packet socket.
//!
//! # Handlers
//! * `count` (read): frames emitted.
//! * `drops` (read): frames dropped by `FORCE_IP`.
//! * `kernel_drops` (read): frames the kernel dropped for lack of room.
//! * `reset_counts` (write): zeroes the counts.
//! * `encap` (read): `ETHER`.
//!
//! `PollDevice(DEVNAME [, PROMISC, BURST])`: the same element, under the name of Click's polling driver for Linux kernel modules (third positional argument BURST, where FromDevice's is SNAPLEN).
//!
//! # Example
//! ```text
//! FromDevice(veth0, PROMISC true) -> Queue -> ToDevice(veth1);
//! ```

use std::cell::Cell;

use click::confparse::{Args, Word};
use click::element::{Element, ElementClass, HandlerDecl};
use click::elements::device::DeviceCounts;
use click::error::{ConfigError, ErrorKind};
use click::router::Ctx;

use crate::device::PacketSocket;

/// The `FromDevice` class.
pub static CLASS: ElementClass = ElementClass {
    name: "FromDevice",
    ports: "0/1",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| Ok(Box::new(FromDevice::configure(args, false)?)),
};

/// The `PollDevice` class: FromDevice, as Click's user-level driver
/// stands in for it.
pub static POLL: ElementClass = ElementClass {
    name: "PollDevice",
    ports: "0/1",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| Ok(Box::new(FromDevice::configure(args, true)?)),
};

/// Receives frames from an interface.
pub struct FromDevice {
    dev: String,
    promisc: bool,
    outbound: bool,
    snaplen: usize,
    burst: usize,
    timestamp: bool,
    force_ip: bool,
    sock: Option<PacketSocket>,
    buf: Vec<u8>,
    /// In a cell because reading the socket's drop count resets it, and
    /// read handlers take `&self`.
    counts: Cell<DeviceCounts>,
}

impl FromDevice {
    /// Reads FromDevice's arguments, or with `poll` PollDevice's.
    fn configure(args: &mut Args, poll: bool) -> Result<FromDevice, ConfigError> {
        let dev: Word = args.required("DEVNAME")?;
        let promisc = args.optional("PROMISC")?.unwrap_or(false);
        let (snaplen, burst): (usize, usize) = if poll {
            let burst = args.optional("BURST")?.unwrap_or(1);
            (args.keyword_or("SNAPLEN", 2046)?, burst)
        } else {
            let snaplen = args.optional("SNAPLEN")?.unwrap_or(2046);
            (snaplen, args.keyword_or("BURST", 1)?)
        };
        let _sniffer: bool = args.keyword_or("SNIFFER", true)?;
        let outbound = args.keyword_or("OUTBOUND", false)?;
        let timestamp = args.keyword_or("TIMESTAMP", true)?;
        let force_ip = args.keyword_or("FORCE_IP", false)?;
        if let Some(m) = args.keyword::<Word>("METHOD")? {
            if !matches!(m.0.as_str(), "LINUX" | "PCAP") {
                let e = format!("bad METHOD '{}' (expected LINUX or PCAP)", m.0);
                return Err(ConfigError::new(ErrorKind::BadValue, e));
            }
        }
        if burst == 0 {
            return Err("BURST must be positive".into());
        }
        Ok(FromDevice {
            dev: dev.0,
            promisc,
            outbound,
            snaplen: snaplen.clamp(14, 65535),
            burst,
            timestamp,
            force_ip,
            sock: None,
            buf: vec![0; 65536],
            counts: Cell::default(),
        })
    }

    /// The socket, for the driver's poll(2).
    pub fn socket(&self) -> Option<&PacketSocket> {
        self.sock.as_ref()
    }

    fn update(&self, f: impl FnOnce(&mut DeviceCounts)) {
        let mut c = self.counts.get();
        f(&mut c);
        self.counts.set(c);
    }
}

impl Element for FromDevice {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let s = PacketSocket::open(&self.dev, self.promisc, !self.outbound)
            .map_err(|e| ConfigError::initialize(format!("{}: {e}", self.dev)))?;
        self.sock = Some(s);
        cx.schedule();
        Ok(())
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        let Some(sock) = self.sock.as_ref() else {
            return false;
        };
        let mut worked = false;
        for _ in 0..self.burst {
            let (n, outgoing) = match sock.recv(&mut self.buf) {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    cx.log(&format!("{}: {e}", self.dev));
                    break;
                }
            };
            worked = true;
            if outgoing && !self.outbound {
                continue;
            }
            let len = n.min(self.snaplen).min(self.buf.len());
            // Out of memory the frame is lost (the router counts it).
            let Some(mut p) = cx.alloc(len) else {
                continue;
            };
            p.data_mut().copy_from_slice(&self.buf[..len]);
            p.set_mac_header(0);
            if self.timestamp {
                p.set_timestamp(cx.now());
            }
            if self.force_ip && !p.mark_ether_ipv4_header() {
                self.update(|c| c.drops += 1);
                cx.kill(p);
                continue;
            }
            self.update(|c| c.count += 1);
            cx.push(0, p);
        }
        worked
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        DeviceCounts::SOCKET_HANDLERS
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        if name == "kernel_drops" {
            // The socket reports drops since it was last asked.
            let new = self.sock.as_ref().map(|s| s.drops()).unwrap_or(0);
            self.update(|c| c.kernel_drops += new);
        }
        self.counts.get().read(name)
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, _value: &str) -> Result<(), ConfigError> {
        if let Some(s) = self.sock.as_ref() {
            // Forget what the kernel dropped before the reset too.
            s.drops();
        }
        self.counts.set(DeviceCounts::default());
        Ok(())
    }
}

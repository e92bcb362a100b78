//! `KernelTun(ADDR/MASK [, GATEWAY, KEYWORDS])`: IP packets to and from the host's network stack through a tun device.
//!
//! Creates a Linux tun device (`/dev/net/tun`; needs root), gives it
//! ADDR/MASK and brings it up: IP packets the host routes to it leave
//! output 0, and IP packets arriving on the input go to the host as if
//! received on that device. Host runner only: a middlebox VM has
//! no host stack to talk to, and `mbctl check --vm` says so.
//!
//! `KernelTap(ADDR/MASK [, GATEWAY, KEYWORDS])`: the same through a tap device, carrying Ethernet frames.
//!
//! # Ports
//! Zero or one input (push or pull); one or two push outputs.
//!
//! # Processing
//! A task reads up to BURST waiting packets per run; `mbctl run` sleeps
//! in poll(2) while none is waiting. KernelTun marks each packet's IP
//! header; a packet that is not IPv4 leaves output 1 if there is one,
//! else is dropped. On the input, each packet is written to the device;
//! when the device's queue is full it is dropped (counted in `drops`).
//!
//! # Keywords
//! * `GATEWAY` (IP address): also route the host's default route through
//!   the device, via GATEWAY.
//! * `DEVNAME` (string, default `tun%d`/`tap%d`, the kernel's choice): the
//!   device's name.
//! * `ETHER` (Ethernet address, KernelTap only): the device's address.
//! * `MTU` (integer): the device's MTU.
//! * `BURST` (integer, default 1): packets read per task run.
//! * `HEADROOM`, `IGNORE_QUEUE_OVERFLOWS`: accepted for compatibility.
//!
//! # Handlers
//! * `count` (read): packets read from the device.
//! * `drops` (read): packets dropped (not IPv4 without output 1, or a
//!   full device queue).
//! * `reset_counts` (write): zeroes the counts.
//! * `dev_name` (read): the device's name.
//!
//! # Example
//! ```text
//! tun :: KernelTun(10.9.0.1/24) -> CheckIPHeader -> IPPrint(in) -> Queue -> tun;
//! ```

use std::rc::Rc;

use click::confparse::{Args, EtherAddr, Ipv4, Ipv4Prefix};
use click::element::{Element, ElementClass, HandlerDecl};
use click::elements::device::DeviceCounts;
use click::elements::standard::notify::UpstreamSignal;
use click::error::ConfigError;
use click::packet::Packet;
use click::router::{Ctx, PortKind};

use crate::tun::Tun;

/// The `KernelTun` class.
pub static CLASS: ElementClass = ElementClass {
    name: "KernelTun",
    ports: "0-1/1-2",
    processing: "a/h",
    phase: 0,
    make: |args, _cx| Ok(Box::new(KernelTun::configure(args, false)?)),
};

/// The `KernelTap` class: `KernelTun` on a tap device (Ethernet frames).
pub static TAP: ElementClass = ElementClass {
    name: "KernelTap",
    ports: "0-1/1-2",
    processing: "a/h",
    phase: 0,
    make: |args, _cx| Ok(Box::new(KernelTun::configure(args, true)?)),
};

/// A tun or tap device's two directions.
pub struct KernelTun {
    tap: bool,
    devname: String,
    prefix: Ipv4Prefix,
    gateway: Option<Ipv4>,
    ether: Option<EtherAddr>,
    mtu: Option<u32>,
    port: TunPort,
    pull: bool,
    signal: UpstreamSignal,
}

impl KernelTun {
    fn configure(args: &mut Args, tap: bool) -> Result<KernelTun, ConfigError> {
        let prefix: Ipv4Prefix = args.required("ADDR")?;
        let gateway = args.optional::<Ipv4>("GATEWAY")?;
        let tap = args.keyword_or("TAP", tap)?;
        let devname = args
            .keyword::<String>("DEVNAME")?
            .or(args.keyword::<String>("DEV_NAME")?)
            .unwrap_or_default();
        let ether = args.keyword::<EtherAddr>("ETHER")?;
        let mtu = args.keyword::<u32>("MTU")?;
        let burst: usize = args.keyword_or("BURST", 1)?;
        let _: u32 = args.keyword_or("HEADROOM", 0)?;
        let _: bool = args.keyword_or("IGNORE_QUEUE_OVERFLOWS", false)?;
        if burst == 0 {
            return Err("BURST must be positive".into());
        }
        Ok(KernelTun {
            tap,
            devname,
            prefix,
            gateway,
            ether,
            mtu,
            port: TunPort::new(burst),
            pull: false,
            signal: UpstreamSignal::default(),
        })
    }

    /// The device, for the driver's poll(2).
    pub fn device(&self) -> Option<&Tun> {
        self.port.tun.as_deref()
    }
}

impl Element for KernelTun {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let t = Tun::open(&self.devname, self.tap)
            .map_err(|e| ConfigError::initialize(format!("{}: {e}", cx.name())))?;
        let ether = self.ether.map(|e| e.to_string());
        let gw = self.gateway.map(|g| g.to_string());
        t.configure(
            &self.prefix.to_string(),
            ether.as_deref(),
            self.mtu,
            gw.as_deref(),
        )
        .map_err(|e| ConfigError::initialize(format!("{}: {e}", t.name())))?;
        self.port.tun = Some(t);
        self.pull = cx.input_kind(0) == Some(PortKind::Pull);
        if self.pull {
            self.signal = UpstreamSignal::new(cx, 0);
        }
        cx.schedule();
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.port.send(cx, p);
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        let tap = self.tap;
        let mut worked = self.port.receive(cx, |p| tap || p.mark_ip_header(0));
        if self.pull {
            for _ in 0..self.port.burst {
                let Some(p) = cx.pull(0) else { break };
                self.port.send(cx, p);
                worked = true;
            }
            if !worked && !self.signal.active(cx) {
                // Woken again by the queue, or by poll(2) for reading.
                cx.unschedule();
            }
        }
        worked
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        TunPort::HANDLERS
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        self.port.read(name)
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, _value: &str) -> Result<(), ConfigError> {
        self.port.counts.reset();
        Ok(())
    }
}

/// What KernelTun, FromHost and ToHost share: the device, its counts,
/// reading and writing.
pub struct TunPort {
    /// The device, once initialized.
    pub tun: Option<Rc<Tun>>,
    /// Packets per task run.
    pub burst: usize,
    /// Packets read, and dropped.
    pub counts: DeviceCounts,
    buf: Vec<u8>,
}

impl TunPort {
    /// The handlers the port answers.
    pub const HANDLERS: &'static [HandlerDecl] = &[
        HandlerDecl::read("count"),
        HandlerDecl::read("drops"),
        HandlerDecl::write("reset_counts"),
        HandlerDecl::read("dev_name"),
    ];

    /// A port that reads `burst` packets per run.
    pub fn new(burst: usize) -> TunPort {
        TunPort {
            tun: None,
            burst,
            counts: DeviceCounts::default(),
            buf: vec![0; 65536],
        }
    }

    /// Reads up to `burst` packets and pushes those `keep` accepts (after
    /// any edit) to output 0; the rest go to output 1 if it exists, else
    /// are dropped. True if anything was read.
    pub fn receive(&mut self, cx: &Ctx, mut keep: impl FnMut(&mut Packet) -> bool) -> bool {
        let Some(t) = self.tun.clone() else {
            return false;
        };
        let mut worked = false;
        for _ in 0..self.burst {
            let n = match t.recv(&mut self.buf) {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(e) => {
                    cx.log(&format!("{}: {e}", t.name()));
                    break;
                }
            };
            worked = true;
            let Some(mut p) = cx.alloc(n) else { continue };
            p.data_mut().copy_from_slice(&self.buf[..n]);
            p.set_timestamp(cx.now());
            if keep(&mut p) {
                self.counts.count += 1;
                cx.push(0, p);
            } else if cx.noutputs() > 1 {
                cx.push(1, p);
            } else {
                self.counts.drops += 1;
                cx.kill(p);
            }
        }
        worked
    }

    /// Writes `p` to the device (dropping it when the device cannot take
    /// it).
    pub fn send(&mut self, cx: &Ctx, p: Packet) {
        if let Some(t) = &self.tun {
            match t.send(p.data()) {
                Ok(true) => {}
                Ok(false) => self.counts.drops += 1,
                Err(e) => {
                    self.counts.drops += 1;
                    cx.log(&format!("{}: {e}", t.name()));
                }
            }
        }
        cx.kill(p);
    }

    /// Reads `count`, `drops` or `dev_name`.
    pub fn read(&self, name: &str) -> String {
        match name {
            "dev_name" => self
                .tun
                .as_ref()
                .map(|t| t.name().to_string())
                .unwrap_or_default(),
            _ => self.counts.read(name),
        }
    }
}

//! `FromHost(DEVNAME, ADDR/MASK [, KEYWORDS])`: Ethernet frames the host sends to a tap device it routes through.
//!
//! Creates a Linux tap device DEVNAME (needs root), gives it ADDR/MASK
//! and brings it up, so the host routes that network through it: every
//! frame the host sends on it (ARP requests included) leaves the output.
//! `ToHost(DEVNAME)` in the same configuration writes frames back into
//! the same device, to the host. Host runner only, as Click's FromHost
//! is Linux-kernel only; `mbctl check --vm` says so.
//!
//! # Ports
//! No inputs; one push output.
//!
//! # Processing
//! A task reads up to BURST waiting frames per run; `mbctl run` sleeps
//! in poll(2) while none is waiting.
//!
//! # Keywords
//! * `ETHER` (Ethernet address): the device's address.
//! * `MTU` (integer): the device's MTU.
//! * `BURST` (integer, default 1): frames read per task run.
//!
//! # Handlers
//! * `count` (read): frames read.
//! * `drops` (read): always 0.
//! * `reset_counts` (write): zeroes the counts.
//! * `dev_name` (read): DEVNAME.
//!
//! # Example
//! ```text
//! FromHost(fake0, 192.0.2.1/24) -> Print(host) -> ARPResponder(192.0.2.0/24 2:0:0:0:0:1) -> ToHost(fake0);
//! ```

use click::confparse::{EtherAddr, Ipv4Prefix, Word};
use click::element::{Element, ElementClass, HandlerDecl};
use click::error::ConfigError;
use click::router::Ctx;

use super::kerneltun::TunPort;
use crate::tun::Tun;

/// The `FromHost` class.
pub static CLASS: ElementClass = ElementClass {
    name: "FromHost",
    ports: "0/1",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| {
        let Word(dev) = args.required("DEVNAME")?;
        let prefix: Ipv4Prefix = args.required("ADDR")?;
        let ether = args.keyword::<EtherAddr>("ETHER")?;
        let mtu = args.keyword::<u32>("MTU")?;
        let burst: usize = args.keyword_or("BURST", 1)?;
        if burst == 0 {
            return Err("BURST must be positive".into());
        }
        Ok(Box::new(FromHost {
            dev,
            prefix,
            ether,
            mtu,
            port: TunPort::new(burst),
        }))
    },
};

/// The host's side of a tap device.
pub struct FromHost {
    dev: String,
    prefix: Ipv4Prefix,
    ether: Option<EtherAddr>,
    mtu: Option<u32>,
    port: TunPort,
}

impl FromHost {
    /// The device, for the driver's poll(2).
    pub fn device(&self) -> Option<&Tun> {
        self.port.tun.as_deref()
    }
}

impl Element for FromHost {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let t = Tun::open(&self.dev, true)
            .map_err(|e| ConfigError::initialize(format!("{}: {e}", self.dev)))?;
        let ether = self.ether.map(|e| e.to_string());
        t.configure(&self.prefix.to_string(), ether.as_deref(), self.mtu, None)
            .map_err(|e| ConfigError::initialize(format!("{}: {e}", self.dev)))?;
        self.port.tun = Some(t);
        cx.schedule();
        Ok(())
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        self.port.receive(cx, |p| {
            p.set_mac_header(0);
            true
        })
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

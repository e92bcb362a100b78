//! `ToHost([DEVNAME])`: hands Ethernet frames to the host's network stack through a tap device.
//!
//! Writes each frame into the Linux tap device DEVNAME, so the host
//! receives it as if it arrived there: the device of a `FromHost` or
//! `KernelTap` of the same configuration when one has that name, else a
//! tap device of that name it creates and brings up (without an
//! address; `tcpdump -i DEVNAME` shows the frames). DEVNAME defaults to
//! `tohost0`; it must not name an existing non-tap interface. Host
//! runner only; `mbctl check --vm` says so.
//!
//! `ToHostSniffers([DEVNAME])`: the same element (Click's variant that feeds only packet sniffers).
//!
//! # Ports
//! One push input; no outputs.
//!
//! # Processing
//! Frames the device cannot take (its queue is full, or it is down) are
//! dropped and counted.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `count` (read): always 0 (frames written are not counted apart).
//! * `drops` (read): frames dropped.
//! * `reset_counts` (write): zeroes the counts.
//! * `dev_name` (read): the device's name.
//!
//! # Example
//! ```text
//! FromHost(fake0, 192.0.2.1/24) -> ARPResponder(192.0.2.0/24 2:0:0:0:0:1) -> ToHost(fake0);
//! ```

use click::confparse::Word;
use click::element::{Element, ElementClass, HandlerDecl};
use click::error::ConfigError;
use click::packet::Packet;
use click::router::Ctx;

use super::kerneltun::TunPort;
use crate::tun::Tun;

/// The `ToHost` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ToHost",
    ports: "1/0",
    processing: "h/h",
    phase: 0,
    make: make_tohost,
};

/// The `ToHostSniffers` class (same element).
pub static SNIFFERS: ElementClass = ElementClass {
    name: "ToHostSniffers",
    ports: "1/0",
    processing: "h/h",
    phase: 0,
    make: make_tohost,
};

fn make_tohost(
    args: &mut click::confparse::Args,
    _cx: &click::router::ConfigCx,
) -> Result<Box<dyn Element>, ConfigError> {
    let dev = args
        .optional::<Word>("DEVNAME")?
        .map_or_else(|| "tohost0".to_string(), |w| w.0);
    Ok(Box::new(ToHost {
        dev,
        port: TunPort::new(1),
    }))
}

/// Writes frames to the host.
pub struct ToHost {
    dev: String,
    port: TunPort,
}

impl Element for ToHost {
    fn initialize(&mut self, _cx: &Ctx) -> Result<(), ConfigError> {
        let exists = std::path::Path::new("/sys/class/net")
            .join(&self.dev)
            .exists();
        let t = Tun::open(&self.dev, true).map_err(|e| {
            let why = if exists {
                format!(
                    "{}: {e} (an interface of that name exists and is not a tap device this configuration owns)",
                    self.dev
                )
            } else {
                format!("{}: {e}", self.dev)
            };
            ConfigError::initialize(why)
        })?;
        if !exists {
            // A device of its own: up, so the host takes the frames.
            t.up()
                .map_err(|e| ConfigError::initialize(format!("{}: {e}", t.name())))?;
        }
        self.port.tun = Some(t);
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.port.send(cx, p);
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

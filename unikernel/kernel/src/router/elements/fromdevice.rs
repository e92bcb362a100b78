//! `FromDevice(DEVNAME [, KEYWORDS])`: emits the frames the VM receives on a NIC.
//!
//! DEVNAME is the NIC's number, as in ClickOS (`FromDevice(0)`), or a name
//! ending in it (`eth0`, `vif0`). NICs are numbered in the order the
//! hypervisor attaches them. The guest's main loop receives up to `BURST`
//! frames per poll straight into the element as one batch; the frame buffers
//! the device filled become the packets, without a copy. Frames that arrive
//! on a NIC no `FromDevice` names are dropped and counted in `data/mb/`.
//!
//! `PollDevice(DEVNAME [, PROMISC, BURST])`: the same element, under the name of Click's Linux kernel polling driver.
//!
//! # Ports
//! No inputs; one push output.
//!
//! # Processing
//! Push. Each received frame gets its MAC header annotation set and, unless
//! `TIMESTAMP false`, the arrival time (one clock read per batch).
//!
//! # Keywords
//! * `BURST` (integer, default 32): most frames taken from the NIC per poll.
//! * `TIMESTAMP` (bool, default true): set the timestamp annotation.
//! * `SNAPLEN` (integer, default 65535): longer frames are truncated.
//! * `FORCE_IP` (bool, default false): emit only IPv4 frames, with their IP
//!   header annotation and destination address annotation set.
//! * `PROMISC`, `SNIFFER`, `OUTBOUND` (bool), `METHOD` (word): accepted for
//!   compatibility with Click's user-level element; a virtual NIC receives
//!   exactly what the host sends it.
//!
//! # Handlers
//! * `count` (read): frames emitted.
//! * `drops` (read): frames dropped by `FORCE_IP`.
//! * `reset_counts` (write): zeroes both.
//!
//! # Example
//! ```text
//! FromDevice(0) -> Queue -> ToDevice(1);
//! ```

use alloc::boxed::Box;
use alloc::string::String;

use click::confparse::Word;
use click::element::{Element, ElementClass, HandlerDecl};
use click::elements::device::DeviceCounts;
use click::error::ConfigError;
use click::{Batch, Ctx};

use super::{bad_devname, parse_devname};

/// The `FromDevice` class.
pub static CLASS: ElementClass = ElementClass {
    name: "FromDevice",
    ports: "0/1",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| configure(args, false),
};

/// The `PollDevice` class: FromDevice under the name Click's Linux
/// kernel driver uses (third positional argument BURST, not SNAPLEN).
pub static POLL: ElementClass = ElementClass {
    name: "PollDevice",
    ports: "0/1",
    processing: "h/h",
    phase: 0,
    make: |args, _cx| configure(args, true),
};

fn configure(
    args: &mut click::confparse::Args,
    poll: bool,
) -> Result<Box<dyn Element>, ConfigError> {
    let dev: Word = args.required("DEVNAME")?;
    let nic = parse_devname(&dev.0).ok_or_else(|| bad_devname(&dev.0))?;
    let _: Option<bool> = args.optional("PROMISC")?;
    let (snaplen, burst): (usize, usize) = if poll {
        let burst = args.optional("BURST")?.unwrap_or(32);
        (args.keyword_or("SNAPLEN", 65535)?, burst)
    } else {
        let snaplen = args.optional("SNAPLEN")?.unwrap_or(65535);
        (snaplen, args.keyword_or("BURST", 32)?)
    };
    let timestamp = args.keyword_or("TIMESTAMP", true)?;
    let force_ip = args.keyword_or("FORCE_IP", false)?;
    for k in ["SNIFFER", "OUTBOUND"] {
        let _: Option<bool> = args.keyword(k)?;
    }
    let _: Option<Word> = args.keyword("METHOD")?;
    if burst == 0 {
        return Err("BURST must be positive".into());
    }
    Ok(Box::new(FromDevice {
        nic,
        burst,
        timestamp,
        snaplen: snaplen.max(14),
        force_ip,
        counts: DeviceCounts::default(),
    }))
}

/// Receives frames from one NIC.
pub struct FromDevice {
    nic: usize,
    burst: usize,
    timestamp: bool,
    snaplen: usize,
    force_ip: bool,
    counts: DeviceCounts,
}

impl FromDevice {
    /// The NIC it reads.
    pub fn nic(&self) -> usize {
        self.nic
    }

    /// Most frames to take per poll.
    pub fn burst(&self) -> usize {
        self.burst
    }

    /// Emits a batch of received frames.
    pub fn emit(&mut self, cx: &Ctx, mut batch: Batch) {
        let now = if self.timestamp { Some(cx.now()) } else { None };
        let (snaplen, force_ip) = (self.snaplen, self.force_ip);
        let mut dropped = 0u64;
        batch.retain(
            |p| {
                if p.len() > snaplen {
                    p.take(p.len() - snaplen);
                }
                p.set_mac_header(0);
                if let Some(t) = now {
                    p.set_timestamp(t);
                }
                !force_ip || p.mark_ether_ipv4_header()
            },
            |p| {
                dropped += 1;
                cx.kill(p)
            },
        );
        self.counts.drops += dropped;
        self.counts.count += batch.len() as u64;
        if !batch.is_empty() {
            cx.push_batch(0, batch);
        }
    }
}

impl Element for FromDevice {
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
        if let Some(old) = old.downcast_ref::<FromDevice>() {
            self.counts = old.counts;
        }
    }
}

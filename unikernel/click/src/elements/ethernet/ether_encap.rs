//! `EtherEncap(ETHERTYPE, SRC, DST)`: prepends an Ethernet header.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Pushes 14 bytes onto the front of each packet (in its headroom, so no
//! copy when there is room, which there is for pool packets) and writes
//! `DST`, `SRC` and `ETHERTYPE` there. The MAC header annotation is set to
//! the new header.
//!
//! # Keywords
//! * `ETHERTYPE` (16-bit integer): the EtherType, e.g. `0x0800`.
//! * `SRC`, `DST` (Ethernet addresses): source and destination.
//!
//! # Handlers
//! * `src`, `dst` (read/write): the addresses, in Click's `00-1A-...` form.
//! * `ethertype` (read/write): the EtherType, in decimal.
//!
//! # Example
//! ```text
//! ICMPError(10.0.0.254, timeexceeded)
//!   -> EtherEncap(0x0800, 02:00:00:00:00:fe, 02:00:00:00:00:01) -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::{String, ToString};

use super::ether_rewrite::Addrs;
use crate::confparse::parse_written;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::net::ether;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `EtherEncap` class.
pub static CLASS: ElementClass = ElementClass {
    name: "EtherEncap",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let ethertype = args.required("ETHERTYPE")?;
        let addrs = Addrs::from_args(args)?;
        Ok(Box::new(EtherEncap { ethertype, addrs }))
    },
};

/// Prepends a fixed Ethernet header.
pub struct EtherEncap {
    ethertype: u16,
    addrs: Addrs,
}

impl EtherEncap {
    fn encap(&self, mut p: Packet) -> Packet {
        p.push(ether::HEADER_LEN);
        p.set_mac_header(0);
        ether::write_header(
            p.data_mut(),
            &self.addrs.dst,
            &self.addrs.src,
            self.ethertype,
        );
        p
    }
}

impl Element for EtherEncap {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        cx.push(0, self.encap(p));
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        cx.pull(0).map(|p| self.encap(p))
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::rw("src"),
            HandlerDecl::rw("dst"),
            HandlerDecl::rw("ethertype"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "ethertype" => self.ethertype.to_string(),
            _ => self.addrs.read(name),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "ethertype" => self.ethertype = parse_written(value)?,
            _ => self.addrs.write(name, value)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{flat, router, sink_contents};

    #[test]
    fn prepends_in_headroom_without_reallocating() {
        let (r, _) = router(flat(
            &[
                ("e", "EtherEncap", "0x0800, 1:2:3:4:5:6, 0a:0b:0c:0d:0e:0f"),
                ("s", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (2, 0, 0, 0)],
        ));
        let p = Packet::from_slice(&[0x45, 0, 0, 20]);
        let (room, size) = (p.headroom(), p.buffer().len());
        r.inject(0, 0, p);
        let got = sink_contents(&r, "s");
        assert_eq!(
            got[0].1,
            [10, 11, 12, 13, 14, 15, 1, 2, 3, 4, 5, 6, 8, 0, 0x45, 0, 0, 20]
        );
        r.with_element(1, |e, _| {
            let s = e.downcast_ref::<crate::testing::TestSink>().unwrap();
            let q = &s.got[0].1;
            assert_eq!(q.headroom(), room - 14);
            assert_eq!(q.buffer().len(), size);
            assert_eq!(q.mac_header_offset(), Some(0));
        });
        assert_eq!(r.read("e.dst").unwrap(), "0A-0B-0C-0D-0E-0F");
        r.write("e.ethertype", "34997").unwrap();
        assert_eq!(r.read("e.ethertype").unwrap(), "34997");
        assert!(r.write("e.src", "nope").is_err());
    }
}

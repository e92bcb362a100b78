//! `EtherRewrite(SRC, DST)`: overwrites the Ethernet addresses.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! Writes `DST` and `SRC` into the first 12 bytes of the MAC header (the
//! MAC header annotation if set, else the start of the data); the
//! EtherType is kept. A packet too short to hold the addresses passes
//! unchanged.
//!
//! # Keywords
//! * `SRC`, `DST` (Ethernet addresses): the new source and destination.
//!
//! # Handlers
//! * `src`, `dst` (read/write): the addresses, in Click's `00-1A-...` form.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> EtherRewrite(02:aa:00:00:00:01, 02:bb:00:00:00:02) -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::String;

use crate::confparse::{parse_written, Args, EtherAddr};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::net::ether;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `EtherRewrite` class.
pub static CLASS: ElementClass = ElementClass {
    name: "EtherRewrite",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| Ok(Box::new(EtherRewrite(Addrs::from_args(args)?))),
};

/// The `SRC` and `DST` addresses EtherRewrite and EtherEncap write, with
/// their `src` and `dst` handlers.
pub struct Addrs {
    /// The source address.
    pub src: [u8; 6],
    /// The destination address.
    pub dst: [u8; 6],
}

impl Addrs {
    /// Reads the `SRC` and `DST` arguments.
    pub fn from_args(args: &mut Args) -> Result<Self, ConfigError> {
        let src: EtherAddr = args.required("SRC")?;
        let dst: EtherAddr = args.required("DST")?;
        Ok(Addrs {
            src: src.0,
            dst: dst.0,
        })
    }

    /// Reads the `src` or `dst` handler.
    pub fn read(&self, name: &str) -> String {
        ether::unparse(if name == "src" { &self.src } else { &self.dst })
    }

    /// Writes the `src` or `dst` handler.
    pub fn write(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let slot = if name == "src" {
            &mut self.src
        } else {
            &mut self.dst
        };
        *slot = parse_written::<EtherAddr>(value)?.0;
        Ok(())
    }
}

/// Sets both Ethernet addresses.
pub struct EtherRewrite(Addrs);

impl EtherRewrite {
    fn rewrite(&self, p: &mut Packet) {
        // The MAC header may lie in the headroom (after a Strip): open the
        // window over it, write, and close it again.
        let off = p.mac_header_offset().unwrap_or(0);
        let back = if off < 0 && (-off) as usize <= p.headroom() {
            (-off) as usize
        } else {
            0
        };
        p.push(back);
        let start = if off > 0 { off as usize } else { 0 };
        if let Some(h) = p.data_mut().get_mut(start..start + 12) {
            h[ether::DST].copy_from_slice(&self.0.dst);
            h[ether::SRC].copy_from_slice(&self.0.src);
        }
        p.pull(back);
    }
}

impl Element for EtherRewrite {
    fn push(&mut self, cx: &Ctx, _port: usize, mut p: Packet) {
        self.rewrite(&mut p);
        cx.push(0, p);
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let mut p = cx.pull(0)?;
        self.rewrite(&mut p);
        Some(p)
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("src"), HandlerDecl::rw("dst")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        self.0.read(name)
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        self.0.write(name, value)
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{flat, router, sink_contents};

    #[test]
    fn rewrites_mac_header_even_when_stripped() {
        let (r, _) = router(flat(
            &[
                ("w", "EtherRewrite", "02:aa:00:00:00:01, 02-bb-00-00-00-02"),
                ("s", "TestSink", ""),
                ("i", "Idle", ""),
            ],
            &[(0, 0, 1, 0), (2, 0, 0, 0)],
        ));
        let f: alloc::vec::Vec<u8> = (0u8..20).collect();
        r.inject(0, 0, Packet::from_slice(&f));
        let mut p = Packet::from_slice(&f);
        p.set_mac_header(0);
        p.pull(14);
        r.inject(0, 0, p);
        r.inject(0, 0, Packet::from_slice(&[9; 5]));
        let got = sink_contents(&r, "s");
        let want = [2, 0xbb, 0, 0, 0, 2, 2, 0xaa, 0, 0, 0, 1, 12, 13];
        assert_eq!(&got[0].1[..14], &want);
        assert_eq!(got[1].1, &f[14..]);
        assert_eq!(got[2].1, [9; 5]);
        r.with_element(1, |e, _| {
            let s = e.downcast_ref::<crate::testing::TestSink>().unwrap();
            let mut q = s.got[1].1.clone();
            q.push(14);
            assert_eq!(&q.data()[..14], &want);
        });
        assert_eq!(r.read("w.src").unwrap(), "02-AA-00-00-00-01");
    }
}

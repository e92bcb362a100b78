//! `FastUDPSource(RATE, LIMIT, LENGTH, SRCETH, SRCIP, SPORT, DSTETH, DSTIP, DPORT [, CHECKSUM, INTERVAL, ACTIVE])`: a pull source of identical UDP frames.
//!
//! # Ports
//! No inputs; one pull output.
//!
//! # Processing
//! Builds one Ethernet/IPv4/UDP frame of LENGTH bytes (at least 60; the
//! payload is zeros, the IP TTL 250, the UDP checksum computed unless
//! CHECKSUM is false) and returns a copy of it to each pull, at most
//! RATE per second (0: as fast as pulled) and LIMIT in all (negative: no
//! limit). With INTERVAL N > 0, every N frames both ports go up by one.
//! The destination IP annotation is DSTIP.
//!
//! # Keywords
//! * `RATE` (integer): frames per second; 0 for no limit.
//! * `LIMIT` (integer): frames in all; negative for no limit.
//! * `LENGTH` (integer): frame length in bytes, Ethernet header included.
//! * `SRCETH`, `DSTETH` (Ethernet addresses), `SRCIP`, `DSTIP` (IP
//!   addresses), `SPORT`, `DPORT` (ports).
//! * `CHECKSUM` (bool, default true): compute the UDP checksum.
//! * `INTERVAL` (integer, default 0): frames between port increments.
//! * `ACTIVE` (bool, default true): whether pulls get frames.
//!
//! # Handlers
//! * `count` (read): frames produced.
//! * `rate` (read/write): the configured rate.
//! * `limit` (write): a new LIMIT.
//! * `active` (write): a new ACTIVE.
//! * `reset` (write): count from zero again.
//!
//! # Example
//! ```text
//! FastUDPSource(1000, 10000, 60, 0:0:0:0:0:1, 10.0.0.1, 1234,
//!               0:0:0:0:0:2, 10.0.0.2, 1234) -> ToDevice(eth0);
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::confparse::{parse_written, EtherAddr, Ipv4};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::elements::ratelimit::tokenbucket::{jiffies, TokenBucket};
use crate::error::ConfigError;
use crate::net::checksum;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `FastUDPSource` class.
pub static CLASS: ElementClass = ElementClass {
    name: "FastUDPSource",
    ports: "0/1",
    processing: "l/l",
    phase: 0,
    make: |args, _cx| {
        let rate: u32 = args.required("RATE")?;
        let limit: i64 = args.required("LIMIT")?;
        let len: usize = args.required("LENGTH")?;
        let seth: EtherAddr = args.required("SRCETH")?;
        let sip: Ipv4 = args.required("SRCIP")?;
        let sport: u16 = args.required("SPORT")?;
        let deth: EtherAddr = args.required("DSTETH")?;
        let dip: Ipv4 = args.required("DSTIP")?;
        let dport: u16 = args.required("DPORT")?;
        let cksum = args.optional("CHECKSUM")?.unwrap_or(true);
        let interval: u64 = args.optional("INTERVAL")?.unwrap_or(0);
        let active = args.optional("ACTIVE")?.unwrap_or(true);
        let mut s = FastUdpSource {
            frame: Vec::new(),
            ports: (sport, dport),
            cksum,
            interval,
            incr: 0,
            rate,
            tb: TokenBucket::new(rate, 1),
            limit,
            active,
            count: 0,
        };
        s.build(len.clamp(60, 65535), seth, sip, deth, dip);
        Ok(Box::new(s))
    },
};

/// Produces UDP frames on demand.
pub struct FastUdpSource {
    frame: Vec<u8>,
    /// Configured source and destination ports.
    ports: (u16, u16),
    cksum: bool,
    interval: u64,
    incr: u16,
    rate: u32,
    tb: TokenBucket,
    limit: i64,
    active: bool,
    count: u64,
}

impl FastUdpSource {
    fn build(&mut self, len: usize, seth: EtherAddr, sip: Ipv4, deth: EtherAddr, dip: Ipv4) {
        let mut f = alloc::vec![0u8; len];
        f[0..6].copy_from_slice(&deth.0);
        f[6..12].copy_from_slice(&seth.0);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((len - 14) as u16).to_be_bytes());
        ip[8] = 250;
        ip[9] = 17;
        ip[12..16].copy_from_slice(&sip.0);
        ip[16..20].copy_from_slice(&dip.0);
        let c = checksum::checksum(ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f[38..40].copy_from_slice(&((len - 34) as u16).to_be_bytes());
        self.frame = f;
        self.set_ports();
    }

    /// Writes the ports (plus the increment) and the UDP checksum.
    fn set_ports(&mut self) {
        let f = &mut self.frame;
        f[34..36].copy_from_slice(&self.ports.0.wrapping_add(self.incr).to_be_bytes());
        f[36..38].copy_from_slice(&self.ports.1.wrapping_add(self.incr).to_be_bytes());
        f[40..42].copy_from_slice(&[0, 0]);
        if self.cksum {
            let ulen = (f.len() - 34) as u16;
            let mut acc = checksum::add(0, &f[26..34]);
            acc = checksum::add(acc, &[0, 17]);
            acc = checksum::add(acc, &ulen.to_be_bytes());
            acc = checksum::add(acc, &f[34..]);
            // A computed zero is sent as all ones (zero means none).
            let c = match checksum::finish(acc) {
                0 => 0xffff,
                c => c,
            };
            f[40..42].copy_from_slice(&c.to_be_bytes());
        }
    }
}

impl Element for FastUdpSource {
    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        if !self.active || (self.limit >= 0 && self.count >= self.limit as u64) {
            return None;
        }
        if self.rate != 0 {
            self.tb.refill(jiffies(cx.now()));
            if !self.tb.remove_if(1) {
                return None;
            }
        }
        let mut p = cx.alloc(self.frame.len())?;
        p.data_mut().copy_from_slice(&self.frame);
        p.set_mac_header(0);
        p.set_ip_header(14, 20);
        p.set_dst_ip_anno([
            self.frame[30],
            self.frame[31],
            self.frame[32],
            self.frame[33],
        ]);
        self.count += 1;
        if self.interval > 0 && self.count.is_multiple_of(self.interval) {
            self.incr = self.incr.wrapping_add(1);
            self.set_ports();
        }
        Some(p)
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("count"),
            HandlerDecl::rw("rate"),
            HandlerDecl::write("limit"),
            HandlerDecl::write("active"),
            HandlerDecl::write("reset"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            _ => self.rate.to_string(),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "rate" => {
                self.rate = parse_written(value)?;
                self.tb = TokenBucket::new(self.rate, 1);
            }
            "limit" => self.limit = parse_written(value)?,
            "active" => self.active = parse_written(value)?,
            _ => {
                self.count = 0;
                self.incr = 0;
                self.set_ports();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::net::checksum;
    use crate::testing::router_from_source;

    #[test]
    fn frames_with_valid_checksums_up_to_the_limit() {
        let (r, _) = router_from_source(
            "src :: FastUDPSource(0, 5, 70, 0:0:0:0:0:1, 10.0.0.1, 1234, 0:0:0:0:0:2, 10.0.0.2, 53, true, 2)\n\
             -> u :: Unqueue -> s :: TestSink;",
        );
        r.run_until_idle();
        assert_eq!(r.read("src.count").unwrap(), "5");
        let frames = crate::testing::sink_contents(&r, "s");
        assert_eq!(frames.len(), 5);
        let f = &frames[0].1;
        assert_eq!(f.len(), 70);
        assert_eq!(&f[12..14], &[8, 0]);
        assert_eq!(checksum::checksum(&f[14..34]), 0);
        let mut acc = checksum::add(0, &f[26..34]);
        acc = checksum::add(acc, &[0, 17, 0, 36]);
        acc = checksum::add(acc, &f[34..]);
        assert_eq!(checksum::finish(acc), 0, "UDP checksum");
        assert_eq!(&f[34..38], &[0x04, 0xd2, 0, 53]);
        // Every second frame moves both ports up by one.
        assert_eq!(&frames[2].1[34..38], &[0x04, 0xd3, 0, 54]);
    }
}

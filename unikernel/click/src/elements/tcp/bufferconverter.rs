//! `BufferConverter(MTU)`: turns handler writes into TCP segments and segments pulled in into handler reads (the application end of Click's experimental TCP endpoint).
//!
//! # Ports
//! Two inputs: 0 (segments to the application) pull, 1 (ICMP
//! path-MTU messages) push. One push output (segments from the
//! application).
//!
//! # Processing
//! Writing text to the `data` handler sends it out as one bare TCP/IP
//! segment (PSH, window 32120, TOS 0x10, DF, TTL 255; no addresses, ports
//! or sequence number: `TCPConn` downstream adds them) of at most `MTU`
//! bytes of data. Text that does not fit waits, and goes first in the
//! segment of the next write. Reading the `data` handler pulls segments
//! from input 0 until one carries data, and returns that data (empty
//! when none is waiting; bytes that are not UTF-8 are replaced, as
//! handler values are text). Packets on input 1 are dropped: as in
//! Click, path-MTU discovery is not done.
//!
//! # Keywords
//! * `MTU` (positive integer): the most data one segment carries.
//!
//! # Handlers
//! * `data` (read/write): the next data received; data to send.
//!
//! # Example
//! ```text
//! ... -> rob :: TCPBuffer -> [0] b2p :: BufferConverter(1400) -> Queue -> [1] con :: TCPConn;
//! Idle -> [1] b2p;
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::{bare_segment, PSH};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::net::ip;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `BufferConverter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "BufferConverter",
    ports: "2/1",
    processing: "lh/h",
    phase: 0,
    make: |args, _cx| {
        let mtu = args.required::<u16>("MTU")?;
        if mtu == 0 || usize::from(mtu) > usize::from(u16::MAX) - 40 {
            return Err(ConfigError::out_of_range("MTU must be 1 to 65495"));
        }
        Ok(Box::new(BufferConverter {
            mtu: usize::from(mtu),
            pending: Vec::new(),
        }))
    },
};

/// The converter.
pub struct BufferConverter {
    mtu: usize,
    /// Written data that did not fit in the last segment.
    pending: Vec<u8>,
}

impl BufferConverter {
    fn send(&mut self, cx: &Ctx, text: &[u8]) {
        self.pending.extend_from_slice(text);
        let n = self.pending.len().min(self.mtu);
        if let Some(p) = bare_segment(PSH, 0, 0, &self.pending[..n]) {
            self.pending.drain(..n);
            cx.push(0, p);
        }
    }

    /// The data of the next segment with any.
    fn receive(cx: &Ctx) -> String {
        while let Some(p) = cx.pull(0) {
            let data = payload(&p)
                .map(String::from_utf8_lossy)
                .map(|s| s.into_owned());
            cx.kill(p);
            if let Some(d) = data.filter(|d| !d.is_empty()) {
                return d;
            }
        }
        String::new()
    }
}

/// A TCP/IP packet's data (IP header annotation set).
fn payload(p: &Packet) -> Option<&[u8]> {
    let iph = p.network_header()?;
    let hl = usize::from(*iph.first()? & 0x0f) * 4;
    let total = usize::from(ip::get16(iph.get(..4)?, 2)).min(iph.len());
    let t = iph.get(hl..total)?;
    let off = usize::from(t.get(12)? >> 4) * 4;
    t.get(off..)
}

impl Element for BufferConverter {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        cx.kill(p);
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("data")];
        H
    }

    fn read_handler(&self, cx: &Ctx, _name: &str) -> String {
        Self::receive(cx)
    }

    fn write_handler(&mut self, cx: &Ctx, _name: &str, value: &str) -> Result<(), ConfigError> {
        self.send(cx, value.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{bare_segment, ACK};
    use crate::testing::{build_from_source, router_from_source, sink_contents};

    #[test]
    fn writes_become_segments_and_reads_take_data() {
        let (r, _) = router_from_source(
            "src :: Idle -> q :: Queue -> [0] b :: BufferConverter(4) -> s :: TestSink; Idle -> [1] b;",
        );
        r.write("b.data", "hello").unwrap();
        r.write("b.data", "ab").unwrap();
        let got = sink_contents(&r, "s");
        let data = |b: &[u8]| b[40..].to_vec();
        assert_eq!(data(&got[0].1), b"hell");
        assert_eq!(data(&got[1].1), b"oab", "the rest goes first next time");
        assert_eq!((got[0].1[1], got[0].1[6], got[0].1[33]), (0x10, 0x40, 0x08));
        let q = r.find("q").unwrap();
        r.inject(q, 0, bare_segment(ACK, 1, 2, &[]).unwrap());
        r.inject(q, 0, bare_segment(ACK, 1, 2, b"reply").unwrap());
        assert_eq!(
            r.read("b.data").unwrap(),
            "reply",
            "the empty ACK is skipped"
        );
        assert_eq!(r.read("b.data").unwrap(), "");
        assert!(build_from_source(
            "Idle -> [0] BufferConverter(0) -> Discard; Idle -> [1] BufferConverter@1;"
        )
        .is_err());
    }
}

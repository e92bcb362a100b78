//! `CopyFlowID()`: copies the addresses and ports of the first packet on input 0 onto packets on input 1.
//!
//! # Ports
//! Two inputs, two outputs; agnostic. Input 0 goes to output 0, input 1
//! to output 1.
//!
//! # Processing
//! Packets need their IP header annotation set (TCP or UDP). The first
//! packet on input 0 after initialization or a `reset` sets the flow:
//! its source and destination addresses and ports. It and later input-0
//! packets pass unchanged. Packets on input 1 get that flow's addresses
//! and ports written into them (checksums are left to `SetIPChecksum`
//! and `SetTCPChecksum`/`SetUDPChecksum`); before any flow is set, or if
//! too short to hold them, they are dropped.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `reset` (write): forget the flow; the next input-0 packet sets it.
//!
//! # Example
//! ```text
//! data -> [0] fid :: CopyFlowID [0] -> out;  acks -> [1] fid [1] -> out;
//! ```

use alloc::boxed::Box;

use super::Flow;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `CopyFlowID` class.
pub static CLASS: ElementClass = ElementClass {
    name: "CopyFlowID",
    ports: "2/2",
    processing: "a/a",
    phase: 0,
    make: |_args, _cx| Ok(Box::new(CopyFlowId(None))),
};

/// The flow copier.
pub struct CopyFlowId(Option<Flow>);

impl CopyFlowId {
    fn process(&mut self, cx: &Ctx, port: usize, mut p: Packet) -> Option<Packet> {
        if port == 0 {
            if self.0.is_none() {
                self.0 = Flow::of(&p);
            }
            return Some(p);
        }
        match self.0 {
            Some(f) if f.write_to(&mut p) => Some(p),
            _ => {
                cx.kill(p);
                None
            }
        }
    }
}

impl Element for CopyFlowId {
    fn push(&mut self, cx: &Ctx, port: usize, p: Packet) {
        if let Some(p) = self.process(cx, port, p) {
            cx.push(port, p);
        }
    }

    fn pull(&mut self, cx: &Ctx, port: usize) -> Option<Packet> {
        let p = cx.pull(port)?;
        self.process(cx, port, p)
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::write("reset")];
        H
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, _value: &str) -> Result<(), ConfigError> {
        self.0 = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{bare_segment, ip_tcp_packet, Header, ACK};
    use crate::testing::{router_from_source, sink_contents};

    #[test]
    fn first_flow_on_input_0_goes_onto_input_1() {
        let (r, _) = router_from_source(
            "Idle -> [0] f :: CopyFlowID [0] -> a :: TestSink; Idle -> [1] f [1] -> b :: TestSink;",
        );
        let f = r.find("f").unwrap();
        r.inject(f, 1, bare_segment(ACK, 0, 9, &[]).unwrap());
        assert!(sink_contents(&r, "b").is_empty(), "no flow yet");
        let h = |sport| Header {
            sport,
            dport: 80,
            ..Header::default()
        };
        r.inject(
            f,
            0,
            ip_tcp_packet([1, 1, 1, 1], [2, 2, 2, 2], 0, &h(1000), &[]).unwrap(),
        );
        r.inject(
            f,
            0,
            ip_tcp_packet([3, 3, 3, 3], [4, 4, 4, 4], 0, &h(7), &[]).unwrap(),
        );
        r.inject(f, 1, bare_segment(ACK, 0, 9, &[]).unwrap());
        let got = sink_contents(&r, "b");
        assert_eq!(
            &got[0].1[12..24],
            &[1, 1, 1, 1, 2, 2, 2, 2, 0x03, 0xe8, 0, 80]
        );
        assert_eq!(sink_contents(&r, "a").len(), 2);
        r.write("f.reset", "").unwrap();
        r.inject(
            f,
            0,
            ip_tcp_packet([3, 3, 3, 3], [4, 4, 4, 4], 0, &h(7), &[]).unwrap(),
        );
        r.inject(f, 1, bare_segment(ACK, 0, 9, &[]).unwrap());
        assert_eq!(&sink_contents(&r, "b")[1].1[12..16], &[3, 3, 3, 3]);
    }
}

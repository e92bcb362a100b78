//! One xenstore connection, two users: the router's store client (a byte
//! stream, as on KVM) and the kernel's own requests (the `control/shutdown`
//! watch that `xl shutdown` uses). Messages are interleaved whole; replies
//! to the kernel carry request ids with the top bit set, and its watch
//! events a token of its own, so they are taken out of the router's stream.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use xenstore::client::Transport;
use xenstore::ring::GuestRing;
use xenstore::wire::{split_args, FrameDecoder, HEADER_LEN};
use xenstore::{Message, MsgType};

use super::store::StoreNotify;

/// Request ids the kernel uses have this bit; the router's client counts
/// up from 1 and would need 2^31 requests to reach it.
const KERNEL_ID: u32 = 1 << 31;
/// Token of the kernel's `control/shutdown` watch.
const SHUTDOWN_TOKEN: &[u8] = b"mb-kernel/shutdown";
const SHUTDOWN_NODE: &str = "control/shutdown";
/// Token of the kernel's watches on the vifs' frontend and backend nodes.
const VIF_TOKEN: &[u8] = b"mb-kernel/vif";
const VIF_NODE: &str = "device/vif";
/// Most bytes buffered towards the ring before the router is told to wait.
const OUT_MAX: usize = 16 * 1024;

/// No stop requested.
pub const STOP_NONE: u32 = u32::MAX;
/// The `SHUTDOWN_*` reason the toolstack asked for, or [`STOP_NONE`].
pub static STOP_REQUEST: AtomicU32 = AtomicU32::new(STOP_NONE);
/// Set when a vif's frontend or backend nodes changed (a backend may have
/// gone away or come back); netfront looks at its states then.
pub static VIFS_CHANGED: AtomicBool = AtomicBool::new(false);

/// Takes the vif-change flag.
pub fn take_vif_change() -> bool {
    VIFS_CHANGED.swap(false, Ordering::AcqRel)
}

/// The multiplexer.
pub struct Mux {
    io: GuestRing<StoreNotify>,
    out: VecDeque<u8>,
    partial: Vec<u8>,
    dec: FrameDecoder,
    to_router: VecDeque<u8>,
    /// Router requests sent whose reply has not come back.
    router_pending: u32,
    next_id: u32,
    reading_shutdown: Option<u32>,
    /// The kernel request whose reply [`Mux::take_reply`] hands out.
    awaiting: Option<u32>,
    reply: Option<Message>,
    failed: bool,
}

impl Mux {
    /// A multiplexer over `io`; registers the shutdown watch.
    pub fn new(io: GuestRing<StoreNotify>) -> Mux {
        let mut m = Mux {
            io,
            out: VecDeque::new(),
            partial: Vec::new(),
            dec: FrameDecoder::new(),
            to_router: VecDeque::new(),
            router_pending: 0,
            next_id: KERNEL_ID,
            reading_shutdown: None,
            awaiting: None,
            reply: None,
            failed: false,
        };
        m.kernel_watch(SHUTDOWN_NODE, SHUTDOWN_TOKEN);
        m.kernel_watch(VIF_NODE, VIF_TOKEN);
        m.pump();
        m
    }

    fn kernel_watch(&mut self, node: &str, token: &[u8]) {
        let mut p = Vec::new();
        p.extend_from_slice(node.as_bytes());
        p.push(0);
        p.extend_from_slice(token);
        p.push(0);
        self.kernel_send(MsgType::Watch, p);
    }

    /// Watches `node` (a backend's `state`) for netfront; a second watch
    /// on the same node is refused by xenstored, harmlessly.
    pub fn watch_vif_node(&mut self, node: &str) {
        self.kernel_watch(node, VIF_TOKEN);
        self.pump();
    }

    /// Sends a kernel request; its reply comes from [`Mux::take_reply`].
    /// One at a time: a newer request makes an older reply be dropped.
    pub fn kernel_request(&mut self, ty: MsgType, payload: Vec<u8>) -> u32 {
        let id = self.kernel_send(ty, payload);
        self.awaiting = Some(id);
        self.reply = None;
        self.pump();
        id
    }

    /// The reply to kernel request `id`, once it came.
    pub fn take_reply(&mut self, id: u32) -> Option<Message> {
        if self.reply.as_ref().is_some_and(|m| m.req_id == id) {
            self.awaiting = None;
            return self.reply.take();
        }
        None
    }

    fn kernel_send(&mut self, ty: MsgType, payload: Vec<u8>) -> u32 {
        let id = self.next_id;
        self.next_id = KERNEL_ID | self.next_id.wrapping_add(1);
        let mut buf = Vec::new();
        if Message::new(ty, id, 0, payload)
            .encode_into(&mut buf)
            .is_ok()
        {
            self.out.extend(buf);
        }
        id
    }

    /// Moves bytes both ways and handles the kernel's messages (which may
    /// queue requests of their own: those go out before returning, or the
    /// guest could halt with them unsent).
    pub fn pump(&mut self) {
        self.flush();
        self.take_input();
        self.flush();
    }

    fn flush(&mut self) {
        while !self.out.is_empty() {
            let (a, _) = self.out.as_slices();
            match self.io.write(a) {
                Ok(0) => break,
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) => {
                    self.fail(e);
                    break;
                }
            }
        }
    }

    fn take_input(&mut self) {
        let mut tmp = [0u8; 512];
        loop {
            match self.io.read(&mut tmp) {
                Ok(0) => break,
                Ok(n) => self.dec.push(&tmp[..n]),
                Err(e) => {
                    self.fail(e);
                    break;
                }
            }
        }
        loop {
            match self.dec.next_message() {
                Ok(Some(m)) => self.route(m),
                Ok(None) => break,
                Err(_) => {
                    crate::kprintln!("mb: xenstore: reply longer than 4096 bytes; input reset");
                    self.dec.reset();
                    break;
                }
            }
        }
    }

    fn fail(&mut self, e: xenstore::ring::RingError) {
        if !self.failed {
            crate::kprintln!("mb: xenstore ring: {e}");
            self.failed = true;
        }
    }

    fn route(&mut self, m: Message) {
        if m.ty == MsgType::WatchEvent {
            let token = split_args(&m.payload, 2).map(|a| a[1] == SHUTDOWN_TOKEN);
            if token == Some(true) {
                let mut p = Vec::from(SHUTDOWN_NODE.as_bytes());
                p.push(0);
                self.reading_shutdown = Some(self.kernel_send(MsgType::Read, p));
                return;
            }
            if split_args(&m.payload, 2).is_some_and(|a| a[1] == VIF_TOKEN) {
                VIFS_CHANGED.store(true, Ordering::Release);
                return;
            }
        } else if m.req_id & KERNEL_ID != 0 {
            if Some(m.req_id) == self.reading_shutdown && m.ty == MsgType::Read {
                self.reading_shutdown = None;
                self.on_shutdown_value(&m.payload);
            } else if Some(m.req_id) == self.awaiting {
                self.reply = Some(m);
            }
            return;
        } else {
            self.router_pending = self.router_pending.saturating_sub(1);
        }
        let mut buf = Vec::new();
        if m.encode_into(&mut buf).is_ok() {
            self.to_router.extend(buf);
        }
    }

    fn on_shutdown_value(&mut self, value: &[u8]) {
        let reason = match value {
            b"poweroff" | b"halt" => super::sched::POWEROFF,
            b"reboot" => super::sched::REBOOT,
            b"crash" => super::sched::CRASH,
            _ => return,
        };
        // Acknowledge as Linux does: clearing the node tells the toolstack
        // the request was seen.
        let mut p = Vec::from(SHUTDOWN_NODE.as_bytes());
        p.push(0);
        self.kernel_send(MsgType::Write, p);
        self.pump();
        crate::kprintln!(
            "mb: xen: toolstack asked for {}",
            core::str::from_utf8(value).unwrap_or("?")
        );
        STOP_REQUEST.store(reason, Ordering::Release);
    }

    /// The router's bytes towards the server; returns how many were taken.
    pub fn router_write(&mut self, buf: &[u8]) -> usize {
        if self.out.len() + self.partial.len() >= OUT_MAX {
            self.pump();
            return 0;
        }
        self.partial.extend_from_slice(buf);
        // Only whole messages join the queue, so kernel messages never
        // land inside one of the router's.
        while self.partial.len() >= HEADER_LEN {
            let len = u32::from_ne_bytes([
                self.partial[12],
                self.partial[13],
                self.partial[14],
                self.partial[15],
            ]) as usize;
            let total = HEADER_LEN + len;
            if self.partial.len() < total {
                break;
            }
            self.out.extend(self.partial.drain(..total));
            self.router_pending += 1;
        }
        self.pump();
        buf.len()
    }

    /// Bytes from the server for the router.
    pub fn router_read(&mut self, buf: &mut [u8]) -> usize {
        self.pump();
        let n = buf.len().min(self.to_router.len());
        for (d, s) in buf.iter_mut().zip(self.to_router.drain(..n)) {
            *d = s;
        }
        n
    }

    /// Whether the router has bytes waiting.
    pub fn router_has_input(&self) -> bool {
        !self.to_router.is_empty()
    }

    /// Before the kernel takes the ring over (shutdown): sends what is
    /// queued and waits (bounded) for the replies the router still
    /// expects, so that no stray reply meets the kernel's next client.
    pub fn quiesce(&mut self, port: u32) {
        for _ in 0..200 {
            self.pump();
            self.to_router.clear();
            if self.out.is_empty() && self.router_pending == 0 && self.dec.buffered() == 0 {
                return;
            }
            super::store::wait_for_port(port, 10_000_000);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xen::store::StoreRing;
    use xenstore::ring::{ServerRing, SharedPage, FEATURE_RECONNECTION};

    /// Reads whole messages the guest side produced.
    fn server_msgs(srv: &mut ServerRing, dec: &mut FrameDecoder) -> Vec<Message> {
        let mut buf = [0u8; 4096];
        let n = srv.read_requests(&mut buf).unwrap();
        dec.push(&buf[..n]);
        let mut v = Vec::new();
        while let Some(m) = dec.next_message().unwrap() {
            v.push(m);
        }
        v
    }

    fn send(srv: &mut ServerRing, m: Message) {
        let mut b = Vec::new();
        m.encode_into(&mut b).unwrap();
        assert_eq!(srv.write_responses(&b).unwrap(), b.len());
    }

    #[test]
    fn kernel_and_router_share_the_ring() {
        let page = SharedPage::new().unwrap();
        let mut srv = ServerRing::new(page.interface(), FEATURE_RECONNECTION);
        let ring = StoreRing { pfn: 0, port: 1 };
        // Notifications are no-ops on the host (no hypercall page).
        let mut mux = Mux::new(GuestRing::new(page.interface(), StoreNotify::new(ring)));
        let mut dec = FrameDecoder::new();

        // The kernel's watches go out first, with kernel request ids.
        let m = server_msgs(&mut srv, &mut dec);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].ty, MsgType::Watch);
        assert!(m[0].req_id & KERNEL_ID != 0);
        assert_eq!(m[0].payload, b"control/shutdown\0mb-kernel/shutdown\0");
        assert_eq!(m[1].payload, b"device/vif\0mb-kernel/vif\0");
        let vif_watch = m[1].req_id;

        // A router request written in two pieces reaches the server whole.
        let mut req = Vec::new();
        Message::new(MsgType::Read, 1, 0, b"data/x\0".to_vec())
            .encode_into(&mut req)
            .unwrap();
        assert_eq!(mux.router_write(&req[..5]), 5);
        assert!(server_msgs(&mut srv, &mut dec).is_empty());
        assert_eq!(mux.router_write(&req[5..]), req.len() - 5);
        let m = server_msgs(&mut srv, &mut dec);
        assert_eq!((m.len(), m[0].req_id), (1, 1));

        // The kernel's watch reply and event stay out of the router's
        // stream; the router's reply and its own events go through.
        send(&mut srv, Message::ok(MsgType::Watch, KERNEL_ID, 0));
        send(&mut srv, Message::ok(MsgType::Watch, vif_watch, 0));
        send(
            &mut srv,
            Message::new(
                MsgType::WatchEvent,
                0,
                0,
                b"control/shutdown\0mb-kernel/shutdown\0".to_vec(),
            ),
        );
        send(&mut srv, Message::new(MsgType::Read, 1, 0, b"42".to_vec()));
        send(
            &mut srv,
            Message::new(MsgType::WatchEvent, 0, 0, b"data/x\0tok\0".to_vec()),
        );
        let mut got = [0u8; 256];
        let n = mux.router_read(&mut got);
        let mut rdec = FrameDecoder::new();
        rdec.push(&got[..n]);
        let a = rdec.next_message().unwrap().unwrap();
        let b = rdec.next_message().unwrap().unwrap();
        assert!(rdec.next_message().unwrap().is_none());
        assert_eq!(
            (a.ty, a.req_id, a.payload.as_slice()),
            (MsgType::Read, 1, &b"42"[..])
        );
        assert_eq!(
            (b.ty, b.payload.as_slice()),
            (MsgType::WatchEvent, &b"data/x\0tok\0"[..])
        );

        // The event made the kernel read the node; "poweroff" requests a
        // stop and is acknowledged by clearing the node.
        let m = server_msgs(&mut srv, &mut dec);
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].ty, m[0].payload.as_slice()),
            (MsgType::Read, &b"control/shutdown\0"[..])
        );
        assert_eq!(STOP_REQUEST.load(Ordering::Acquire), STOP_NONE);
        send(
            &mut srv,
            Message::new(MsgType::Read, m[0].req_id, 0, b"poweroff".to_vec()),
        );
        assert_eq!(mux.router_read(&mut got), 0);
        assert_eq!(
            STOP_REQUEST.load(Ordering::Acquire),
            super::super::sched::POWEROFF
        );
        let m = server_msgs(&mut srv, &mut dec);
        assert_eq!(
            (m[0].ty, m[0].payload.as_slice()),
            (MsgType::Write, &b"control/shutdown\0"[..])
        );
        assert_eq!(mux.router_pending, 0);
    }

    #[test]
    fn vif_events_and_kernel_replies_stay_in_the_kernel() {
        let page = SharedPage::new().unwrap();
        let mut srv = ServerRing::new(page.interface(), FEATURE_RECONNECTION);
        let ring = StoreRing { pfn: 0, port: 1 };
        let mut mux = Mux::new(GuestRing::new(page.interface(), StoreNotify::new(ring)));
        let mut dec = FrameDecoder::new();
        server_msgs(&mut srv, &mut dec);

        // A backend's state watch, then an event on it: the flag is set
        // and the router sees nothing.
        mux.watch_vif_node("backend/vif/3/0/state");
        let m = server_msgs(&mut srv, &mut dec);
        assert_eq!(m[0].payload, b"backend/vif/3/0/state\0mb-kernel/vif\0");
        take_vif_change();
        send(
            &mut srv,
            Message::new(
                MsgType::WatchEvent,
                0,
                0,
                b"backend/vif/3/0/state\0mb-kernel/vif\0".to_vec(),
            ),
        );
        let mut got = [0u8; 256];
        assert_eq!(mux.router_read(&mut got), 0);
        assert!(take_vif_change());
        assert!(!take_vif_change());

        // A kernel read: its reply is held for the kernel, an older
        // request's late reply is dropped.
        let old = mux.kernel_request(MsgType::Read, b"device/vif/0/state\0".to_vec());
        let id = mux.kernel_request(MsgType::Read, b"device/vif/0/state\0".to_vec());
        assert_ne!(old, id);
        send(&mut srv, Message::new(MsgType::Read, old, 0, b"1".to_vec()));
        assert_eq!(mux.router_read(&mut got), 0);
        assert!(mux.take_reply(id).is_none());
        send(&mut srv, Message::new(MsgType::Read, id, 0, b"4".to_vec()));
        assert_eq!(mux.router_read(&mut got), 0);
        let r = mux.take_reply(id).unwrap();
        assert_eq!(r.payload, b"4");
        assert!(mux.take_reply(id).is_none());
    }
}

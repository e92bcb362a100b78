//! The sans-IO client state machine.

use super::request::{Reply, Request, WatchEvent};
use crate::wire::{split_args, FrameDecoder, Message, MsgType, WireError};
use crate::Errno;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why a request did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientError {
    /// The server answered with this errno.
    Xs(Errno),
    /// The server broke the protocol (bad framing, unexpected reply).
    Protocol(&'static str),
    /// The connection was reset while the request was in flight.
    Disconnected,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Xs(e) => write!(f, "xenstore error {e}"),
            ClientError::Protocol(m) => write!(f, "xenstore protocol error: {m}"),
            ClientError::Disconnected => f.write_str("xenstore connection reset"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ClientError {}

impl From<Errno> for ClientError {
    fn from(e: Errno) -> Self {
        ClientError::Xs(e)
    }
}

impl ClientError {
    /// The server's errno, if that is what this is.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            ClientError::Xs(e) => Some(*e),
            _ => None,
        }
    }
}

/// Identifies a request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReqId(pub u32);

#[derive(Debug, Clone)]
struct Pending {
    ty: MsgType,
    /// For `WATCH`/`UNWATCH`: the path and token, to track registered watches.
    watch: Option<(String, Vec<u8>)>,
    /// Sent by the client itself (re-registration); the reply is dropped.
    internal: bool,
}

/// The client state machine. See the [module docs](super).
#[derive(Debug, Default)]
pub struct Client {
    next_req: u32,
    out: Vec<u8>,
    out_pos: usize,
    dec: FrameDecoder,
    pending: BTreeMap<u32, Pending>,
    done: BTreeMap<u32, Result<Reply, ClientError>>,
    events: VecDeque<WatchEvent>,
    watches: Vec<(String, Vec<u8>)>,
    broken: Option<ClientError>,
}

impl Client {
    /// A fresh client with nothing in flight.
    pub fn new() -> Client {
        Client {
            next_req: 1,
            ..Client::default()
        }
    }

    fn alloc_id(&mut self) -> u32 {
        loop {
            let id = self.next_req;
            self.next_req = self.next_req.wrapping_add(1).max(1);
            if !self.pending.contains_key(&id) && !self.done.contains_key(&id) {
                return id;
            }
        }
    }

    fn enqueue(&mut self, tx_id: u32, req: &Request, internal: bool) -> Result<ReqId, ClientError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        let payload = req.payload()?;
        let id = self.alloc_id();
        let msg = Message::new(req.msg_type(), id, tx_id, payload);
        msg.encode_into(&mut self.out)
            .map_err(|_| ClientError::Xs(Errno::E2BIG))?;
        let watch = match req {
            Request::Watch(p, t) | Request::Unwatch(p, t) => Some((String::from(*p), t.to_vec())),
            _ => None,
        };
        self.pending.insert(
            id,
            Pending {
                ty: req.msg_type(),
                watch,
                internal,
            },
        );
        Ok(ReqId(id))
    }

    /// Queues a request (in transaction `tx_id`, 0 for none); its bytes appear in [`output`](Self::output).
    pub fn send(&mut self, tx_id: u32, req: &Request) -> Result<ReqId, ClientError> {
        self.enqueue(tx_id, req, false)
    }

    /// Bytes waiting to go to the server.
    pub fn output(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    /// Marks `n` bytes of [`output`](Self::output) as sent.
    pub fn consume_output(&mut self, n: usize) {
        self.out_pos = (self.out_pos + n).min(self.out.len());
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
    }

    /// Whether requests are waiting for replies.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Feeds bytes received from the server. A framing error breaks the
    /// connection: every request in flight fails and [`reconnected`](Self::reconnected) is needed.
    pub fn input(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        self.dec.push(bytes);
        loop {
            match self.dec.next_message() {
                Ok(Some(m)) => self.route(m),
                Ok(None) => return Ok(()),
                Err(WireError::TooLong(_)) => {
                    let e = ClientError::Protocol("reply longer than 4096 bytes");
                    self.fail_all(e);
                    self.broken = Some(e);
                    return Err(e);
                }
            }
        }
    }

    fn route(&mut self, m: Message) {
        if m.ty == MsgType::WatchEvent {
            if let Some(args) = split_args(&m.payload, 2) {
                if let Ok(p) = core::str::from_utf8(args[0]) {
                    self.events.push_back(WatchEvent {
                        path: String::from(p),
                        token: args[1].to_vec(),
                    });
                }
            }
            return;
        }
        // Replies to unknown ids (e.g. from before a reconnection) are dropped.
        let Some(p) = self.pending.remove(&m.req_id) else {
            return;
        };
        let result = if let Some(e) = m.errno() {
            Err(ClientError::Xs(e))
        } else if m.ty != p.ty {
            Err(ClientError::Protocol("reply type does not match request"))
        } else {
            Ok(Reply {
                ty: m.ty,
                payload: m.payload,
            })
        };
        if result.is_ok() {
            match (p.ty, p.watch) {
                (MsgType::Watch, Some(w)) if !self.watches.contains(&w) => self.watches.push(w),
                (MsgType::Unwatch, Some(w)) => self.watches.retain(|x| *x != w),
                (MsgType::ResetWatches, _) => self.watches.clear(),
                _ => {}
            }
        }
        if !p.internal {
            self.done.insert(m.req_id, result);
        }
    }

    fn fail_all(&mut self, e: ClientError) {
        for (id, p) in core::mem::take(&mut self.pending) {
            if !p.internal {
                self.done.insert(id, Err(e));
            }
        }
    }

    /// The outcome of request `id`, once its reply arrived.
    pub fn take_reply(&mut self, id: ReqId) -> Option<Result<Reply, ClientError>> {
        self.done.remove(&id.0)
    }

    /// The oldest watch event not yet taken.
    pub fn next_event(&mut self) -> Option<WatchEvent> {
        self.events.pop_front()
    }

    /// Number of queued watch events.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// The watches the server confirmed (path as given, token).
    pub fn watches(&self) -> &[(String, Vec<u8>)] {
        &self.watches
    }

    /// Call after the transport was reset (the server forgot this connection):
    /// fails requests in flight with [`ClientError::Disconnected`], drops
    /// partial input and queued output, and queues `WATCH` again for every
    /// registered watch (each then fires its initial event, as after any `WATCH`).
    pub fn reconnected(&mut self) {
        self.fail_all(ClientError::Disconnected);
        self.out.clear();
        self.out_pos = 0;
        self.dec.reset();
        self.broken = None;
        let watches = core::mem::take(&mut self.watches);
        for (p, t) in &watches {
            // A watch that was valid before is valid now; ignore the impossible failure.
            let _ = self.enqueue(0, &Request::Watch(p, t), true);
        }
        self.watches = watches;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::nul_terminated;

    fn reply(ty: MsgType, id: ReqId, payload: &[u8]) -> Vec<u8> {
        Message::new(ty, id.0, 0, payload.to_vec())
            .encode()
            .unwrap()
    }

    #[test]
    fn replies_match_out_of_order_with_events_between() {
        let mut c = Client::new();
        let a = c.send(0, &Request::Read("/a")).unwrap();
        let b = c.send(0, &Request::Read("/b")).unwrap();
        assert_ne!(a, b);
        let n = c.output().len();
        c.consume_output(n);
        let mut bytes = reply(MsgType::Read, b, b"B");
        bytes.extend(
            Message::new(MsgType::WatchEvent, 0, 0, b"/w\0tok\0".to_vec())
                .encode()
                .unwrap(),
        );
        bytes.extend(Message::error(a.0, 0, Errno::ENOENT).encode().unwrap());
        for chunk in bytes.chunks(5) {
            c.input(chunk).unwrap();
        }
        assert_eq!(c.take_reply(b).unwrap().unwrap().bytes(), b"B");
        assert_eq!(
            c.take_reply(a).unwrap(),
            Err(ClientError::Xs(Errno::ENOENT))
        );
        assert_eq!(
            c.next_event(),
            Some(WatchEvent {
                path: "/w".into(),
                token: b"tok".to_vec()
            })
        );
        assert!(c.next_event().is_none());
    }

    #[test]
    fn bad_paths_never_reach_the_wire() {
        let mut c = Client::new();
        assert_eq!(
            c.send(0, &Request::Read("/a//b")),
            Err(ClientError::Xs(Errno::EINVAL))
        );
        assert!(c.output().is_empty());
    }

    #[test]
    fn reconnection_fails_in_flight_and_rewatches() {
        let mut c = Client::new();
        let w = c.send(0, &Request::Watch("data", b"t")).unwrap();
        c.input(&reply(MsgType::Watch, w, &nul_terminated("OK")))
            .unwrap();
        assert!(c.take_reply(w).unwrap().is_ok());
        let n = c.output().len();
        c.consume_output(n);
        let r = c.send(0, &Request::Read("/x")).unwrap();
        c.reconnected();
        assert_eq!(c.take_reply(r), Some(Err(ClientError::Disconnected)));
        // The re-registration is queued and its reply swallowed.
        let mut d = FrameDecoder::new();
        d.push(c.output());
        let m = d.next_message().unwrap().unwrap();
        assert_eq!(m.ty, MsgType::Watch);
        assert_eq!(m.payload, b"data\0t\0");
        c.input(&reply(
            MsgType::Watch,
            ReqId(m.req_id),
            &nul_terminated("OK"),
        ))
        .unwrap();
        assert!(c.take_reply(ReqId(m.req_id)).is_none());
        assert_eq!(c.watches().len(), 1);
    }

    #[test]
    fn oversized_reply_breaks_connection() {
        let mut c = Client::new();
        let r = c.send(0, &Request::Read("/x")).unwrap();
        let mut h = crate::wire::Header {
            ty: MsgType::Read,
            req_id: r.0,
            tx_id: 0,
            len: 5000,
        }
        .encode()
        .to_vec();
        h.push(0);
        assert!(c.input(&h).is_err());
        assert_eq!(
            c.take_reply(r),
            Some(Err(ClientError::Protocol("reply longer than 4096 bytes")))
        );
        assert!(c.send(0, &Request::Read("/x")).is_err());
        c.reconnected();
        assert!(c.send(0, &Request::Read("/x")).is_ok());
    }
}

//! The state channel's protocol: requests a host sends to a running
//! router and their replies, each a postcard message in a frame (a 4-byte
//! little-endian length, then the message). The guest serves it on its
//! bulk channel (a second virtio-console on KVM); [`serve`] answers a
//! request against a [`Router`], so every host of a router answers alike.
//!
//! One request at a time. A reply flows in windows of [`WINDOW`] bytes:
//! after the first, the sender sends the next only once the receiver has
//! sent one credit byte for the window before. QEMU's virtconsole drops
//! what its socket does not take at once, so without credits a reply
//! larger than the socket's buffer would lose bytes.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::{delete, get, put, reprocess, Chunks, Event, FlowFilter, Parts, PutCount};
use crate::router::Router;

/// Version of this protocol; a request of another is refused.
pub const PROTOCOL: u16 = 1;

/// Bytes of a reply the guest sends per credit (less than a unix
/// socket's default buffer, so a window always fits in it).
pub const WINDOW: usize = 128 << 10;

/// Largest frame either side accepts (100k NAT flows are about 5 MB).
pub const FRAME_MAX: usize = 64 << 20;

/// A request, with the protocol version it speaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`PROTOCOL`].
    pub protocol: u16,
    /// What to do.
    pub request: Request,
}

/// What a host asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// The elements that keep state.
    List,
    /// Export `parts` of `element`'s state, per-flow state by `filter`
    /// (an IPFilter expression).
    Get {
        /// Element name.
        element: String,
        /// IPFilter expression (`-` for all).
        filter: String,
        /// What to export.
        parts: Parts,
    },
    /// Install [`Chunks`] (as bytes) into `element`.
    Put {
        /// Element name.
        element: String,
        /// [`Chunks::to_bytes`].
        #[serde(with = "serde_bytes")]
        chunks: Vec<u8>,
    },
    /// Delete per-flow state by filter.
    Delete {
        /// Element name.
        element: String,
        /// IPFilter expression.
        filter: String,
    },
    /// Enter events mode for the flows `filter` selects, or leave it.
    Events {
        /// Element name.
        element: String,
        /// IPFilter expression; `None` leaves events mode.
        filter: Option<String>,
    },
    /// The packets held in events mode so far.
    TakeEvents {
        /// Element name.
        element: String,
    },
    /// Process packets another instance held, in order.
    Reprocess {
        /// Element name.
        element: String,
        /// The packets.
        events: Vec<Event>,
    },
    /// Ends a move at the destination, atomically (one guest poll, no
    /// packet in between): leave events mode, process `events` (held by
    /// the source, in order), then the packets held here meanwhile.
    Release {
        /// Element name.
        element: String,
        /// The source's held packets.
        events: Vec<Event>,
    },
    /// Sends the bytes back (to measure the channel).
    Echo(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// One stateful element, as [`Request::List`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementState {
    /// Its name.
    pub name: String,
    /// Its class.
    pub class: String,
    /// What it keeps ([`super::StateInfo::describe`]).
    pub keeps: String,
    /// It has an events mode.
    pub events: bool,
    /// It keeps per-flow state.
    pub per_flow: bool,
    /// It keeps shared supporting state (what a clone copies).
    pub shared_supporting: bool,
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// For [`Request::List`].
    List(Vec<ElementState>),
    /// For [`Request::Get`]: [`Chunks::to_bytes`].
    Chunks(#[serde(with = "serde_bytes")] Vec<u8>),
    /// For [`Request::Put`].
    Put(PutCount),
    /// Flows deleted, covered by events mode, or packets re-processed.
    Count(u64),
    /// For [`Request::TakeEvents`].
    Events(Vec<Event>),
    /// For [`Request::Echo`].
    Echo(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// An answer: the reply or the error message.
pub type Response = Result<Reply, String>;

/// Prefixes `msg` with its length.
pub fn frame(msg: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + msg.len());
    v.extend_from_slice(&(msg.len() as u32).to_le_bytes());
    v.extend_from_slice(msg);
    v
}

/// Encodes a request as a frame.
pub fn request_frame(r: &Request) -> Vec<u8> {
    let env = Envelope {
        protocol: PROTOCOL,
        request: r.clone(),
    };
    frame(&postcard::to_allocvec(&env).unwrap_or_default())
}

/// Encodes a response as a frame.
pub fn response_frame(r: &Response) -> Vec<u8> {
    frame(&postcard::to_allocvec(r).unwrap_or_default())
}

/// Decodes a response message (a frame's payload).
pub fn decode_response(msg: &[u8]) -> Response {
    postcard::from_bytes(msg).map_err(|e| format!("malformed reply on the state channel: {e}"))?
}

/// Reassembles frames from a byte stream.
#[derive(Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    /// Adds bytes received.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message, if one has arrived; an error for a frame
    /// over [`FRAME_MAX`] (the stream is then unusable: the caller resets).
    pub fn next_message(&mut self) -> Option<Result<Vec<u8>, String>> {
        let len = u32::from_le_bytes(self.buf.get(..4)?.try_into().ok()?) as usize;
        if len > FRAME_MAX {
            self.buf.clear();
            return Some(Err(format!("a frame of {len} bytes is over the limit")));
        }
        if self.buf.len() < 4 + len {
            return None;
        }
        let rest = self.buf.split_off(4 + len);
        let mut msg = core::mem::replace(&mut self.buf, rest);
        msg.drain(..4);
        Some(Ok(msg))
    }

    /// Bytes waiting for the rest of their frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// Answers one request message (a frame's payload) against `router`.
pub fn serve_message(router: &Router, msg: &[u8]) -> Response {
    let env: Envelope =
        postcard::from_bytes(msg).map_err(|e| format!("malformed state request: {e}"))?;
    if env.protocol != PROTOCOL {
        return Err(format!(
            "state channel protocol {} is not {PROTOCOL}",
            env.protocol
        ));
    }
    serve(router, env.request)
}

fn filter(text: &str) -> Result<FlowFilter, String> {
    FlowFilter::parse(text).map_err(|e| e.to_string())
}

/// Answers `req` against `router`.
pub fn serve(router: &Router, req: Request) -> Response {
    if let Request::List = req {
        return Ok(Reply::List(list(router)));
    }
    if let Request::Echo(b) = req {
        return Ok(Reply::Echo(b));
    }
    let name = match &req {
        Request::Get { element, .. }
        | Request::Put { element, .. }
        | Request::Delete { element, .. }
        | Request::Events { element, .. }
        | Request::TakeEvents { element }
        | Request::Reprocess { element, .. }
        | Request::Release { element, .. } => element.clone(),
        Request::List | Request::Echo(_) => unreachable!("answered above"),
    };
    let eid = router
        .find(&name)
        .ok_or_else(|| format!("no element '{name}'"))?;
    let class = router.info(eid).class.name;
    if let Request::Reprocess { events, .. } = &req {
        return Ok(Reply::Count(reprocess(router, eid, events) as u64));
    }
    if let Request::Release { events, .. } = &req {
        let held = router
            .with_element(eid, |e, _| {
                let s = e.state()?;
                let mut v = Vec::new();
                s.take_events(&mut v);
                s.set_events(None).ok()?;
                Some(v)
            })
            .flatten()
            .ok_or_else(|| format!("element '{name}' ({class}) has no events mode"))?;
        let n = reprocess(router, eid, events) + reprocess(router, eid, &held);
        return Ok(Reply::Count(n as u64));
    }
    let now = router.now();
    router
        .with_element(eid, |e, _| {
            let Some(s) = e.state() else {
                return Err(format!("element '{name}' ({class}) keeps no state"));
            };
            let err = |e: super::StateError| format!("{name} ({class}): {e}");
            match req {
                Request::Get {
                    filter: f, parts, ..
                } => {
                    let c = get(s, class, &filter(&f)?, parts).map_err(err)?;
                    Ok(Reply::Chunks(c.to_bytes()))
                }
                Request::Put { chunks, .. } => {
                    let c = Chunks::from_bytes(&chunks).map_err(err)?;
                    Ok(Reply::Put(put(s, class, &c, now).map_err(err)?))
                }
                Request::Delete { filter: f, .. } => {
                    let n = delete(s, class, &filter(&f)?).map_err(err)?;
                    Ok(Reply::Count(n as u64))
                }
                Request::Events { filter: f, .. } => {
                    let f = f.as_deref().map(filter).transpose()?;
                    let n = s.set_events(f.as_ref()).map_err(|e| match e {
                        super::StateError::NoEvents(_) => {
                            err(super::StateError::NoEvents(class.to_string()))
                        }
                        e => err(e),
                    })?;
                    Ok(Reply::Count(n as u64))
                }
                Request::TakeEvents { .. } => {
                    let mut v = Vec::new();
                    s.take_events(&mut v);
                    Ok(Reply::Events(v))
                }
                _ => unreachable!("answered above"),
            }
        })
        .unwrap_or_else(|| Err(format!("element '{name}' is busy")))
}

fn list(router: &Router) -> Vec<ElementState> {
    (0..router.len())
        .filter_map(|eid| {
            let info = router.info(eid);
            let si = router
                .with_element(eid, |e, _| e.state().map(|s| s.info()))
                .flatten()?;
            Some(ElementState {
                name: info.name.clone(),
                class: info.class.name.to_string(),
                keeps: si.describe(),
                events: si.events,
                per_flow: si.per_flow.is_some(),
                shared_supporting: si.shared_supporting,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::router_from_source;

    fn ask(r: &Router, req: Request) -> Response {
        // Through the framing and postcard, as on the wire.
        let mut f = Framer::default();
        let bytes = request_frame(&req);
        let (a, b) = bytes.split_at(3);
        f.push(a);
        assert!(f.next_message().is_none());
        f.push(b);
        let msg = f.next_message().unwrap().unwrap();
        let mut back = Framer::default();
        back.push(&response_frame(&serve_message(r, &msg)));
        decode_response(&back.next_message().unwrap().unwrap())
    }

    #[test]
    fn requests_answer_through_frames() {
        let (r, _) = router_from_source(
            "Idle -> rw :: IPRewriter(pattern 1.2.3.4 1024-2047 - - 0 0) -> Discard;
             Idle -> c :: Counter -> Discard;",
        );
        let Ok(Reply::List(l)) = ask(&r, Request::List) else {
            panic!()
        };
        assert_eq!(l.len(), 2);
        assert_eq!((l[0].name.as_str(), l[0].events), ("rw", true));
        assert!(l[1].keeps.contains("shared reporting"), "{:?}", l[1]);
        let get = |element: &str, filter: &str| Request::Get {
            element: element.into(),
            filter: filter.into(),
            parts: Parts::ALL,
        };
        let Ok(Reply::Chunks(c)) = ask(&r, get("rw", "tcp")) else {
            panic!()
        };
        let put = Request::Put {
            element: "c".into(),
            chunks: c.clone(),
        };
        let e = ask(&r, put).unwrap_err();
        assert!(e.contains("IPRewriter") && e.contains("Counter"), "{e}");
        let e = ask(&r, get("rw", "tcp and frob")).unwrap_err();
        assert!(e.starts_with("filter:1:9: "), "{e}");
        assert_eq!(ask(&r, get("nope", "-")).unwrap_err(), "no element 'nope'");
        let ev = Request::Events {
            element: "c".into(),
            filter: Some("-".into()),
        };
        let e = ask(&r, ev).unwrap_err();
        assert!(e.contains("Counter cannot hand packets back"), "{e}");
        assert_eq!(
            ask(&r, Request::Echo(alloc::vec![7; 100_000])),
            Ok(Reply::Echo(alloc::vec![7; 100_000]))
        );
        let mut f = Framer::default();
        f.push(&u32::MAX.to_le_bytes());
        assert!(f.next_message().unwrap().is_err());
    }
}

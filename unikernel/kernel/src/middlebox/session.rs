//! The guest's store session: one connection, opened with ClickOS's hello
//! (announce, watch, ask for the config), whose watch events and replies
//! go to the piece that asked ([`ConfigLoader`], [`Handlers`]) and which
//! publishes the counters under `data/mb/`. A session that stalls is
//! replaced by a fresh one.

use alloc::string::String;
use alloc::vec::Vec;

use clickos_proto::{classify, Event, Home, Stats};
use xenstore::client::{ClientError, Reply, Request};

use super::app::App;
use super::config::ConfigLoader;
use super::handlers::Handlers;
use crate::store::link::Link;
use crate::store::stats::{BusyMeter, Publisher};
use crate::stream::ByteStream;
use crate::time;

/// The guest names its nodes relative to its own home.
pub const HOME: Home = Home::Own;
/// The store's payload limit, minus room for the path.
pub const VALUE_MAX: usize = 4096 - 256;

/// What a store reply is for.
pub enum Tag {
    /// Nothing to do unless it failed.
    Ignore,
    /// The router's status.
    Status,
    /// Config chunk `i`.
    Chunk(u32),
    /// A read request's node, for `element.handler`.
    Control(String, String),
    /// A value under `elements/`, for `element.handler`.
    Value(String, String),
    /// `data/mb/beat_ms`, the heartbeat period.
    BeatPeriod,
}

/// The store connection as the session's pieces use it: requests go out
/// with a tag; one that cannot be sent is logged, and the host's wait for
/// its answer times out.
pub struct Conn {
    link: Link<Tag>,
}

impl Conn {
    /// Queues `req`; its reply comes back with `tag`.
    pub fn send(&mut self, req: &Request, tag: Tag) {
        if let Err(e) = self.link.send(req, tag) {
            crate::kprintln!("mb: store request {req:?} not sent: {e}");
        }
    }

    /// Writes an error message to `path`, cut to what a store value holds.
    pub fn write_message(&mut self, path: &str, msg: &str) {
        let msg = truncate(msg, VALUE_MAX);
        self.send(&Request::Write(path, msg.as_bytes()), Tag::Ignore);
    }
}

/// An open store session.
pub struct Session {
    conn: Conn,
    config: ConfigLoader,
    handlers: Handlers,
    publisher: Publisher,
}

impl Session {
    /// A fresh session with its hello queued (not yet sent).
    pub fn open() -> Session {
        let mut s = Session {
            conn: Conn { link: Link::new() },
            config: ConfigLoader::new(),
            handlers: Handlers::new(),
            publisher: Publisher::new(),
        };
        // As ClickOS: the root tells tools this is a ClickOS guest, and one
        // watch on it carries every request.
        let root = HOME.clickos();
        s.conn.send(&Request::Write(&root, b""), Tag::Ignore);
        s.conn.send(
            &Request::Watch(&root, clickos_proto::WATCH_TOKEN.as_bytes()),
            Tag::Ignore,
        );
        // Ask now rather than after the watch's first event: one round
        // trip less to the first config.
        s.config.status_changed(&mut s.conn);
        // The host may ask for a heartbeat at any time; the watch's first
        // event reads what it asked before this session.
        s.conn.send(
            &Request::Watch(&HOME.beat_ms(), clickos_proto::BEAT_TOKEN.as_bytes()),
            Tag::Ignore,
        );
        s
    }

    /// Moves bytes both ways as far as the stream allows now; true if any
    /// moved.
    pub fn pump(&mut self, stream: &mut dyn ByteStream) -> bool {
        self.conn.link.pump(stream)
    }

    /// Handles what the store sent, publishes the counters when due, and
    /// sends what that asked for; true if anything happened.
    pub fn poll(
        &mut self,
        stream: &mut dyn ByteStream,
        app: &mut App,
        busy: &mut BusyMeter,
    ) -> bool {
        let mut work = self.pump(stream);
        if self.conn.link.stalled(time::now_ns()) {
            // Requests went unanswered (see `Link::stalled`): start over.
            // Every request the guest sends is idempotent, so sending them
            // again is safe; a watch the server kept answers `EEXIST`,
            // which is harmless.
            crate::kprintln!("mb: store: no reply for 2 s; starting the store session over");
            *self = Session::open();
            return true;
        }
        let mut events = Vec::new();
        while let Some(ev) = self.conn.link.next_event() {
            events.push(ev.path);
        }
        let mut replies = Vec::new();
        while let Some(r) = self.conn.link.next_reply() {
            replies.push(r);
        }
        work |= !events.is_empty() || !replies.is_empty();
        for path in events {
            self.on_event(&path, app);
        }
        for (tag, r) in replies {
            self.on_reply(tag, r, app);
        }
        self.publish(app, busy);
        work | self.pump(stream)
    }

    fn on_event(&mut self, path: &str, app: &mut App) {
        let conn = &mut self.conn;
        match classify(path) {
            Event::Root | Event::Status => self.config.status_changed(conn),
            Event::ControlRead { element, handler } => {
                self.handlers.read_requested(element, handler, app, conn)
            }
            Event::ElementValue { element, handler } => {
                self.handlers.value_changed(element, handler, conn)
            }
            Event::BeatPeriod => conn.send(&Request::Read(&HOME.beat_ms()), Tag::BeatPeriod),
            Event::Other => {}
        }
    }

    fn on_reply(&mut self, tag: Tag, r: Result<Reply, ClientError>, app: &mut App) {
        let conn = &mut self.conn;
        match tag {
            Tag::Ignore => {
                if let Err(e) = r {
                    crate::kprintln!("mb: store request failed: {e}");
                }
            }
            Tag::Status => self.config.on_status(r, app, conn),
            Tag::Chunk(i) => self.config.on_chunk(i, r, app, conn),
            Tag::Control(e, h) => self.handlers.on_request_node(&e, &h, r, app, conn),
            Tag::Value(e, h) => self.handlers.on_value(&e, &h, r, app, conn),
            Tag::BeatPeriod => {
                // Missing (or unreadable) means no heartbeat.
                let ms = r.ok().and_then(|v| {
                    core::str::from_utf8(v.bytes())
                        .ok()
                        .and_then(clickos_proto::parse_beat_ms)
                });
                self.publisher.set_beat_ms(ms);
            }
        }
    }

    /// Writes the counters that changed, at most once a period.
    fn publish(&mut self, app: &App, busy: &mut BusyMeter) {
        let now = time::now_ns();
        if now < self.publisher.due_ns()
            || !self
                .publisher
                .dirty(&app.stats, busy.peek_permille(now), app.loads)
        {
            return;
        }
        let stats = Stats {
            nics: app.stats.clone(),
            busy: busy.take_permille(now),
            loads: app.loads,
            heap_used: crate::mem::heap::used_bytes(),
            heap_size: crate::mem::heap::usable_bytes(),
            beat: self.publisher.beat(now),
        };
        for (path, value) in self.publisher.publish(&stats, now) {
            self.conn
                .send(&Request::Write(&path, value.as_bytes()), Tag::Ignore);
        }
    }

    /// When the session has work due: a publication of changed counters,
    /// or the moment unanswered requests count as stalled.
    pub fn next_deadline(&self, app: &App, busy: &BusyMeter, now_ns: u64) -> Option<u64> {
        let stats = self
            .publisher
            .dirty(&app.stats, busy.peek_permille(now_ns), app.loads)
            .then(|| self.publisher.due_ns());
        let stall = self.conn.link.stall_deadline();
        [stats, stall].into_iter().flatten().min()
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("aé", 2), "a");
    }
}

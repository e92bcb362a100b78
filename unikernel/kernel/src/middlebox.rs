//! The guest's application: one Click router, configured through the store
//! in ClickOS's layout (see [`clickos_proto::layout`]) or, on hosts without
//! a store, from the config baked into the image.
//!
//! Each poll moves packets first, then store traffic, then (about once a
//! second, only while they change) the counters under `data/mb/`. Nothing
//! here blocks: store requests are answered on later polls. A config that
//! does not load is reported in the store and the running router keeps
//! going; a new config replaces it with Click's hot-swap, so elements with
//! the same name and class keep their state.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use click::Registry;
use clickos_proto::{classify, status, Event, Home, NicCounters, Stats};
use xenstore::client::{ClientError, Reply, Request};
use xenstore::Errno;

use crate::net::Frame;
use crate::router::click::ClickRouter;
use crate::router::{elements, Io, Router};
use crate::store::link::Link;
use crate::store::stats::{BusyMeter, Publisher};
use crate::stream::ByteStream;
use crate::time;

/// The guest names its nodes relative to its own home.
const HOME: Home = Home::Own;
/// A config larger than this is refused rather than risking the heap.
const CONFIG_MAX: usize = 1 << 20;
/// Read results remembered to recognise their watch events.
const ECHOES_MAX: usize = 64;
/// The store's payload limit, minus room for the path.
const VALUE_MAX: usize = 4096 - 256;
/// Config chunks asked for together with `status`: the server answers in
/// order, so when `status` says Running the chunks written before it are
/// already on their way, and a config of up to `PREFETCH - 1` chunks
/// (about 4 KB) loads in one round trip instead of one per chunk plus
/// one for `status`. Replies that turn out not to be needed are dropped.
const PREFETCH: u32 = 5;
/// Click's write-only router handler that hot-swaps the configuration.
const HOTCONFIG: &str = "hotconfig";

/// What a store reply is for.
enum Tag {
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
}

/// The store side of the guest.
struct Store {
    link: Link<Tag>,
    /// The config read so far, while reading chunks. Bytes: chunks are
    /// cut every 992 bytes, possibly inside a character.
    loading: Option<Vec<u8>>,
    /// `status` changed during a load: look at it again afterwards.
    again: bool,
    status_in_flight: bool,
    /// Config chunks requested so far in the current status round
    /// (0..requested).
    requested: u32,
    /// (path, value) of read results written and not yet seen back.
    echoes: Vec<(String, Vec<u8>)>,
    /// Reads of write requests' values in flight.
    value_reads: u32,
}

/// The middlebox: a Click router, its store, its counters.
pub struct Middlebox {
    /// Built on the first poll, after the store hello is on its way.
    registry: Option<Registry>,
    default_config: Option<(&'static str, &'static str)>,
    started: bool,
    ready: bool,
    nics: usize,
    router: Option<ClickRouter>,
    running: Option<String>,
    stats: Vec<NicCounters>,
    loads: u32,
    store: Option<Store>,
    busy: BusyMeter,
    publisher: Publisher,
    scratch: Vec<Frame>,
}

impl Middlebox {
    /// A middlebox with the guest's element registry; `default_config` is
    /// (name, text) of a config to run when there is no store.
    pub fn new(default_config: Option<(&'static str, &'static str)>) -> Middlebox {
        Middlebox {
            registry: None,
            default_config,
            started: false,
            ready: false,
            nics: 0,
            router: None,
            running: None,
            stats: Vec::new(),
            loads: 0,
            store: None,
            busy: BusyMeter::default(),
            publisher: Publisher::new(),
            scratch: Vec::with_capacity(click::batch::BATCH_MAX),
        }
    }

    /// Opens the store session (announce, watch, ask for the status and
    /// the first config chunks) and sends it at once. The guest calls this
    /// as soon as its store channel is up, before it brings up its NICs
    /// and builds its element registry, so the host's answers travel while
    /// the guest does that work; otherwise the first poll does it.
    pub fn hello(&mut self, stream: &mut dyn ByteStream) {
        if self.store.is_some() {
            return;
        }
        self.store = Some(Store {
            link: Link::new(),
            loading: None,
            again: false,
            status_in_flight: false,
            requested: 0,
            echoes: Vec::new(),
            value_reads: 0,
        });
        self.store_hello();
        if let Some(st) = self.store.as_mut() {
            st.link.pump(stream);
        }
    }

    fn start(&mut self, io: &mut Io<'_>) {
        self.started = true;
        self.nics = io.nic_count();
        self.stats = vec![NicCounters::default(); self.nics];
        if let Some(stream) = io.store() {
            self.hello(stream);
            self.registry = Some(elements::registry());
            crate::kprintln!(
                "mb: at_us={} waiting for a config in the store ({})",
                time::now_ns() / 1000,
                HOME.router()
            );
            return;
        }
        self.registry = Some(elements::registry());
        match self.default_config {
            Some((name, text)) => {
                crate::kprintln!("mb: no store; running the built-in config '{name}'");
                if let Err(e) = self.load(text, name) {
                    crate::kprintln!("mb: the built-in config does not load:\n{e}");
                }
            }
            None => {
                crate::kprintln!("mb: no store and no built-in config; idle");
                self.print_ready();
            }
        }
    }

    /// Announces the guest and watches its subtree (again after a stall).
    fn store_hello(&mut self) {
        // As ClickOS: the root tells tools this is a ClickOS guest, and one
        // watch on it carries every request.
        let root = HOME.clickos();
        self.send(&Request::Write(&root, b""), Tag::Ignore);
        self.send(
            &Request::Watch(&root, clickos_proto::WATCH_TOKEN.as_bytes()),
            Tag::Ignore,
        );
        // Ask now rather than after the watch's first event: one round
        // trip less to the first config.
        self.read_status();
    }

    /// Requests went unanswered (see `Link::stalled`): start over. Every
    /// request the guest sends is idempotent, so sending them again is
    /// safe; a watch the server kept answers `EEXIST`, which is harmless.
    fn store_resync(&mut self) {
        crate::kprintln!("mb: store: no reply for 2 s; starting the store session over");
        if let Some(st) = self.store.as_mut() {
            st.link.reset();
            st.loading = None;
            st.again = false;
            st.status_in_flight = false;
            st.echoes.clear();
            st.value_reads = 0;
        }
        self.publisher = Publisher::new();
        self.store_hello();
    }

    fn print_ready(&mut self) {
        if !self.ready {
            self.ready = true;
            crate::mainloop::print_ready(self.nics);
        }
    }

    /// Builds `text` and swaps it in; Ok(false) if it is already running.
    fn load(&mut self, text: &str, file: &str) -> Result<bool, String> {
        if self.running.as_deref() == Some(text) && self.router.is_some() {
            return Ok(false);
        }
        let t0 = time::now_ns();
        // A config too big for the VM is an error like any other: the
        // build runs with the heap's emergency reserve armed.
        let registry = self.registry.get_or_insert_with(elements::registry);
        let nics = self.nics;
        let new = crate::mem::heap::guarded(|| {
            ClickRouter::build(text, file, registry, nics).map_err(|e| e.to_string())
        })?;
        let kept = self
            .router
            .as_ref()
            .map_or(0, |old| new.take_state_from(old));
        crate::kprintln!(
            "mb: at_us={} config loaded: build_us={} elements={} kept_state={}",
            time::now_ns() / 1000,
            (time::now_ns() - t0) / 1000,
            new.router().len(),
            kept
        );
        self.router = Some(new);
        self.running = Some(text.into());
        self.loads += 1;
        self.print_ready();
        Ok(true)
    }

    // ---- store ----------------------------------------------------------

    fn send(&mut self, req: &Request, tag: Tag) {
        if let Some(st) = self.store.as_mut() {
            if let Err(e) = st.link.send(req, tag) {
                crate::kprintln!("mb: store request {req:?} not sent: {e}");
            }
        }
    }

    fn poll_store(&mut self, io: &mut Io<'_>) -> bool {
        let Some(stream) = io.store() else {
            return false;
        };
        let Some(st) = self.store.as_mut() else {
            return false;
        };
        let mut work = st.link.pump(stream);
        if st.link.stalled(time::now_ns()) {
            self.store_resync();
            return true;
        }
        let Some(st) = self.store.as_mut() else {
            return work;
        };
        let mut events = Vec::new();
        while let Some(ev) = st.link.next_event() {
            events.push(ev.path);
        }
        let mut replies = Vec::new();
        while let Some(r) = st.link.next_reply() {
            replies.push(r);
        }
        work |= !events.is_empty() || !replies.is_empty();
        for path in events {
            self.on_event(&path);
        }
        for (tag, r) in replies {
            self.on_reply(tag, r);
        }
        self.publish_stats();
        if let (Some(st), Some(stream)) = (self.store.as_mut(), io.store()) {
            work |= st.link.pump(stream);
        }
        work
    }

    fn on_event(&mut self, path: &str) {
        match classify(path) {
            Event::Root | Event::Status => self.read_status(),
            // The request node carries nothing to read, so answer at once,
            // one store round trip sooner; but a write request whose value
            // is still being read came first, and hosts read a handler
            // after a write to learn that it was applied: then read the
            // node, whose reply comes after the value's.
            Event::ControlRead { element, handler } => {
                if self.store.as_ref().is_some_and(|st| st.value_reads > 0) {
                    let tag = Tag::Control(element.into(), handler.into());
                    self.send(&Request::Read(&HOME.control_read(element, handler)), tag);
                } else {
                    self.answer_read(element, handler);
                }
            }
            Event::ElementValue { element, handler } => {
                if let Some(st) = self.store.as_mut() {
                    st.value_reads += 1;
                }
                let tag = Tag::Value(element.into(), handler.into());
                self.send(&Request::Read(&HOME.element(element, handler)), tag);
            }
            Event::Other => {}
        }
    }

    fn read_status(&mut self) {
        let Some(st) = self.store.as_mut() else {
            return;
        };
        if st.loading.is_some() || st.status_in_flight {
            // Look again once this round is over. A read in flight may
            // have been answered before this event was raised: the loop
            // takes a poll's events before its replies, so the order they
            // arrived in is lost.
            st.again = true;
        } else {
            st.status_in_flight = true;
            st.requested = PREFETCH;
            self.send(&Request::Read(&HOME.status()), Tag::Status);
            for i in 0..PREFETCH {
                self.send(&Request::Read(&HOME.chunk(i)), Tag::Chunk(i));
            }
        }
    }

    /// After a status round that loaded nothing: start the next one if an
    /// event asked for it meanwhile.
    fn status_again(&mut self) {
        if let Some(st) = self.store.as_mut() {
            if core::mem::take(&mut st.again) {
                self.read_status();
            }
        }
    }

    fn on_reply(&mut self, tag: Tag, r: Result<Reply, ClientError>) {
        match tag {
            Tag::Ignore => {
                if let Err(e) = r {
                    crate::kprintln!("mb: store request failed: {e}");
                }
            }
            Tag::Status => {
                if let Some(st) = self.store.as_mut() {
                    st.status_in_flight = false;
                }
                let Ok(v) = r else {
                    return self.status_again();
                };
                if v.bytes() == status::RUNNING.as_bytes() {
                    // The first chunks' replies follow this one; the load
                    // looks at `again` when it is over.
                    if let Some(st) = self.store.as_mut() {
                        st.loading = Some(Vec::new());
                    }
                    return;
                }
                if v.bytes() == status::HALTED.as_bytes() {
                    crate::kprintln!("mb: status Halted: stopping the router and powering off");
                    self.router = None;
                    crate::power::stop();
                }
                self.status_again();
            }
            Tag::Chunk(i) => self.on_chunk(i, r),
            Tag::Control(e, h) => {
                if r.is_ok() {
                    self.answer_read(&e, &h);
                }
            }
            Tag::Value(e, h) => {
                if let Some(st) = self.store.as_mut() {
                    st.value_reads = st.value_reads.saturating_sub(1);
                }
                if let Ok(v) = r {
                    self.call_write(&e, &h, v.bytes());
                }
            }
        }
    }

    fn on_chunk(&mut self, i: u32, r: Result<Reply, ClientError>) {
        let Some(st) = self.store.as_mut() else {
            return;
        };
        let Some(text) = st.loading.as_mut() else {
            return;
        };
        match r {
            Ok(v) if text.len() + v.bytes().len() <= CONFIG_MAX => {
                text.extend_from_slice(v.bytes());
                if i + 1 >= st.requested {
                    st.requested = i + 2;
                    self.send(&Request::Read(&HOME.chunk(i + 1)), Tag::Chunk(i + 1));
                }
            }
            Ok(_) => self.finish_load(Err(alloc::format!(
                "config: larger than {CONFIG_MAX} bytes"
            ))),
            Err(ClientError::Xs(Errno::ENOENT)) => {
                let text = st.loading.take().unwrap_or_default();
                // A present but empty chunk 0 is an empty config (a valid,
                // empty router); a missing one is no config at all.
                let r = if i == 0 {
                    Err(alloc::format!(
                        "config: no config chunks ({} is missing)",
                        HOME.chunk(0)
                    ))
                } else {
                    String::from_utf8(text).map_err(|e| {
                        alloc::format!(
                            "config: not UTF-8 text (byte {})",
                            e.utf8_error().valid_up_to()
                        )
                    })
                };
                self.finish_load(r);
            }
            Err(e) => self.finish_load(Err(alloc::format!("config: reading chunk {i}: {e}"))),
        }
    }

    fn finish_load(&mut self, text: Result<String, String>) {
        let again = match self.store.as_mut() {
            Some(st) => {
                st.loading = None;
                core::mem::take(&mut st.again)
            }
            None => false,
        };
        match text.and_then(|t| self.load(&t, "config")) {
            Ok(_) => self.send(&Request::Rm(&HOME.error()), Tag::Ignore),
            Err(msg) => {
                crate::kprintln!("mb: config not loaded; the running router stays:\n{msg}");
                let msg = truncate(&msg, VALUE_MAX);
                let error = status::ERROR.as_bytes();
                self.send(&Request::Write(&HOME.status(), error), Tag::Ignore);
                self.send(&Request::Write(&HOME.error(), msg.as_bytes()), Tag::Ignore);
            }
        }
        if again {
            self.read_status();
        }
    }

    fn handler_error(&mut self, element: &str, handler: &str, msg: &str) {
        crate::kprintln!("mb: handler {element}.{handler}: {msg}");
        let path = HOME.handler_error(element, handler);
        self.send(
            &Request::Write(&path, truncate(msg, VALUE_MAX).as_bytes()),
            Tag::Ignore,
        );
    }

    fn answer_read(&mut self, element: &str, handler: &str) {
        let value = match &self.router {
            Some(r) => r.read_handler(element, handler).map_err(|e| e.to_string()),
            None => Err("no router is running".to_string()),
        };
        // The guest adds `hotconfig` to the engine's router handlers.
        let value = match value {
            Ok(mut v) if element.is_empty() && handler == "handlers" => {
                v.push_str(HOTCONFIG);
                v.push_str("\tw\n");
                Ok(v)
            }
            v => v,
        };
        let value = match value {
            Ok(v) if v.len() > VALUE_MAX => Err(alloc::format!(
                "value of {} bytes is too long for the store",
                v.len()
            )),
            v => v,
        };
        match value {
            Ok(v) => {
                let path = HOME.element(element, handler);
                if let Some(st) = self.store.as_mut() {
                    if !v.is_empty() {
                        if st.echoes.len() >= ECHOES_MAX {
                            st.echoes.remove(0);
                        }
                        st.echoes.push((path.clone(), v.as_bytes().to_vec()));
                    }
                }
                self.send(&Request::Write(&path, v.as_bytes()), Tag::Ignore);
                let lock = HOME.lock(element, handler);
                self.send(&Request::Write(&lock, b"0"), Tag::Ignore);
            }
            Err(msg) => self.handler_error(element, handler, &msg),
        }
    }

    /// A value appeared under `elements/`: the guest's own read result
    /// coming back (ignored once), an empty value (a host clearing a read
    /// result, ignored as ClickOS does), or a write request.
    fn call_write(&mut self, element: &str, handler: &str, value: &[u8]) {
        let path = HOME.element(element, handler);
        if let Some(st) = self.store.as_mut() {
            // The guest's own write is moot once the node holds something
            // else, so the record goes either way.
            if let Some(i) = st.echoes.iter().position(|(p, _)| *p == path) {
                let (_, v) = st.echoes.remove(i);
                if v == value {
                    return;
                }
            }
        }
        if value.is_empty() {
            return;
        }
        let Ok(text) = core::str::from_utf8(value) else {
            return self.handler_error(element, handler, "value is not UTF-8 text");
        };
        if element.is_empty() && handler == HOTCONFIG {
            // Click's hotconfig: swap in this config, keeping the state of
            // elements with the same name and class; on error the running
            // router stays.
            if let Err(msg) = self.load(text, HOTCONFIG) {
                self.handler_error(element, handler, &msg);
            }
            return;
        }
        let r = match &self.router {
            Some(r) => r
                .write_handler(element, handler, text)
                .map_err(|e| e.to_string()),
            None => Err("no router is running".to_string()),
        };
        if let Err(msg) = r {
            self.handler_error(element, handler, &msg);
        }
    }

    fn publish_stats(&mut self) {
        let now = time::now_ns();
        if self.store.is_none() || now < self.publisher.due_ns() {
            return;
        }
        if !self
            .publisher
            .dirty(&self.stats, self.busy.peek_permille(now), self.loads)
        {
            return;
        }
        let snap = Stats {
            nics: self.stats.clone(),
            busy: self.busy.take_permille(now),
            loads: self.loads,
        };
        for (path, value) in self.publisher.publish(&snap, now) {
            self.send(&Request::Write(&path, value.as_bytes()), Tag::Ignore);
        }
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

/// Drops what arrives while no router runs, so the rings keep moving.
fn discard(io: &mut Io<'_>, stats: &mut [NicCounters], scratch: &mut Vec<Frame>) -> bool {
    let mut work = false;
    for (nic, st) in stats.iter_mut().enumerate().take(io.nic_count()) {
        st.drops += io.take_drops(nic);
        scratch.clear();
        let n = io.recv(nic, scratch, click::batch::BATCH_MAX);
        for f in scratch.drain(..) {
            st.rx_packets += 1;
            st.rx_bytes += f.len() as u64;
            st.drops += 1;
            crate::net::frame::POOL.give(f);
        }
        work |= n > 0;
    }
    work
}

impl Router for Middlebox {
    fn poll(&mut self, io: &mut Io<'_>) -> bool {
        if !self.started {
            self.start(io);
        }
        if crate::mem::heap::recover() {
            crate::kprintln!("mb: the heap ran out; its emergency reserve carried on and is back");
        }
        let t0 = io.now_ns();
        let moved = match self.router.as_mut() {
            Some(r) => r.poll(io, &mut self.stats),
            None => discard(io, &mut self.stats, &mut self.scratch),
        };
        if moved {
            self.busy.add(time::now_ns().saturating_sub(t0));
        }
        let store = self.poll_store(io);
        moved || store
    }

    fn next_deadline(&self) -> Option<u64> {
        let now = time::now_ns();
        let router = self.router.as_ref().and_then(|r| r.next_deadline(now));
        let stats = (self.store.is_some()
            && self
                .publisher
                .dirty(&self.stats, self.busy.peek_permille(now), self.loads))
        .then(|| self.publisher.due_ns());
        let stall = self.store.as_ref().and_then(|st| st.link.stall_deadline());
        [router, stats, stall].into_iter().flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Nic;
    use crate::stream::ByteStream;
    use alloc::boxed::Box;
    use alloc::collections::VecDeque;
    use alloc::rc::Rc;
    use core::cell::RefCell;
    use xenstore::store::{Outgoing, Quota, Store as XsStore};
    use xenstore::wire::{FrameDecoder, Message, MsgType};

    /// A NIC double: scripted receive queue, sent frames logged.
    struct FakeNic {
        rx: Rc<RefCell<VecDeque<Frame>>>,
        sent: Rc<RefCell<Vec<Vec<u8>>>>,
    }

    impl Nic for FakeNic {
        fn mac(&self) -> [u8; 6] {
            [2, 0, 0, 0, 0, 1]
        }
        fn recv(&mut self, out: &mut Vec<Frame>, max: usize) -> usize {
            let mut rx = self.rx.borrow_mut();
            let n = max.min(rx.len());
            out.extend(rx.drain(..n));
            n
        }
        fn send(&mut self, frame: Frame) -> Result<(), Frame> {
            self.sent.borrow_mut().push(frame.data().to_vec());
            Ok(())
        }
        fn tx_room(&mut self) -> usize {
            64
        }
    }

    /// The guest's store connection, served by the real store logic; a
    /// second, privileged connection plays the host.
    struct Host {
        store: XsStore,
        guest: xenstore::store::ConnId,
        dom0: xenstore::store::ConnId,
        to_guest: VecDeque<u8>,
        dec: FrameDecoder,
        req: u32,
    }

    impl Host {
        fn new(domid: u32) -> Host {
            let mut store = XsStore::new(Quota::default());
            let mut out = Vec::new();
            store.ensure_home(domid, &mut out).unwrap();
            let guest = store.connect(domid);
            let dom0 = store.connect(0);
            Host {
                store,
                guest,
                dom0,
                to_guest: VecDeque::new(),
                dec: FrameDecoder::new(),
                req: 0,
            }
        }

        fn deliver(&mut self, out: Vec<Outgoing>) -> Vec<Message> {
            let mut mine = Vec::new();
            for o in out {
                if o.conn == self.guest {
                    self.to_guest.extend(o.msg.encode().unwrap());
                } else if o.conn == self.dom0 {
                    mine.push(o.msg);
                }
            }
            mine
        }

        fn call(&mut self, ty: MsgType, payload: Vec<u8>) -> Message {
            self.req += 1;
            let mut out = Vec::new();
            let msg = Message::new(ty, self.req, 0, payload);
            self.store.handle(self.dom0, &msg, &mut out);
            self.deliver(out)
                .into_iter()
                .find(|m| m.req_id == self.req)
                .unwrap()
        }

        fn write(&mut self, path: &str, value: &str) {
            self.write_bytes(path, value.as_bytes());
        }

        fn write_bytes(&mut self, path: &str, value: &[u8]) {
            let mut p = Vec::from(path.as_bytes());
            p.push(0);
            p.extend_from_slice(value);
            assert!(
                self.call(MsgType::Write, p).errno().is_none(),
                "write {path}"
            );
        }

        fn read(&mut self, path: &str) -> Option<String> {
            let mut p = Vec::from(path.as_bytes());
            p.push(0);
            let m = self.call(MsgType::Read, p);
            m.errno()
                .is_none()
                .then(|| String::from_utf8(m.payload).unwrap())
        }
    }

    impl ByteStream for Host {
        fn read(&mut self, buf: &mut [u8]) -> usize {
            let n = buf.len().min(self.to_guest.len());
            for (b, v) in buf.iter_mut().zip(self.to_guest.drain(..n)) {
                *b = v;
            }
            n
        }
        fn write(&mut self, buf: &[u8]) -> usize {
            self.dec.push(buf);
            while let Ok(Some(m)) = self.dec.next_message() {
                let mut out = Vec::new();
                self.store.handle(self.guest, &m, &mut out);
                self.deliver(out);
            }
            buf.len()
        }
    }

    const HOME: &str = "/local/domain/7/data/clickos/0";

    struct Rig {
        mb: Middlebox,
        host: Host,
        nics: Vec<Box<dyn Nic>>,
        rx: Rc<RefCell<VecDeque<Frame>>>,
        sent: Rc<RefCell<Vec<Vec<u8>>>>,
    }

    impl Rig {
        fn new() -> Rig {
            let rx = Rc::new(RefCell::new(VecDeque::new()));
            let sent = Rc::new(RefCell::new(Vec::new()));
            let idle = Rc::new(RefCell::new(VecDeque::new()));
            let nics: Vec<Box<dyn Nic>> = vec![
                Box::new(FakeNic {
                    rx: rx.clone(),
                    sent: Rc::new(RefCell::new(Vec::new())),
                }),
                Box::new(FakeNic {
                    rx: idle,
                    sent: sent.clone(),
                }),
            ];
            Rig {
                mb: Middlebox::new(None),
                host: Host::new(7),
                nics,
                rx,
                sent,
            }
        }

        /// Polls until nothing moves.
        fn settle(&mut self) {
            for _ in 0..1000 {
                let mut io = Io::new(&mut self.nics, Some(&mut self.host), 0);
                if !self.mb.poll(&mut io) {
                    return;
                }
            }
            panic!("the middlebox never went idle");
        }

        fn install(&mut self, config: &str) {
            self.host.write(&format!("{HOME}/config/0"), config);
            self.host.write(&format!("{HOME}/status"), "Running");
            self.settle();
        }

        fn forward(&mut self, n: usize) -> usize {
            for i in 0..n {
                self.rx
                    .borrow_mut()
                    .push_back(Frame::from_slice(&[i as u8; 60]));
            }
            self.settle();
            core::mem::take(&mut *self.sent.borrow_mut()).len()
        }

        fn read_handler(&mut self, e: &str, h: &str) -> Option<String> {
            self.host
                .write(&format!("{HOME}/control/read/{e}/{h}"), " ");
            self.settle();
            self.host.read(&format!("{HOME}/elements/{e}/{h}"))
        }
    }

    use alloc::format;

    #[test]
    fn loads_from_the_store_forwards_and_answers_handlers() {
        let mut r = Rig::new();
        r.settle();
        assert_eq!(
            r.host.read("/local/domain/7/data/clickos").as_deref(),
            Some("")
        );
        r.install("FromDevice(0) -> c :: Counter -> ToDevice(1);");
        assert_eq!(r.forward(3), 3);
        assert_eq!(r.read_handler("c", "count").as_deref(), Some("3"));
        assert_eq!(
            r.host
                .read(&format!("{HOME}/elements/c/count/lock"))
                .as_deref(),
            Some("0")
        );
        // The read result's own watch event did not call the (read-only)
        // handler as a write.
        assert_eq!(r.host.read(&format!("{HOME}/elements/c/count/error")), None);
        // A write request.
        r.host.write(&format!("{HOME}/elements/c/reset"), "1");
        r.settle();
        assert_eq!(r.read_handler("c", "count").as_deref(), Some("0"));
        assert!(r
            .host
            .read("/local/domain/7/data/mb/nic/0/rx_packets")
            .is_some());
    }

    #[test]
    fn router_handlers_answer_without_an_element() {
        let mut r = Rig::new();
        let config = "FromDevice(0) -> c :: Counter -> ToDevice(1);";
        r.install(config);
        let read = |r: &mut Rig, h: &str| {
            r.host.write(&format!("{HOME}/control/read/{h}"), " ");
            r.settle();
            assert_eq!(
                r.host.read(&format!("{HOME}/elements/{h}/lock")).as_deref(),
                Some("0")
            );
            r.host
                .read(&format!("{HOME}/elements/{h}"))
                .unwrap_or_default()
        };
        assert_eq!(read(&mut r, "config"), config);
        assert!(read(&mut r, "list").starts_with("3\n"));
        let classes = read(&mut r, "classes");
        assert!(classes.lines().any(|l| l == "Counter"), "{classes}");
        let hs = read(&mut r, "handlers");
        assert!(hs.lines().any(|l| l == "flatconfig\tr"), "{hs}");
        assert!(hs.lines().any(|l| l == "hotconfig\tw"), "{hs}");
        // An unknown router handler is an error, reported where the answer goes.
        r.host.write(&format!("{HOME}/control/read/nosuch"), " ");
        r.settle();
        let err = r
            .host
            .read(&format!("{HOME}/elements/nosuch/error"))
            .unwrap();
        assert!(err.contains("nosuch"), "{err}");
        // hotconfig swaps the router in place; `c` keeps its count.
        assert_eq!(r.forward(2), 2);
        let new = "FromDevice(0) -> c :: Counter -> Null -> ToDevice(1);";
        r.host.write(&format!("{HOME}/elements/hotconfig"), new);
        r.settle();
        assert_eq!(
            r.host.read(&format!("{HOME}/elements/hotconfig/error")),
            None
        );
        assert_eq!(read(&mut r, "config"), new);
        assert_eq!(r.read_handler("c", "count").as_deref(), Some("2"));
        // A bad one is reported with its location and the router stays.
        r.host
            .write(&format!("{HOME}/elements/hotconfig"), "Idle ->\n Bogus;");
        r.settle();
        let err = r
            .host
            .read(&format!("{HOME}/elements/hotconfig/error"))
            .unwrap();
        assert!(err.starts_with("hotconfig:2:2:"), "{err}");
        assert_eq!(read(&mut r, "config"), new);
    }

    #[test]
    fn a_bad_config_is_reported_and_the_old_router_stays() {
        let mut r = Rig::new();
        r.install("FromDevice(0) -> c :: Counter -> ToDevice(1);");
        assert_eq!(r.forward(2), 2);
        r.install("FromDevice(0)\n -> Bogus -> ToDevice(1);");
        assert_eq!(
            r.host.read(&format!("{HOME}/status")).as_deref(),
            Some("Error")
        );
        let err = r.host.read(&format!("{HOME}/error")).unwrap();
        assert!(err.starts_with("config:2:5:"), "{err}");
        assert_eq!(r.forward(2), 2);
        // Hot-swap: `c` keeps its count in the new router.
        r.install("FromDevice(0) -> c :: Counter -> Null -> ToDevice(1);");
        assert_eq!(r.host.read(&format!("{HOME}/error")), None);
        assert_eq!(r.forward(1), 1);
        assert_eq!(r.read_handler("c", "count").as_deref(), Some("5"));
    }

    #[test]
    fn an_empty_chunk_is_an_empty_config_and_no_chunk_is_an_error() {
        let mut r = Rig::new();
        r.host.write(&format!("{HOME}/status"), "Running");
        r.settle();
        let err = r.host.read(&format!("{HOME}/error")).unwrap();
        assert!(err.contains("config/0 is missing"), "{err}");
        r.install("");
        assert_eq!(r.host.read(&format!("{HOME}/error")), None);
        assert_eq!(r.mb.loads, 1);
        assert_eq!(r.forward(2), 0);
    }

    #[test]
    fn chunks_may_split_a_character() {
        let mut r = Rig::new();
        // "é" is two bytes; the chunk boundary falls between them.
        let config = "// caf\u{e9}\nFromDevice(0) -> c :: Counter -> ToDevice(1);";
        let bytes = config.as_bytes();
        let cut = config.find('\u{e9}').unwrap() + 1;
        r.host
            .write_bytes(&format!("{HOME}/config/0"), &bytes[..cut]);
        r.host
            .write_bytes(&format!("{HOME}/config/1"), &bytes[cut..]);
        r.host.write(&format!("{HOME}/status"), "Running");
        r.settle();
        assert_eq!(r.host.read(&format!("{HOME}/error")), None);
        assert_eq!(r.forward(1), 1);
        r.host.write_bytes(&format!("{HOME}/config/1"), &[0xff]);
        r.host.write(&format!("{HOME}/status"), "Running");
        r.settle();
        let err = r.host.read(&format!("{HOME}/error")).unwrap();
        assert!(err.contains("not UTF-8"), "{err}");
    }

    #[test]
    fn a_status_change_racing_a_status_read_is_not_lost() {
        let mut r = Rig::new();
        r.install("FromDevice(0) -> ToDevice(1);");
        // The guest reads `status` (answered at once: "Paused"), and the
        // host sets Running before the guest sees that answer: the answer
        // and the event come in one poll, the answer older than the event.
        r.host.write(
            &format!("{HOME}/config/0"),
            "FromDevice(0) -> c :: Counter -> ToDevice(1);",
        );
        r.host.write(&format!("{HOME}/status"), "Paused");
        {
            let mut io = Io::new(&mut r.nics, Some(&mut r.host), 0);
            r.mb.poll(&mut io);
        }
        r.host.write(&format!("{HOME}/status"), "Running");
        r.settle();
        assert_eq!(r.forward(1), 1);
        assert_eq!(r.read_handler("c", "count").as_deref(), Some("1"));
    }

    #[test]
    fn configs_longer_than_the_prefetch_load_chunk_by_chunk() {
        let mut r = Rig::new();
        // One element per chunk, more chunks than are asked for up front.
        let n = PREFETCH as usize + 3;
        for i in 0..n {
            let line = match i {
                0 => "FromDevice(0)\n".to_string(),
                i if i + 1 == n => "-> ToDevice(1);\n".to_string(),
                i => format!("-> c{i} :: Counter\n"),
            };
            r.host.write(&format!("{HOME}/config/{i}"), &line);
        }
        r.host.write(&format!("{HOME}/status"), "Running");
        r.settle();
        assert_eq!(r.host.read(&format!("{HOME}/error")), None);
        assert_eq!(r.forward(2), 2);
        let last = format!("c{}", n - 2);
        assert_eq!(r.read_handler(&last, "count").as_deref(), Some("2"));
        // A shorter config next: the chunks past its end are gone, and the
        // prefetched replies of the earlier round do not leak into it.
        for i in 1..n {
            r.host
                .call(MsgType::Rm, format!("{HOME}/config/{i}\0").into_bytes());
        }
        r.install("FromDevice(0) -> only :: Counter -> ToDevice(1);");
        assert_eq!(r.host.read(&format!("{HOME}/error")), None);
        assert_eq!(r.forward(1), 1);
        assert_eq!(r.read_handler("only", "count").as_deref(), Some("1"));
        assert_eq!(r.mb.loads, 2);
    }

    #[test]
    fn device_elements_must_name_existing_nics_once() {
        let mut r = Rig::new();
        r.install("FromDevice(2) -> ToDevice(1);");
        let err = r.host.read(&format!("{HOME}/error")).unwrap();
        assert!(
            err.contains("config:1:1") && err.contains("no NIC 2"),
            "{err}"
        );
        r.install("FromDevice(0) -> ToDevice(1); FromDevice(eth0) -> Discard;");
        let err = r.host.read(&format!("{HOME}/error")).unwrap();
        assert!(err.contains("already has a FromDevice"), "{err}");
        // Nothing loaded yet: frames are counted as drops, not forwarded.
        assert_eq!(r.forward(2), 0);
        assert_eq!(r.mb.stats[0].drops, 2);
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("aé", 2), "a");
    }
}

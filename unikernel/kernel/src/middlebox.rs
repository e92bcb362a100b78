//! The guest's application: one Click router ([`app`]), configured through
//! the store in ClickOS's layout (see [`clickos_proto::layout`]) or, on
//! hosts without a store, from the config baked into the image.
//!
//! Each poll moves packets first, then store traffic ([`session`]: config
//! loads in [`config`], handler calls in [`handlers`]), then (about once a
//! second, only while they change) the counters under `data/mb/`. Nothing
//! here blocks: store requests are answered on later polls. A config that
//! does not load is reported in the store and the running router keeps
//! going; a new config replaces it with Click's hot-swap, so elements with
//! the same name and class keep their state.

mod app;
mod config;
mod handlers;
mod session;
mod statechan;

use app::App;
use session::{Session, HOME};

use crate::router::{Io, Router};
use crate::store::stats::BusyMeter;
use crate::stream::ByteStream;
use crate::time;

/// Packet rounds (a burst per NIC each) per poll while frames flow.
const PACKET_ROUNDS: usize = 8;

/// The middlebox: its router, and its store session when the VM has a
/// store.
pub struct Middlebox {
    app: App,
    default_config: Option<(&'static str, &'static str)>,
    started: bool,
    session: Option<Session>,
    busy: BusyMeter,
    state: statechan::StateChannel,
}

impl Middlebox {
    /// A middlebox with the guest's element registry; `default_config` is
    /// (name, text) of a config to run when there is no store.
    pub fn new(default_config: Option<(&'static str, &'static str)>) -> Middlebox {
        Middlebox {
            app: App::new(),
            default_config,
            started: false,
            session: None,
            busy: BusyMeter::default(),
            state: statechan::StateChannel::default(),
        }
    }

    /// Opens the store session (announce, watch, ask for the status and
    /// the first config chunks) and sends it at once. The guest calls this
    /// as soon as its store channel is up, before it brings up its NICs
    /// and builds its element registry, so the host's answers travel while
    /// the guest does that work; otherwise the first poll does it.
    pub fn hello(&mut self, stream: &mut dyn ByteStream) {
        if self.session.is_none() {
            self.session.insert(Session::open()).pump(stream);
        }
    }

    fn start(&mut self, io: &mut Io<'_>) {
        self.started = true;
        let nics = io.nic_count();
        if let Some(stream) = io.store() {
            self.hello(stream);
            self.app.start(nics);
            crate::kprintln!(
                "mb: at_us={} waiting for a config in the store ({})",
                time::now_ns() / 1000,
                HOME.router()
            );
            return;
        }
        self.app.start(nics);
        match self.default_config {
            Some((name, text)) => {
                crate::kprintln!("mb: no store; running the built-in config '{name}'");
                if let Err(e) = self.app.load(text, name) {
                    crate::kprintln!("mb: the built-in config does not load:\n{e}");
                }
            }
            None => {
                crate::kprintln!("mb: no store and no built-in config; idle");
                self.app.print_ready();
            }
        }
    }
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
        // Packets first, for more rounds while full bursts come in, as
        // Click's driver runs many task rounds between other duties: the
        // store session, the counters and the loop's own checks are paid
        // once per up to PACKET_ROUNDS bursts under load, and a lone frame
        // costs one round.
        let mut moved = false;
        for _ in 0..PACKET_ROUNDS {
            if !self.app.poll(io) {
                break;
            }
            moved = true;
            if !self.app.took_full_burst() {
                break;
            }
        }
        if moved {
            self.busy.add(time::now_ns().saturating_sub(t0));
        }
        let store = match (io.store(), self.session.as_mut()) {
            (Some(stream), Some(s)) => s.poll(stream, &mut self.app, &mut self.busy),
            _ => false,
        };
        let state = io
            .state()
            .is_some_and(|stream| self.state.poll(stream, &self.app));
        moved || store || state
    }

    fn next_deadline(&self) -> Option<u64> {
        let now = time::now_ns();
        let router = self.app.next_deadline(now);
        let session = self
            .session
            .as_ref()
            .and_then(|s| s.next_deadline(&self.app, &self.busy, now));
        [router, session].into_iter().flatten().min()
    }

    fn frames(&self) -> (u64, u64, u64) {
        self.app.stats.iter().fold((0, 0, 0), |(r, t, d), s| {
            (r + s.rx_packets, t + s.tx_packets, d + s.drops)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{Frame, Nic};
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
        assert_eq!(r.mb.app.loads, 1);
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
        let n = config::PREFETCH as usize + 3;
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
        assert_eq!(r.mb.app.loads, 2);
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
        assert_eq!(r.mb.app.stats[0].drops, 2);
    }
}

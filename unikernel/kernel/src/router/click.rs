//! The Click engine as the guest's router: builds a `click::Router` from a
//! configuration, binds its `FromDevice`/`ToDevice` elements to the NICs,
//! and moves frames between the devices and the element graph in batches,
//! without copying or allocating (a frame is a `click::Packet`; packets the
//! graph drops go back to the devices' frame pool).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use click::batch::BATCH_MAX;
use click::router::{HandlerError, Step};
use click::{Batch, Env, Error, Errors, Registry};
use clickos_proto::NicCounters;

use super::elements::fromdevice::FromDevice;
use super::elements::todevice::ToDevice;
use super::env::{deadline_ns, ConsoleHost, KernelClock};
use super::Io;
use crate::net::frame::{FramePool, BUF_SIZE, POOL};
use crate::net::Frame;

/// Frames the send scratch holds without growing: a full virtio ring.
const TX_SCRATCH: usize = 256;
/// How soon to retry when a device's send ring was full.
const TX_RETRY_NS: u64 = 50_000;
/// Spare frames per NIC the devices' pool is topped up to from the
/// router's spare packets after each round: what the NIC's driver takes to
/// repost after a full receive burst, twice over.
const POOL_LOW_PER_NIC: usize = 2 * BATCH_MAX;

/// A configured Click router bound to the VM's NICs.
pub struct ClickRouter {
    router: click::Router,
    /// The `FromDevice` element reading each NIC, and its burst.
    rx: Vec<Option<(usize, usize)>>,
    /// Every `ToDevice` element and its NIC.
    tx: Vec<(usize, usize)>,
    /// Scratch for received frames (reused, never grows past a batch).
    frames: Vec<Frame>,
    /// Scratch for frames on their way to a device (reused).
    outgoing: Vec<Frame>,
    tx_blocked: bool,
    /// Some NIC filled a whole receive burst in the last poll (more frames
    /// are likely waiting).
    full_burst: bool,
    stopped_logged: bool,
    /// The devices' frame pool (the drivers' [`POOL`]; tests lend their own).
    pool: &'static FramePool,
}

impl ClickRouter {
    /// Parses and builds `source` (called `file` in messages) for a VM with
    /// `nics` NICs. Errors name `file:line:col`.
    pub fn build(
        source: &str,
        file: &str,
        registry: &Registry,
        nics: usize,
    ) -> Result<ClickRouter, Errors> {
        let env = Env {
            clock: Box::new(KernelClock),
            host: Box::new(ConsoleHost),
        };
        let router = click::Router::from_source(source, file, &[], registry, env)?;
        let (rx, tx) = bind(&router, nics)?;
        Ok(ClickRouter {
            router,
            rx,
            tx,
            frames: Vec::with_capacity(BATCH_MAX),
            outgoing: Vec::with_capacity(TX_SCRATCH),
            tx_blocked: false,
            full_burst: false,
            stopped_logged: false,
            pool: &POOL,
        })
    }

    /// The engine's router (handlers, element list).
    pub fn router(&self) -> &click::Router {
        &self.router
    }

    /// Hot-swaps: `self` takes the state of every element of `old` with the
    /// same name and class (Click's hotconfig); returns how many did.
    pub fn take_state_from(&self, old: &ClickRouter) -> usize {
        self.router.take_state_from(&old.router)
    }

    /// Reads handler `handler` of element `element` (empty: a router handler).
    pub fn read_handler(&self, element: &str, handler: &str) -> Result<String, HandlerError> {
        self.router.read(&spec(element, handler))
    }

    /// Writes handler `handler` of element `element`.
    pub fn write_handler(
        &self,
        element: &str,
        handler: &str,
        value: &str,
    ) -> Result<(), HandlerError> {
        self.router.write(&spec(element, handler), value)
    }

    /// One round: receive a burst on every NIC and push it through the
    /// graph, run due timers and scheduled tasks, then send what the
    /// `ToDevice` elements queued. Returns true if anything moved.
    pub fn poll(&mut self, io: &mut Io<'_>, stats: &mut [NicCounters]) -> bool {
        let mut work = false;
        let stopped = self.router.is_stopped();
        if stopped && !self.stopped_logged {
            crate::kprintln!("mb: the router stopped; frames are dropped until a new config");
            self.stopped_logged = true;
        }
        // While a device's send ring is full and frames wait for it, take
        // no more in: they stay in the receive rings, and the host's side
        // holds the rest, instead of the graph dropping them.
        let receiving = if self.tx_blocked { 0 } else { io.nic_count() };
        self.full_burst = false;
        for nic in 0..receiving.min(stats.len()) {
            let bound = if stopped {
                None
            } else {
                self.rx.get(nic).copied().flatten()
            };
            work |= self.receive(io, nic, bound, &mut stats[nic]);
        }
        if !stopped && self.router.step() == Step::Worked {
            work = true;
        }
        work |= self.transmit(io, stats);
        // Packets the graph dropped go back to the devices.
        let router = &self.router;
        let low = POOL_LOW_PER_NIC * io.nic_count();
        self.pool
            .refill(low, || router.take_spare(BUF_SIZE).map(Frame::from_packet));
        work
    }

    fn receive(
        &mut self,
        io: &mut Io<'_>,
        nic: usize,
        bound: Option<(usize, usize)>,
        stats: &mut NicCounters,
    ) -> bool {
        let mut left = bound.map_or(BATCH_MAX, |(_, burst)| burst);
        let mut work = false;
        stats.drops += io.take_drops(nic);
        while left > 0 {
            self.frames.clear();
            let n = io.recv(nic, &mut self.frames, left.min(BATCH_MAX));
            if n == 0 {
                break;
            }
            left -= n;
            work = true;
            let mut batch = Batch::new();
            for f in self.frames.drain(..) {
                stats.rx_packets += 1;
                stats.rx_bytes += f.len() as u64;
                if bound.is_some() {
                    // Cannot fail: a batch holds BATCH_MAX and n <= BATCH_MAX.
                    let _ = batch.push(f.into_packet());
                } else {
                    stats.drops += 1;
                    self.pool.give(f);
                }
            }
            if let Some((eid, _)) = bound {
                self.router.with_element(eid, |e, cx| {
                    if let Some(fd) = e.downcast_mut::<FromDevice>() {
                        fd.emit(cx, batch);
                    }
                });
            }
        }
        self.full_burst |= left == 0;
        work
    }

    fn transmit(&mut self, io: &mut Io<'_>, stats: &mut [NicCounters]) -> bool {
        let mut work = false;
        let mut blocked = false;
        let outgoing = &mut self.outgoing;
        for &(eid, nic) in &self.tx {
            let Some(st) = stats.get_mut(nic) else {
                continue;
            };
            self.router.with_element(eid, |e, _| {
                let Some(td) = e.downcast_mut::<ToDevice>() else {
                    return;
                };
                st.drops += td.take_new_drops();
                // What the ring takes goes in one call (one device
                // notification for the lot); the rest goes back, in order.
                let room = io.tx_room(nic).min(td.pending());
                outgoing.clear();
                let mut bytes = 0;
                while outgoing.len() < room {
                    let Some(p) = td.next_packet() else { break };
                    bytes += p.len() as u64;
                    outgoing.push(Frame::from_packet(p));
                }
                if !outgoing.is_empty() {
                    let sent = io.send_batch(nic, outgoing);
                    for f in outgoing.drain(..).rev() {
                        bytes -= f.len() as u64;
                        td.unsend(f.into_packet());
                    }
                    st.tx_packets += sent as u64;
                    st.tx_bytes += bytes;
                    work |= sent > 0;
                }
                blocked |= td.pending() > 0;
            });
        }
        self.tx_blocked = blocked;
        work
    }

    /// Whether the last poll took a whole receive burst from some NIC, so
    /// another round is likely to find frames at once.
    pub fn took_full_burst(&self) -> bool {
        self.full_burst
    }

    /// When the loop must poll again without I/O: the next timer, or soon
    /// when a device's send ring was full.
    pub fn next_deadline(&self, now_ns: u64) -> Option<u64> {
        if self.router.is_stopped() {
            return None;
        }
        let timer = self.router.next_timer().map(deadline_ns);
        let retry = self.tx_blocked.then(|| now_ns + TX_RETRY_NS);
        match (timer, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn spec(element: &str, handler: &str) -> String {
    if element.is_empty() {
        String::from(handler)
    } else {
        format!("{element}.{handler}")
    }
}

type Bindings = (Vec<Option<(usize, usize)>>, Vec<(usize, usize)>);

/// Finds the device elements and checks them against the VM's NICs: each
/// NIC may have one reader and one writer, and must exist.
fn bind(r: &click::Router, nics: usize) -> Result<Bindings, Errors> {
    let mut rx: Vec<Option<(usize, usize)>> = vec![None; nics];
    let mut writers: Vec<Option<usize>> = vec![None; nics];
    let mut tx = Vec::new();
    let mut errs = Errors::default();
    for (eid, info) in r.infos().iter().enumerate() {
        let dev = r
            .with_element(eid, |e, _| {
                if let Some(fd) = e.downcast_ref::<FromDevice>() {
                    Some((true, fd.nic(), fd.burst()))
                } else {
                    e.downcast_ref::<ToDevice>().map(|td| (false, td.nic(), 0))
                }
            })
            .flatten();
        let Some((is_rx, nic, burst)) = dev else {
            continue;
        };
        let what = format!("'{} :: {}'", info.name, info.class.name);
        if nic >= nics {
            errs.push(Error::new(
                info.span.clone(),
                format!("{what}: no NIC {nic} (this VM has {nics})"),
            ));
            continue;
        }
        let taken = if is_rx {
            rx[nic].map(|(other, _)| other)
        } else {
            writers[nic]
        };
        if let Some(other) = taken {
            errs.push(Error::new(
                info.span.clone(),
                format!(
                    "{what}: NIC {nic} already has a {} ('{}')",
                    info.class.name,
                    r.info(other).name
                ),
            ));
            continue;
        }
        if is_rx {
            rx[nic] = Some((eid, burst));
        } else {
            writers[nic] = Some(eid);
            tx.push((eid, nic));
        }
    }
    errs.into_result((rx, tx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::frame::FramePool;
    use crate::net::Nic;
    use crate::router::elements;
    use alloc::boxed::Box;
    use alloc::collections::VecDeque;
    use alloc::rc::Rc;
    use core::cell::Cell;

    /// A NIC double with a receive queue and a send ring of `room` frames.
    struct FakeNic {
        rx: VecDeque<Frame>,
        sent: Rc<Cell<usize>>,
        room: Rc<Cell<usize>>,
    }

    impl Nic for FakeNic {
        fn mac(&self) -> [u8; 6] {
            [2, 0, 0, 0, 0, 1]
        }
        fn recv(&mut self, out: &mut Vec<Frame>, max: usize) -> usize {
            let n = max.min(self.rx.len());
            out.extend(self.rx.drain(..n));
            n
        }
        fn send(&mut self, frame: Frame) -> Result<(), Frame> {
            if self.room.get() == 0 {
                return Err(frame);
            }
            self.room.set(self.room.get() - 1);
            self.sent.set(self.sent.get() + 1);
            Ok(())
        }
        fn tx_room(&mut self) -> usize {
            self.room.get()
        }
    }

    type Counts = Rc<Cell<usize>>;

    /// NIC 0 receives `frames` frames; NIC 1 sends into a ring of `room`.
    /// Returns the NICs, NIC 1's sent count and its room.
    fn nics(frames: usize, room: usize) -> (Vec<Box<dyn Nic>>, Counts, Counts) {
        let rx = (0..frames)
            .map(|i| Frame::from_slice(&[i as u8; 64]))
            .collect();
        let a = FakeNic {
            rx,
            sent: Rc::default(),
            room: Rc::default(),
        };
        let (sent, room) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(room)));
        let b = FakeNic {
            rx: VecDeque::new(),
            sent: sent.clone(),
            room: room.clone(),
        };
        (vec![Box::new(a), Box::new(b)], sent, room)
    }

    fn run(r: &mut ClickRouter, nics: &mut Vec<Box<dyn Nic>>, stats: &mut [NicCounters]) {
        while r.poll(&mut Io::new(nics, None, 0), stats) {}
    }

    #[test]
    fn forwards_in_batches_and_counts_bytes() {
        let reg = elements::registry();
        let mut r = ClickRouter::build("FromDevice(0, BURST 8) -> ToDevice(1);", "t", &reg, 2)
            .expect("config builds");
        let (mut n, sent, _) = nics(100, 1000);
        let mut stats = [NicCounters::default(); 2];
        run(&mut r, &mut n, &mut stats);
        assert_eq!(sent.get(), 100);
        assert_eq!(stats[0].rx_packets, 100);
        assert_eq!(stats[0].rx_bytes, 6400);
        assert_eq!(stats[1].tx_packets, 100);
        assert_eq!(stats[1].tx_bytes, 6400);
        assert_eq!(
            r.read_handler("FromDevice@1", "count").as_deref(),
            Ok("100")
        );
    }

    #[test]
    fn a_full_ring_backs_up_into_the_queue_then_drops_are_counted() {
        let reg = elements::registry();
        let mut r = ClickRouter::build(
            "FromDevice(0) -> q :: Queue(10) -> t :: ToDevice(1, 4, QUEUE 4);",
            "t",
            &reg,
            2,
        )
        .expect("config builds");
        let (mut n, sent, room) = nics(20, 0);
        let mut stats = [NicCounters::default(); 2];
        run(&mut r, &mut n, &mut stats);
        // The burst of 20 reaches the Queue before ToDevice's task runs:
        // it keeps 10 and drops 10 (its own drops handler). ToDevice then
        // pulls 4 into its device queue and none is dropped there.
        assert_eq!(sent.get(), 0);
        assert_eq!(r.read_handler("q", "drops").as_deref(), Ok("10"));
        assert_eq!(r.read_handler("q", "length").as_deref(), Ok("6"));
        assert_eq!(r.read_handler("t", "drops").as_deref(), Ok("0"));
        assert!(r.next_deadline(0).is_some(), "a blocked device is retried");
        // Room again: everything waiting leaves, in order.
        room.set(100);
        run(&mut r, &mut n, &mut stats);
        assert_eq!(sent.get(), 10);
        assert_eq!(stats[1].tx_packets, 10);
        assert_eq!(r.next_deadline(0), None);
    }

    #[test]
    fn push_mode_overflow_is_a_counted_drop() {
        let reg = elements::registry();
        let mut r = ClickRouter::build("FromDevice(0) -> t :: ToDevice(1, QUEUE 3);", "t", &reg, 2)
            .expect("config builds");
        let (mut n, _, _) = nics(10, 0);
        let mut stats = [NicCounters::default(); 2];
        run(&mut r, &mut n, &mut stats);
        assert_eq!(r.read_handler("t", "drops").as_deref(), Ok("7"));
        assert_eq!(stats[1].drops, 7);
    }

    #[test]
    fn bad_device_arguments_are_located_errors() {
        let reg = elements::registry();
        for (cfg, needle) in [
            ("FromDevice(ethX) -> Discard;", "bad device 'ethX'"),
            (
                "FromDevice(0, BURST 0) -> Discard;",
                "BURST must be positive",
            ),
            ("Idle -> ToDevice(1, QUEUE 0);", "QUEUE must be positive"),
            ("Idle -> ToDevice(3);", "no NIC 3"),
        ] {
            let e = ClickRouter::build(cfg, "t", &reg, 2)
                .err()
                .expect(cfg)
                .to_string();
            assert!(e.starts_with("t:1:") && e.contains(needle), "{cfg}: {e}");
        }
    }

    /// A NIC double that handles frames as the drivers do: it receives
    /// into frames from a frame pool (copying the wire bytes, as the
    /// device's DMA would) and gives sent frames back to it.
    struct PoolNic {
        pool: &'static FramePool,
        wire: Vec<u8>,
        pending: Rc<Cell<usize>>,
        sent: Rc<Cell<usize>>,
    }

    impl Nic for PoolNic {
        fn mac(&self) -> [u8; 6] {
            [2, 0, 0, 0, 0, 2]
        }
        fn recv(&mut self, out: &mut Vec<Frame>, max: usize) -> usize {
            let mut n = 0;
            while n < max && self.pending.get() > 0 {
                let Some(mut f) = self.pool.take() else { break };
                assert!(f.set_window(crate::net::frame::HEADROOM, self.wire.len()));
                f.data_mut().copy_from_slice(&self.wire);
                out.push(f);
                self.pending.set(self.pending.get() - 1);
                n += 1;
            }
            n
        }
        fn send(&mut self, frame: Frame) -> Result<(), Frame> {
            self.pool.give(frame);
            self.sent.set(self.sent.get() + 1);
            Ok(())
        }
        fn tx_room(&mut self) -> usize {
            usize::MAX
        }
    }

    #[test]
    fn a_steady_stream_makes_no_allocation_per_packet() {
        use crate::mem::counting::allocations;
        let reg = elements::registry();
        for cfg in [
            "FromDevice(0) -> q :: Queue(512) -> c :: Counter -> ToDevice(1);",
            "FromDevice(0) -> c :: Counter -> ToDevice(1);",
            // Dropped packets come back to the devices through the pool.
            "FromDevice(0) -> c :: Counter -> Discard; Idle -> ToDevice(1);",
        ] {
            let mut r = ClickRouter::build(cfg, "t", &reg, 2).expect("config builds");
            // A pool of this test's own (the drivers' is shared by the
            // tests running in parallel).
            let pool: &'static FramePool = Box::leak(Box::new(FramePool::new()));
            r.pool = pool;
            let (pending, sent) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
            let nic = |pending: &Rc<Cell<usize>>| PoolNic {
                pool,
                wire: alloc::vec![0x5a; 60],
                pending: pending.clone(),
                sent: sent.clone(),
            };
            let mut n: Vec<Box<dyn Nic>> = vec![
                Box::new(nic(&pending)),
                Box::new(nic(&Rc::new(Cell::new(0)))),
            ];
            let mut stats = [NicCounters::default(); 2];
            // Warm-up: the pool and the queues reach their working size.
            pending.set(1000);
            run(&mut r, &mut n, &mut stats);
            let before = allocations();
            pending.set(20_000);
            run(&mut r, &mut n, &mut stats);
            let made = allocations() - before;
            assert_eq!(made, 0, "{cfg}: {made} allocations for 20000 frames");
            let through = if cfg.contains("Discard") { 0 } else { 21_000 };
            assert_eq!(sent.get(), through, "{cfg}");
            assert_eq!(r.read_handler("c", "count").as_deref(), Ok("21000"));
        }
    }
}

//! The main loop: poll the router while work flows; when idle, arm device
//! interrupts and halt until a frame, store input, serial input or the
//! router's next deadline.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::x86_64::{apic, cpu, idt};
use crate::console::serial;
use crate::net::{Nic, NicSet};
use crate::router::{Io, Router};
use crate::stream::ByteStream;
use crate::time;

/// Keep polling this long after the last work before halting: waking from
/// `hlt` costs an interrupt injection, far more than a short spin.
const SPIN_NS: u64 = 200_000;

/// A device the loop can sleep on.
pub trait Wakeup {
    /// Enables the device's interrupts and clears stale interrupt status;
    /// returns true if work is already pending (then the loop must not halt).
    fn arm(&mut self) -> bool;
    /// Turns the device's interrupts back off for polling.
    fn disarm(&mut self);
    /// Looks at the device's control plane after it may have changed (a
    /// Xen backend going away or coming back).
    fn service(&mut self) {}
}

/// A NIC the loop owns: the router-facing half and the idle half.
pub trait LoopNic: Nic + Wakeup {}
impl<T: Nic + Wakeup> LoopNic for T {}

/// A host stream the loop owns.
pub trait LoopStream: ByteStream + Wakeup {}
impl<T: ByteStream + Wakeup> LoopStream for T {}

/// The devices the loop drives.
pub struct Devices {
    /// NICs in `-device` order.
    pub nics: Vec<Box<dyn LoopNic>>,
    /// The store channel, if any.
    pub store: Option<Box<dyn LoopStream>>,
    /// The state channel, if any (a second virtio-console).
    pub state: Option<Box<dyn LoopStream>>,
    /// Whether COM1's receive interrupt is routed (serial input wakes us).
    pub serial_irq: Option<u8>,
    /// The store channel's interrupt vector, if it has one (left out of
    /// the per-frame interrupt count).
    pub store_irq: Option<u8>,
    /// Some device has no interrupt: halts are cut to [`POLL_ONLY_NS`] so
    /// its input still gets looked at.
    pub polled_only: bool,
}

/// Longest halt while a device can only be polled.
pub const POLL_ONLY_NS: u64 = 1_000_000;

/// Counters for the idle path and the per-frame figures.
#[derive(Default, Debug, Clone, Copy)]
pub struct Stats {
    /// Times the loop halted.
    pub halts: u64,
    /// Times arming found work already pending.
    pub raced: u64,
    /// TSC ticks spent awake (from each wake-up to the next halt); under
    /// `-icount shift=0` with a 1 GHz TSC, guest instructions.
    pub busy_tsc: u64,
    /// The part of `busy_tsc` spent in loop rounds that found no work:
    /// polls of empty rings, the spin before a halt ([`SPIN_NS`]) and
    /// arming the devices for it.
    pub idle_tsc: u64,
}

/// The serial command that prints [`perf_line`] (a diagnostic, and the
/// markers the per-frame benchmark reads figures and QEMU's trace
/// between): Ctrl-P, which no text typed on the console contains.
const PERF_COMMAND: u8 = 0x10;

impl NicSet for Vec<Box<dyn LoopNic>> {
    fn count(&self) -> usize {
        self.len()
    }
    fn nic(&mut self, i: usize) -> Option<&mut (dyn Nic + '_)> {
        match self.get_mut(i) {
            Some(b) => Some(&mut **b),
            None => None,
        }
    }
    fn mac(&self, i: usize) -> Option<[u8; 6]> {
        self.get(i).map(|n| n.mac())
    }
}

static READY: AtomicBool = AtomicBool::new(false);

/// Prints the line hosts wait for, once the router runs: microseconds
/// since the PVH entry and the number of NICs.
pub fn print_ready(nics: usize) {
    crate::kprintln!("mb: ready boot_us={} nics={}", time::now_ns() / 1000, nics);
    READY.store(true, Ordering::Relaxed);
}

/// How much of the boot went on waiting for the host (store replies):
/// the time from each poll that found nothing to do to the next that did.
/// `boot_us` minus this is the guest's own work, which under
/// `-icount shift=0` is its instruction count (see BENCHMARKS.md).
#[derive(Default)]
struct BootWait {
    idle_since: Option<u64>,
    waited_ns: u64,
    reported: bool,
}

impl BootWait {
    /// Accounts one poll that started at `now`; prints the figure, after
    /// the ready line, once the router runs.
    fn polled(&mut self, now: u64, worked: bool) {
        if self.reported {
            return;
        }
        if worked {
            if let Some(t) = self.idle_since.take() {
                self.waited_ns += now.saturating_sub(t);
            }
        }
        if READY.load(Ordering::Relaxed) {
            self.reported = true;
            let pending = self.idle_since.map_or(0, |t| now.saturating_sub(t));
            crate::kprintln!(
                "mb: boot_wait_us={} (of boot_us, waiting for the host)",
                (self.waited_ns + pending) / 1000
            );
        } else if !worked {
            self.idle_since.get_or_insert(now);
        }
    }
}

/// Prints the per-frame figures' raw counters: busy and spin TSC ticks,
/// halts, interrupts taken (other than serial input and the store
/// channel's), and the router's frames received, sent and dropped.
fn perf_line(router: &dyn Router, dev: &Devices, stats: &Stats) {
    let skip = [dev.serial_irq, dev.store_irq]
        .into_iter()
        .flatten()
        .fold(0u64, |m, v| m | 1 << (v - 0x30));
    let (rx, tx, drops) = router.frames();
    crate::kprintln!(
        "mb: perf busy_tsc={} idle_tsc={} halts={} irqs={} rx={} tx={} drops={}",
        stats.busy_tsc,
        stats.idle_tsc,
        stats.halts,
        idt::taken_except(skip),
        rx,
        tx,
        drops
    );
}

/// Handles serial input: each [`PERF_COMMAND`] byte prints [`perf_line`],
/// with the busy time accounted up to now.
fn serial_input(router: &dyn Router, dev: &Devices, stats: &mut Stats, awake_since: &mut u64) {
    while let Some(b) = serial::COM1.read() {
        if b == PERF_COMMAND {
            let now = cpu::rdtsc();
            stats.busy_tsc += now.saturating_sub(*awake_since);
            *awake_since = now;
            perf_line(router, dev, stats);
        }
    }
}

/// Runs the router forever (it prints the ready line when it is running).
pub fn run(router: &mut dyn Router, mut dev: Devices) -> ! {
    let mut stats = Stats::default();
    let mut boot = BootWait::default();
    let mut last_work = time::now_ns();
    let mut awake_since = cpu::rdtsc();
    // When this loop round started, and whether the last one found no work.
    let mut round_start = awake_since;
    let mut idle_round = false;
    let serial_bit = dev.serial_irq.map_or(0, |v| 1u64 << (v - 0x30));
    loop {
        let t = cpu::rdtsc();
        if idle_round {
            stats.idle_tsc += t.saturating_sub(round_start);
        }
        round_start = t;
        idle_round = false;
        if idt::pending() & serial_bit != 0 {
            idt::take_pending();
            serial_input(router, &dev, &mut stats, &mut awake_since);
        }
        if crate::power::stop_requested() {
            crate::power::stop();
        }
        if crate::xen::mux::take_vif_change() {
            for nic in dev.nics.iter_mut() {
                nic.service();
            }
        }
        let now = time::now_ns();
        let store = dev.store.as_deref_mut().map(|s| s as &mut dyn ByteStream);
        let state = dev.state.as_deref_mut().map(|s| s as &mut dyn ByteStream);
        let worked = router.poll(&mut Io::new(&mut dev.nics, store, now).with_state(state));
        boot.polled(now, worked);
        if worked {
            last_work = now;
            continue;
        }
        idle_round = true;
        let deadline = router.next_deadline();
        if deadline.is_some_and(|d| d <= now) || now.saturating_sub(last_work) < SPIN_NS {
            core::hint::spin_loop();
            continue;
        }
        let (input, halted) = sleep(
            &mut dev,
            deadline,
            &mut stats,
            &mut awake_since,
            round_start,
        );
        if halted {
            // `sleep` accounted this round; the wake-up belongs to the next.
            idle_round = false;
            round_start = awake_since;
            last_work = time::now_ns();
        }
        if input {
            serial_input(router, &dev, &mut stats, &mut awake_since);
        }
    }
}

/// Arms the devices and halts until an interrupt (unless work is already
/// pending), accounting the awake time of the round that started at
/// `round_start`; returns whether serial input arrived and whether it
/// halted.
fn sleep(
    dev: &mut Devices,
    deadline: Option<u64>,
    stats: &mut Stats,
    awake_since: &mut u64,
    round_start: u64,
) -> (bool, bool) {
    if !crate::boot::stack_intact() {
        panic!("kernel stack overflowed into .bss");
    }
    let mut pending = false;
    for nic in dev.nics.iter_mut() {
        pending |= nic.arm();
    }
    for s in dev.store.iter_mut().chain(dev.state.iter_mut()) {
        pending |= s.arm();
    }
    if pending {
        stats.raced += 1;
    } else {
        let cap = dev.polled_only.then(|| time::now_ns() + POLL_ONLY_NS);
        let deadline = match (deadline, cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(d) = deadline {
            apic::ensure_timer_tsc(time::deadline_tsc(d));
        }
        stats.halts += 1;
        let t = cpu::rdtsc();
        stats.busy_tsc += t.saturating_sub(*awake_since);
        stats.idle_tsc += t.saturating_sub(round_start);
        cpu::wait_for_interrupt();
        *awake_since = cpu::rdtsc();
    }
    for nic in dev.nics.iter_mut() {
        nic.disarm();
    }
    for s in dev.store.iter_mut().chain(dev.state.iter_mut()) {
        s.disarm();
    }
    let fired = idt::take_pending();
    let input = dev
        .serial_irq
        .is_some_and(|v| fired & (1 << (v - 0x30)) != 0);
    (input, !pending)
}

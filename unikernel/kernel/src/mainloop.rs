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
    /// Some device has no interrupt: halts are cut to [`POLL_ONLY_NS`] so
    /// its input still gets looked at.
    pub polled_only: bool,
}

/// Longest halt while a device can only be polled.
pub const POLL_ONLY_NS: u64 = 1_000_000;

/// Counters for the idle path.
#[derive(Default, Debug, Clone, Copy)]
pub struct Stats {
    /// Times the loop halted.
    pub halts: u64,
    /// Times arming found work already pending.
    pub raced: u64,
}

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

/// Runs the router forever (it prints the ready line when it is running).
pub fn run(router: &mut dyn Router, mut dev: Devices) -> ! {
    let mut stats = Stats::default();
    let mut boot = BootWait::default();
    let mut last_work = time::now_ns();
    loop {
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
        let deadline = router.next_deadline();
        if deadline.is_some_and(|d| d <= now) || now.saturating_sub(last_work) < SPIN_NS {
            core::hint::spin_loop();
            continue;
        }
        sleep(&mut dev, deadline, &mut stats);
        last_work = time::now_ns();
    }
}

fn sleep(dev: &mut Devices, deadline: Option<u64>, stats: &mut Stats) {
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
            apic::arm_timer_tsc(time::deadline_tsc(d));
        }
        stats.halts += 1;
        cpu::wait_for_interrupt();
    }
    for nic in dev.nics.iter_mut() {
        nic.disarm();
    }
    for s in dev.store.iter_mut().chain(dev.state.iter_mut()) {
        s.disarm();
    }
    let fired = idt::take_pending();
    if let Some(v) = dev.serial_irq {
        if fired & (1 << (v - 0x30)) != 0 {
            // Serial input only wakes the loop for now; drain it so the
            // next byte raises a new edge.
            while serial::COM1.read().is_some() {}
        }
    }
}

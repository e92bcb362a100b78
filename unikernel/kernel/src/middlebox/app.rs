//! The router this guest runs, whoever asks: building and hot-swapping a
//! config, handler calls, moving packets (or dropping them while no
//! router runs), and the NIC counters. It knows nothing of the store.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use click::Registry;
use clickos_proto::NicCounters;

use crate::net::Frame;
use crate::router::click::ClickRouter;
use crate::router::{elements, Io};
use crate::time;

/// Click's write-only router handler that hot-swaps the configuration.
const HOTCONFIG: &str = "hotconfig";

/// The running router and what it runs.
pub struct App {
    /// Built when the guest starts, after the store hello is on its way.
    registry: Option<Registry>,
    nics: usize,
    router: Option<ClickRouter>,
    /// The text of the running config.
    running: Option<String>,
    /// Per-NIC counters, since boot, across reconfigurations.
    pub stats: Vec<NicCounters>,
    /// Configs loaded so far.
    pub loads: u32,
    /// The "ready" line was printed.
    ready: bool,
    scratch: Vec<Frame>,
}

impl App {
    /// No NICs, no router yet.
    pub fn new() -> App {
        App {
            registry: None,
            nics: 0,
            router: None,
            running: None,
            stats: Vec::new(),
            loads: 0,
            ready: false,
            scratch: Vec::with_capacity(click::batch::BATCH_MAX),
        }
    }

    /// The running engine router, for the state channel.
    pub fn engine(&self) -> Option<&click::Router> {
        self.router.as_ref().map(|r| r.router())
    }

    /// Takes the VM's NICs, and builds the element registry (the slow part
    /// of starting, done once the store's first requests are out).
    pub fn start(&mut self, nics: usize) {
        self.nics = nics;
        self.stats = vec![NicCounters::default(); nics];
        self.registry = Some(elements::registry());
    }

    /// Prints the "ready" line the host waits for, once.
    pub fn print_ready(&mut self) {
        if !self.ready {
            self.ready = true;
            crate::mainloop::print_ready(self.nics);
        }
    }

    /// Builds `text` and swaps it in; Ok(false) if it is already running.
    pub fn load(&mut self, text: &str, file: &str) -> Result<bool, String> {
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

    /// The host asked the router to stop: power off.
    pub fn halt(&mut self) -> ! {
        crate::kprintln!("mb: status Halted: stopping the router and powering off");
        self.router = None;
        crate::power::stop()
    }

    /// Reads handler `element.handler` (a router handler for an empty
    /// element).
    pub fn read_handler(&self, element: &str, handler: &str) -> Result<String, String> {
        let mut v = match &self.router {
            Some(r) => r
                .read_handler(element, handler)
                .map_err(|e| e.to_string())?,
            None => return Err("no router is running".to_string()),
        };
        // The guest adds `hotconfig` to the engine's router handlers.
        if element.is_empty() && handler == "handlers" {
            v.push_str(HOTCONFIG);
            v.push_str("\tw\n");
        }
        Ok(v)
    }

    /// Writes `text` to handler `element.handler`.
    pub fn write_handler(
        &mut self,
        element: &str,
        handler: &str,
        text: &str,
    ) -> Result<(), String> {
        if element.is_empty() && handler == HOTCONFIG {
            // Click's hotconfig: swap in this config, keeping the state of
            // elements with the same name and class; on error the running
            // router stays.
            return self.load(text, HOTCONFIG).map(|_| ());
        }
        match &self.router {
            Some(r) => r
                .write_handler(element, handler, text)
                .map_err(|e| e.to_string()),
            None => Err("no router is running".to_string()),
        }
    }

    /// Moves packets; true if any moved.
    pub fn poll(&mut self, io: &mut Io<'_>) -> bool {
        match self.router.as_mut() {
            Some(r) => r.poll(io, &mut self.stats),
            None => discard(io, &mut self.stats, &mut self.scratch),
        }
    }

    /// Whether the last poll took a whole receive burst (see
    /// [`ClickRouter::took_full_burst`]).
    pub fn took_full_burst(&self) -> bool {
        self.router.as_ref().is_some_and(|r| r.took_full_burst())
    }

    /// When the router has timed work due.
    pub fn next_deadline(&self, now_ns: u64) -> Option<u64> {
        self.router.as_ref().and_then(|r| r.next_deadline(now_ns))
    }
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

//! The host agent: one long-running process per run directory.
//!
//! Start it with [`run_foreground`] (what `mbctl agent` does), or let
//! [`client::ensure_agent`] start it in the background; stop it with
//! [`stop`]. Commands talk to it through [`client::call`].
//!
//! It serves the store (on KVM hosts; a Xen dom0 has its own xenstored),
//! takes requests from `mbctl` commands on `agent.sock` ([`control`]),
//! boots, stops and destroys middleboxes ([`vms`]) and notices those whose
//! VM went away. QEMU processes are not its children: they outlive it, and
//! a new agent adopts them from the records in the store.

#![warn(missing_docs)]

pub mod client;
pub mod control;
pub mod error;
pub mod metrics;
pub mod proto;
pub mod signals;
pub mod vms;

pub use error::{Error, Result};

use crate::error::Context;
use mb_vm::bail;
use mb_vm::pidfile;
use mb_vm::rundir::RunDir;
use mb_xenstored::{Config, Server};
use signals::Termination;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a new agent waits for adopted guests' consoles to reconnect
/// (QEMU retries every second).
const RECONNECT_WAIT: Duration = Duration::from_secs(5);

/// Runs an agent request in the agent (boot, destroy ...), as a client's
/// would be over `agent.sock`.
pub type Caller = Arc<dyn Fn(&proto::Request) -> Result<client::Done> + Send + Sync>;

/// What a registered service gets ([`register_service`]).
pub struct ServiceCtx {
    /// The run directory.
    pub run: RunDir,
    /// Set when the agent shuts down; the service must return soon after.
    pub stop: Arc<AtomicBool>,
    /// Requests to the agent itself.
    pub call: Caller,
}

/// A registered service: its thread's name and body.
type Service = (&'static str, fn(ServiceCtx));

/// Services registered by the program that runs agents.
static SERVICES: Mutex<Vec<Service>> = Mutex::new(Vec::new());

/// Registers `service` to run on a thread named `name` in every agent
/// this process starts (also one it forks off with
/// [`client::ensure_agent`]): the seam through which crates above the
/// agent (the chain controller) run inside it without the agent knowing
/// them.
pub fn register_service(name: &'static str, service: fn(ServiceCtx)) {
    let mut v = SERVICES.lock().unwrap_or_else(|p| p.into_inner());
    if !v.iter().any(|(n, _)| *n == name) {
        v.push((name, service));
    }
}

/// A running agent.
pub struct Agent {
    run: RunDir,
    store: Option<Arc<Server>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    adopted: Vec<String>,
    /// Held for the agent's life; released by the kernel however it ends.
    _lock: pidfile::Lock,
}

/// Makes `run` (0700) and takes its agent lock, before the agent touches
/// anything else in it: of agents started at once, exactly one gets it;
/// the others fail here having changed nothing. A pid file left by a
/// killed agent (its pid maybe reused by an unrelated process) does not
/// matter: the kernel dropped that agent's lock.
pub fn lock(run: &RunDir) -> Result<pidfile::Lock> {
    run.prepare().with_context(|| {
        format!(
            "creating run directory {} (run as root, or set MBCTL_RUN_DIR)",
            run.root().display()
        )
    })?;
    let path = run.lock_file();
    match pidfile::try_lock(&path).with_context(|| format!("locking {}", path.display()))? {
        Some(l) => {
            // A killed agent's: from here on the pid file names only the
            // lock's holder, so `stop` never signals a reused pid.
            let _ = std::fs::remove_file(run.pid_file());
            Ok(l)
        }
        None => {
            let pid = pidfile::read(&run.pid_file())
                .map(|p| format!(" (pid {p})"))
                .unwrap_or_default();
            Err(Error::Invalid(format!(
                "an agent{pid} already serves {}; stop it with `mbctl agent stop`",
                run.root().display()
            )))
        }
    }
}

impl Agent {
    /// Starts the agent's services under `run`: takes the run directory's
    /// lock ([`lock`]), then the store on `run.store_socket()` (durable in
    /// `run.store_state()`) unless this is a Xen dom0, recovery and
    /// adoption of middleboxes, the control socket and the crash watcher;
    /// writes the pid file last (it means "ready").
    pub fn start(run: RunDir) -> Result<Agent> {
        let lock = lock(&run)?;
        Agent::start_locked(run, lock)
    }

    /// [`start`](Self::start) with the lock already taken.
    pub fn start_locked(run: RunDir, lock: pidfile::Lock) -> Result<Agent> {
        let store = if mb_vm::backend::xl::host_is_dom0() {
            None
        } else {
            // No disk flush per write, as C xenstored: the state outlives
            // the agent (a restart replays the log), and a host crash takes
            // the VMs the records describe with it.
            let cfg = Config::new(run.store_socket())
                .with_state_dir(run.store_state())
                .without_fsync();
            Some(Arc::new(Server::start(cfg).with_context(|| {
                format!("starting the store on {}", run.store_socket().display())
            })?))
        };
        let mut agent = Agent {
            run,
            store,
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
            adopted: Vec::new(),
            _lock: lock,
        };
        if let Err(e) = agent.start_services() {
            agent.stop_services();
            return Err(e);
        }
        pidfile::write(&agent.run.pid_file())
            .with_context(|| format!("writing {}", agent.run.pid_file().display()))?;
        Ok(agent)
    }

    fn start_services(&mut self) -> Result<()> {
        let ports = self.ports();
        let mut st = self.run.connect_store()?;
        let ctx = vms::Ctx {
            run: &self.run,
            ports: ports.as_ref(),
        };
        self.adopted = vms::adopt(&ctx, &mut st, &|r| vms::backend_of(&self.run, r))?;
        self.wait_for_consoles(&mut st);
        drop(st);
        let t = control::serve(self.run.clone(), ports.clone(), self.stop.clone())?;
        self.threads.push(t);
        let run = self.run.clone();
        let reaper_ports = ports.clone();
        self.spawn_service("mbctl-reaper", move |stop| {
            control::watch_crashes(&run, reaper_ports.as_ref(), &stop)
        })?;
        let services = SERVICES.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (name, service) in services {
            let ctx = ServiceCtx {
                run: self.run.clone(),
                stop: self.stop.clone(),
                call: control::executor(self.run.clone(), ports.clone()),
            };
            self.spawn_service(name, move |_| service(ctx))?;
        }
        Ok(())
    }

    /// Runs `service` on a thread named `name` until the agent shuts down:
    /// it gets the agent's stop flag, set at shutdown, and must return soon
    /// after (checking it every second or so). Services beside the store
    /// and the control socket go here: the crash watcher, metrics.
    pub fn spawn_service(
        &mut self,
        name: &str,
        service: impl FnOnce(Arc<AtomicBool>) + Send + 'static,
    ) -> Result<()> {
        let stop = self.stop.clone();
        let t = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || service(stop))
            .with_context(|| format!("starting the agent's {name} thread"))?;
        self.threads.push(t);
        Ok(())
    }

    /// Adopted guests' consoles reconnect on QEMU's one-second timer;
    /// requests before that would go unanswered, so wait (bounded).
    fn wait_for_consoles(&self, st: &mut mb_store_client::Store) {
        let Some(server) = &self.store else { return };
        let mut domids = Vec::new();
        for name in &self.adopted {
            if let Ok(Some(r)) = mb_vm::Record::load(st, name) {
                if r.backend == "qemu" {
                    domids.push(r.domid);
                }
            }
        }
        let start = Instant::now();
        while start.elapsed() < RECONNECT_WAIT {
            let waiting =
                server.with_store(|s| domids.iter().filter(|&&d| s.conns_of(d).is_empty()).count());
            if waiting == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("mbctl agent: some adopted guests did not reconnect within {RECONNECT_WAIT:?}");
    }

    fn ports(&self) -> Arc<dyn vms::GuestPorts> {
        match &self.store {
            Some(s) => s.clone(),
            None => Arc::new(vms::XenPorts),
        }
    }

    /// The middleboxes adopted at start.
    pub fn adopted(&self) -> &[String] {
        &self.adopted
    }

    /// The run directory.
    pub fn run_dir(&self) -> &RunDir {
        &self.run
    }

    /// The store server (none on a Xen dom0).
    pub fn store(&self) -> Option<&Server> {
        self.store.as_deref()
    }

    fn stop_services(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the control socket's accept.
        let _ = std::os::unix::net::UnixStream::connect(self.run.control_socket());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(self.run.control_socket());
        if let Some(s) = &self.store {
            s.shutdown();
        }
    }

    /// Stops every service and removes the pid file. Middleboxes keep
    /// running; the next agent adopts them.
    pub fn shutdown(mut self) -> Result<()> {
        self.stop_services();
        match std::fs::remove_file(self.run.pid_file()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {}", self.run.pid_file().display())),
        }
    }
}

/// Runs the agent for `run` in this process until SIGTERM, SIGINT or
/// SIGHUP, then shuts it down: `mbctl agent`, and the body of a background
/// agent. Call before this process starts any thread (the signals are
/// blocked for every thread, and taken with `sigwait`).
pub fn run_foreground(run: RunDir, metrics: Option<&str>) -> Result<()> {
    // A client that goes away mid-reply must cost an EPIPE, not the agent.
    // SAFETY: setting a disposition before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // Everything the agent writes (the store's snapshot and log, records'
    // files, QEMU's logs and sockets) is root's alone.
    // SAFETY: umask has no preconditions.
    unsafe { libc::umask(0o077) };
    let lock = lock(&run)?;
    let term = Termination::block().context("blocking termination signals")?;
    // Bound before the agent starts, so a taken port leaves no pid file.
    let _metrics = metrics::start(&run, metrics)?;
    let agent = Agent::start_locked(run, lock)?;
    eprintln!(
        "mbctl agent: serving {} (pid {}); XENSTORED_PATH={}",
        agent.run_dir().root().display(),
        std::process::id(),
        agent.run_dir().store_socket().display()
    );
    let sig = term.wait().context("waiting for a termination signal")?;
    eprintln!("mbctl agent: signal {sig}, stopping");
    agent.shutdown()
}

/// Stops the agent serving `run` (SIGTERM, then waits up to `timeout` for
/// it to go). A pid file left by a killed agent is removed, with a note:
/// the lock says whether an agent runs, so a reused pid is never signalled.
pub fn stop(run: &RunDir, timeout: Duration) -> Result<()> {
    let pid_file = run.pid_file();
    let locked = pidfile::locked(&run.lock_file());
    let pid = pidfile::read(&pid_file);
    let pid = match (locked, pid) {
        (true, Some(pid)) => pid,
        (true, None) => bail!(
            "the agent serving {} is still starting (no pid file yet); try again",
            run.root().display()
        ),
        (false, None) => bail!(
            "no agent serves {} (no pid file {})",
            run.root().display(),
            pid_file.display()
        ),
        (false, Some(pid)) => {
            // Left behind by an agent that was killed; nothing to stop.
            let _ = std::fs::remove_file(&pid_file);
            eprintln!("mbctl: agent (pid {pid}) was not running; removed its stale pid file");
            return Ok(());
        }
    };
    pidfile::terminate(pid).with_context(|| format!("sending SIGTERM to agent pid {pid}"))?;
    let start = Instant::now();
    while pidfile::locked(&run.lock_file()) {
        if start.elapsed() > timeout {
            bail!(
                "agent pid {pid} still running {}s after SIGTERM",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

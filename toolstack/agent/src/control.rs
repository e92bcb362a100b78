//! The agent's side of `agent.sock`, and its crash watcher.

use crate::error::{Context, Result};
use mb_vm::bail;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::proto::{self, Reply, Request};
use super::vms::{self, GuestPorts};
use mb_store_client::Store;
use mb_vm::backend::{self, Kind};
use mb_vm::rundir::RunDir;

/// Operations that change middleboxes run one at a time (domain ids,
/// records and devices are allocated without races).
static OPS: Mutex<()> = Mutex::new(());

/// How often the crash watcher looks.
const REAP_PERIOD: Duration = Duration::from_millis(500);

/// Binds `agent.sock` and serves requests, a thread per connection, until
/// `stop` is set (and the socket is poked).
pub fn serve(
    run: RunDir,
    ports: Arc<dyn GuestPorts>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    let path = run.control_socket();
    // Bound in a private directory and renamed into place: never
    // reachable by others, and a live socket is never unlinked (the agent
    // lock is held, so one at this path is a dead agent's).
    let l = mb_xenstored::bind_private(&path, None)
        .with_context(|| format!("binding {}", path.display()))?;
    let t = thread::Builder::new()
        .name("mbctl-control".into())
        .spawn(move || {
            for s in l.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(s) = s else { continue };
                let (run, ports) = (run.clone(), ports.clone());
                let _ = thread::Builder::new()
                    .name("mbctl-request".into())
                    .spawn(move || handle(s, &run, ports.as_ref()));
            }
        })?;
    Ok(t)
}

fn handle(mut s: UnixStream, run: &RunDir, ports: &dyn GuestPorts) {
    let req: Request = match proto::recv(&mut s) {
        Ok(r) => r,
        Err(_) => return,
    };
    let reply = match execute(&req, run, ports) {
        Ok((notes, message)) => Reply::Ok { notes, message },
        Err(e) => Reply::Err(mb_vm::error::report(&e)),
    };
    let _ = proto::send(&mut s, &reply);
}

fn execute(req: &Request, run: &RunDir, ports: &dyn GuestPorts) -> Result<(Vec<String>, String)> {
    if *req == Request::Ping {
        return Ok((vec![], "pong".into()));
    }
    let _guard = OPS.lock().unwrap_or_else(|p| p.into_inner());
    let mut st = run.connect_store()?;
    let ctx = vms::Ctx { run, ports };
    match req {
        Request::Ping => unreachable!("answered above"),
        Request::Boot(b) => {
            let kind = Kind::parse(&b.backend)
                .with_context(|| format!("unknown backend '{}'", b.backend))?;
            check_backend_fits_host(kind)?;
            let be = backend::get(kind, run);
            vms::boot(&ctx, &mut st, be.as_ref(), b)
        }
        Request::Stop { name, timeout_ms } => {
            let be = record_backend(run, &mut st, name)?;
            vms::stop(
                &ctx,
                &mut st,
                be.as_ref(),
                name,
                Duration::from_millis(*timeout_ms),
            )
            .map(|m| (vec![], m))
        }
        Request::Destroy { name } => {
            let be = record_backend(run, &mut st, name)?;
            vms::destroy(&ctx, &mut st, be.as_ref(), name).map(|m| (vec![], m))
        }
    }
}

/// Runs requests as `agent.sock` does, from inside the agent: what a
/// service ([`crate::ServiceCtx`]) uses to boot and destroy middleboxes.
pub fn executor(run: RunDir, ports: Arc<dyn GuestPorts>) -> crate::Caller {
    Arc::new(move |req: &Request| {
        execute(req, &run, ports.as_ref())
            .map(|(notes, message)| crate::client::Done { notes, message })
    })
}

fn record_backend(run: &RunDir, st: &mut Store, name: &str) -> Result<Box<dyn backend::Backend>> {
    vms::backend_of(run, &mb_vm::record::Record::load_existing(st, name)?)
}

fn check_backend_fits_host(kind: Kind) -> Result<()> {
    let dom0 = backend::xl::host_is_dom0();
    match kind {
        Kind::Xl if !dom0 => bail!(
            "--backend xl needs a Xen dom0 (no 'control_d' in /proc/xen/capabilities); use --backend qemu here"
        ),
        Kind::Qemu if dom0 => bail!(
            "--backend qemu is for KVM/QEMU hosts; this is a Xen dom0, use --backend xl"
        ),
        _ => Ok(()),
    }
}

/// Every [`REAP_PERIOD`] until `stop` is set, tidies up after middleboxes
/// whose VM went away (an agent service, see
/// [`Agent::spawn_service`](crate::Agent::spawn_service)).
pub fn watch_crashes(run: &RunDir, ports: &dyn GuestPorts, stop: &AtomicBool) {
    let mut st = None;
    while !stop.load(Ordering::SeqCst) {
        thread::sleep(REAP_PERIOD);
        if st.is_none() {
            st = run.connect_store().ok();
        }
        let Some(s) = st.as_mut() else { continue };
        let _guard = OPS.lock().unwrap_or_else(|p| p.into_inner());
        let ctx = vms::Ctx { run, ports };
        if vms::reap(&ctx, s, &|r| vms::backend_of(run, r)).is_err() {
            st = None;
        }
    }
}

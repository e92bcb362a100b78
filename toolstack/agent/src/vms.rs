//! What the agent does to middleboxes: boot, stop, destroy, adopt after a
//! restart, and notice crashes. Written against [`StoreOps`], a
//! [`Backend`] and [`GuestPorts`], so the same sequence serves QEMU with
//! the agent's store and Xen with the system's, and runs in unit tests.

use crate::error::{Context, Error, Result};
use mb_vm::bail;
use mb_vm::error::WithContext;
use std::path::Path;
use std::time::{Duration, Instant};

use super::proto::BootRequest;
use mb_store_client::clickos::{self, LoadOutcome, StoreOps};
use mb_vm::backend::{self, accel, Backend, Kind, Plan};
use mb_vm::check_name;
use mb_vm::fault;
use mb_vm::files::VmFiles;
use mb_vm::net::NicSpec;
use mb_vm::record::{self, Record, State};
use mb_vm::rundir::RunDir;

/// How guests reach the store: the agent's server gives each a socket; on
/// Xen, xl and xenstored connect the ring themselves.
pub trait GuestPorts: Send + Sync {
    /// Serves domain `domid` on `socket` (creating its home).
    fn add(&self, domid: u32, socket: &Path) -> Result<()>;
    /// Stops serving `domid`.
    fn remove(&self, domid: u32) -> Result<()>;
}

impl GuestPorts for mb_xenstored::Server {
    fn add(&self, domid: u32, socket: &Path) -> Result<()> {
        // The socket belongs to the user QEMU drops to: it reconnects as
        // that, from inside the directory it is confined to.
        let user = mb_vm::backend::confine::vmm_user()?;
        if let Some(dir) = socket.parent() {
            mb_vm::backend::confine::guest_dir(dir, user.as_ref())?;
        }
        self.add_guest_socket_owned(domid, socket, user.map(|u| (u.uid, u.gid)))
            .with_context(|| format!("serving domain {domid} on {}", socket.display()))
    }
    fn remove(&self, domid: u32) -> Result<()> {
        Ok(self.remove_guest(domid)?)
    }
}

/// Stops serving `domid` and removes its guest directory.
fn unserve(ctx: &Ctx, domid: u32) -> Result<()> {
    let r = ctx.ports.remove(domid);
    let dir = ctx.run.guest_dir(domid);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            r.and(Err(e).with_context(|| format!("removing {}", dir.display())))
        }
        _ => r,
    }
}

/// Xen: nothing to do.
pub struct XenPorts;

impl GuestPorts for XenPorts {
    fn add(&self, _: u32, _: &Path) -> Result<()> {
        Ok(())
    }
    fn remove(&self, _: u32) -> Result<()> {
        Ok(())
    }
}

/// What the operations need from the agent.
pub struct Ctx<'a> {
    /// The run directory.
    pub run: &'a RunDir,
    /// Guest store access.
    pub ports: &'a dyn GuestPorts,
}

/// The last `n` lines of a file (the guest's serial log in errors).
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn serial_tail(files: &VmFiles) -> String {
    let t = tail(&files.console_log(), CRASH_LINES);
    let mut s = if t.is_empty() {
        "(the guest printed nothing)".into()
    } else {
        format!("the guest's serial output ends with:\n{t}")
    };
    let q = mb_vm::backend::qemu::messages(files);
    if !q.trim().is_empty() {
        s.push_str(&format!("\nQEMU said:\n{}", q.trim()));
    }
    s
}

/// Boots a middlebox; returns notes and a one-line result. On error,
/// nothing of it is left: no VM, device, record, store node or file.
pub fn boot(
    ctx: &Ctx,
    st: &mut dyn StoreOps,
    be: &dyn Backend,
    req: &BootRequest,
) -> Result<(Vec<String>, String)> {
    let started = Instant::now();
    check_name(&req.name)?;
    if let Some(r) = Record::load(st, &req.name)? {
        bail!(
            "a middlebox named '{}' already exists (domain {}, {}); stop it or choose another --name",
            req.name,
            r.domid,
            r.state.as_str()
        );
    }
    let nics = req
        .nics
        .iter()
        .map(|n| NicSpec::parse(n))
        .collect::<Result<Vec<_>, _>>()?;
    let accel_req = match req.accel.as_str() {
        "auto" => accel::Request::Auto,
        "kvm" => accel::Request::Kvm,
        "tcg" => accel::Request::Tcg,
        a => bail!("unknown accelerator '{a}'"),
    };
    let files = VmFiles::new(ctx.run, &req.name);
    let domid = if be.chooses_domid() {
        record::free_domid(st)?
    } else {
        0
    };
    let plan = Plan {
        name: req.name.clone(),
        domid,
        image: req.image.clone().into(),
        memory: req.memory.clone(),
        accel: accel_req,
        nics,
        store_socket: ctx.run.guest_socket(domid),
        files: files.clone(),
        ovs_rundir: req.ovs_rundir.clone(),
    };
    let mut rec = Record {
        name: req.name.clone(),
        domid,
        backend: be.kind().as_str().into(),
        state: State::Booting,
        pid: None,
        started: mb_vm::sys::now_secs(),
        config_name: req.config_name.clone(),
        config_file: req.config_file.clone(),
        memory: req.memory.clone(),
        accel: String::new(),
        image: req.image.clone(),
        nics: Vec::new(),
    };
    // The record comes first: a restarted agent finds from it whatever
    // this boot made before being killed (and its domain id stays taken
    // until then).
    fault::begin("boot");
    clickos::apply(st, &rec.store_ops())?;
    let r = (|| -> Result<()> {
        fault::step()?;
        let _ = std::fs::remove_dir_all(&files.dir);
        std::fs::create_dir_all(&files.dir)
            .with_context(|| format!("creating {}", files.dir.display()))?;
        // The guest's socket is ready and its config waits in the store
        // before QEMU starts.
        if be.chooses_domid() {
            ctx.ports.add(domid, &plan.store_socket)?;
            clickos::apply(st, &clickos::load_ops(domid, &req.config, &req.config_name))?;
            fault::step()?;
        }
        Ok(())
    })();
    if let Err(e) = r {
        cleanup(ctx, st, be, &rec);
        return Err(e);
    }
    let launched = match be.launch(&plan).map_err(Error::from).and_then(|l| {
        fault::step()?;
        Ok(l)
    }) {
        Ok(l) => l,
        Err(e) => {
            cleanup(ctx, st, be, &rec);
            return Err(e);
        }
    };
    if launched.domid != rec.domid {
        // Xen chose its own id: the placeholder's index entry goes.
        let _ = st.rm(&format!("{}/{}", record::DOMIDS, rec.domid));
    }
    rec.domid = launched.domid;
    rec.pid = launched.pid;
    rec.accel = launched.accel.clone();
    rec.nics = launched.nics.clone();
    let mut notes = launched.notes.clone();
    let r = (|| -> Result<()> {
        clickos::apply(st, &rec.store_ops())?;
        fault::step()?;
        if launched.paused {
            clickos::apply(
                st,
                &clickos::load_ops(rec.domid, &req.config, &req.config_name),
            )?;
            be.unpause(&rec)?;
        }
        let timeout = Duration::from_millis(req.timeout_ms);
        match wait_load(st, be, &rec, 0, timeout)? {
            LoadOutcome::Loaded => Ok(()),
            LoadOutcome::Rejected(msg) => Err(Error::Rejected(mb_vm::guest::name_guest_errors(
                &msg,
                &req.config_file,
            ))),
        }
    })();
    if let Err(e) = r {
        let detail = serial_tail(&files);
        cleanup(ctx, st, be, &rec);
        if matches!(e, Error::Rejected(_)) {
            return Err(e);
        }
        return Err(Error::wrap(
            format!("booting '{}' failed", req.name),
            Error::wrap(detail, e),
        ));
    }
    rec.state = State::Running;
    st.write(
        &format!("{}/state", record::path(&rec.name)),
        State::Running.as_str(),
    )?;
    fault::step()?;
    if launched.accel == "tcg" && req.accel == "auto" && !notes.iter().any(|n| n.contains("TCG")) {
        notes.push("running under TCG".into());
    }
    Ok((
        std::mem::take(&mut notes),
        format!(
            "{}: domain {}, running ({}, {} ms)",
            rec.name,
            rec.domid,
            rec.accel,
            started.elapsed().as_millis()
        ),
    ))
}

/// Waits for a load that started at `loads_before` to end; fails if the
/// VM goes away or `timeout` passes.
pub fn wait_load(
    st: &mut dyn StoreOps,
    be: &dyn Backend,
    rec: &Record,
    loads_before: u64,
    timeout: Duration,
) -> Result<LoadOutcome> {
    let start = Instant::now();
    let mut last_alive_check = Instant::now();
    let mut nap = Duration::from_micros(200);
    loop {
        if let Some(o) = clickos::load_outcome(st, rec.domid, loads_before)? {
            return Ok(o);
        }
        if last_alive_check.elapsed() > Duration::from_millis(50) {
            if !be.alive(rec) {
                bail!("the VM exited before its router started");
            }
            last_alive_check = Instant::now();
        }
        if start.elapsed() > timeout {
            let status = st.read(&clickos::status(rec.domid))?.unwrap_or_default();
            bail!(
                "the router did not start within {:.1} s (status '{status}'; is the image a store-reading guest?)",
                timeout.as_secs_f64()
            );
        }
        std::thread::sleep(nap);
        // A look is one pipelined round trip; a long nap would only add
        // to the time `mbctl boot` takes to return.
        nap = (nap * 2).min(Duration::from_millis(1));
    }
}

/// How long a VM's leftover processes get to go after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Removes everything a middlebox has: its VM (if still there, found by
/// its record or, for a boot cut short, by its files), host devices
/// (recorded, or journaled in its directory), guest socket, store nodes,
/// files and, last, its record. Keeps going past errors and returns the
/// first, except that while the VM may still run the record stays: its
/// domain id is not reused, and a later `destroy` tries again.
pub fn cleanup(ctx: &Ctx, st: &mut dyn StoreOps, be: &dyn Backend, rec: &Record) -> Option<Error> {
    fn note<E: Into<Error>>(first: &mut Option<Error>, r: std::result::Result<(), E>) {
        if let Err(e) = r {
            first.get_or_insert(e.into());
        }
    }
    let files = VmFiles::new(ctx.run, &rec.name);
    let gone = be.destroy(rec).and_then(|()| {
        // A QEMU the record does not name yet (killed between its start
        // and the record's update) still names its pid file.
        mb_vm::sys::kill_all_with_arg(&files.pid_file(), KILL_WAIT)
    });
    if let Err(e) = gone {
        return Some(e.into());
    }
    let mut first = None;
    note(&mut first, fault::step());
    note(&mut first, be.remove_nics(rec));
    if let Some(e) = mb_vm::net::host::undo(&mb_vm::net::host::journaled(&files.dir)) {
        first.get_or_insert(e.into());
    }
    note(&mut first, fault::step());
    if be.chooses_domid() {
        // A crashed one's port and home went when it was marked so.
        if rec.state != State::Crashed {
            note(&mut first, unserve(ctx, rec.domid));
        }
        note(&mut first, st.rm(&clickos::home(rec.domid)));
    }
    note(&mut first, fault::step());
    files.remove();
    note(&mut first, fault::step());
    note(&mut first, clickos::apply(st, &rec.remove_ops()));
    note(&mut first, fault::step());
    first
}

fn set_state(st: &mut dyn StoreOps, name: &str, state: State) -> Result<()> {
    st.write(&format!("{}/state", record::path(name)), state.as_str())?;
    Ok(())
}

/// Stops a middlebox: `Halted` (the guest stops its router and powers
/// off), then destroys it if it is still there after `timeout`.
pub fn stop(
    ctx: &Ctx,
    st: &mut dyn StoreOps,
    be: &dyn Backend,
    name: &str,
    timeout: Duration,
) -> Result<String> {
    let mut rec = Record::load_existing(st, name)?;
    fault::begin("stop");
    rec.state = State::Stopping;
    set_state(st, name, State::Stopping)?;
    let graceful = if be.alive(&rec) {
        st.write(&clickos::status(rec.domid), clickos::HALTED)?;
        be.wait_gone(&rec, timeout)
    } else {
        false
    };
    if let Some(e) = cleanup(ctx, st, be, &rec) {
        return Err(Error::wrap(format!("stopping '{name}'"), e));
    }
    Ok(if graceful {
        format!("{name}: halted and stopped")
    } else {
        format!(
            "{name}: did not power off within {:.1} s; destroyed",
            timeout.as_secs_f64()
        )
    })
}

/// Destroys a middlebox at once.
pub fn destroy(ctx: &Ctx, st: &mut dyn StoreOps, be: &dyn Backend, name: &str) -> Result<String> {
    let rec = Record::load_existing(st, name)?;
    // Said first, so an agent killed halfway finishes it on restart.
    fault::begin("destroy");
    set_state(st, name, State::Stopping)?;
    fault::step()?;
    if let Some(e) = cleanup(ctx, st, be, &rec) {
        return Err(Error::wrap(format!("destroying '{name}'"), e));
    }
    Ok(format!("{name}: destroyed"))
}

/// The backend a record names.
pub fn backend_of(run: &RunDir, rec: &Record) -> Result<Box<dyn Backend>> {
    let k = Kind::parse(&rec.backend)
        .with_context(|| format!("record '{}': unknown backend '{}'", rec.name, rec.backend))?;
    Ok(backend::get(k, run))
}

/// After an agent (re)start: finishes what a killed agent left half done
/// (a destroy is completed; a boot whose guest had not started its router
/// is rolled back), serves every middlebox whose VM still runs again, and
/// tidies up those whose VM went away (their devices, socket and store
/// nodes go; the record stays, `crashed`, for `mbctl show` and `logs`).
/// Returns the names adopted.
pub fn adopt(
    ctx: &Ctx,
    st: &mut dyn StoreOps,
    pick: &dyn Fn(&Record) -> Result<Box<dyn Backend>>,
) -> Result<Vec<String>> {
    let mut adopted = Vec::new();
    fault::begin("recover");
    for rec in Record::load_all(st)? {
        // A record this agent cannot act on (written by hand, or by a
        // newer mbctl) must not keep the agent from starting.
        let be = match pick(&rec) {
            Ok(b) => b,
            Err(e) => {
                eprintln!(
                    "mbctl agent: skipping record '{}': {}",
                    rec.name,
                    mb_vm::error::report(&e)
                );
                continue;
            }
        };
        let finish = |st: &mut dyn StoreOps, what: &str| {
            let r = cleanup(ctx, st, be.as_ref(), &rec);
            let how = r.map_or("done".into(), |e| mb_vm::error::report(&e));
            eprintln!(
                "mbctl agent: '{}' (domain {}) was {what} when the last agent ended: {how}",
                rec.name, rec.domid
            );
        };
        match rec.state {
            State::Crashed => {}
            State::Stopping => finish(st, "being destroyed"),
            State::Booting => {
                let loaded = be.alive(&rec)
                    && matches!(
                        clickos::load_outcome(st, rec.domid, 0),
                        Ok(Some(LoadOutcome::Loaded))
                    );
                if loaded {
                    // The boot's reply died with the old agent; the VM and
                    // its router are up, so it is running.
                    serve_again(ctx, be.as_ref(), &rec)?;
                    set_state(st, &rec.name, State::Running)?;
                    adopted.push(rec.name.clone());
                } else {
                    finish(st, "booting (rolled back)");
                }
            }
            State::Running if be.alive(&rec) => {
                serve_again(ctx, be.as_ref(), &rec)?;
                adopted.push(rec.name.clone());
            }
            State::Running => mark_crashed(ctx, st, be.as_ref(), &rec),
        }
    }
    Ok(adopted)
}

fn serve_again(ctx: &Ctx, be: &dyn Backend, rec: &Record) -> Result<()> {
    if be.chooses_domid() {
        ctx.ports.add(rec.domid, &ctx.run.guest_socket(rec.domid))?;
    }
    Ok(())
}

/// Tidies up after a VM that went away by itself: its devices, guest
/// socket and store nodes go; the record stays, state `crashed`, with the
/// guest's last console lines (`crash_log`), until `destroy`.
pub fn mark_crashed(ctx: &Ctx, st: &mut dyn StoreOps, be: &dyn Backend, rec: &Record) {
    let files = VmFiles::new(ctx.run, &rec.name);
    let _ = be.remove_nics(rec);
    if be.chooses_domid() {
        let _ = unserve(ctx, rec.domid);
        let _ = st.rm(&clickos::home(rec.domid));
    }
    let last = tail(&files.console_log(), CRASH_LINES);
    let _ = st.write(&record::crash_log_path(&rec.name), &last);
    let _ = set_state(st, &rec.name, State::Crashed);
    let _ = st.rm(&format!("{}/pid", record::path(&rec.name)));
    eprintln!(
        "mbctl agent: '{}' (domain {}) went away; marked crashed",
        rec.name, rec.domid
    );
}

/// How many console lines a crashed middlebox's record keeps.
pub const CRASH_LINES: usize = 15;

/// One look for running middleboxes whose VM has gone.
pub fn reap(
    ctx: &Ctx,
    st: &mut dyn StoreOps,
    pick: &dyn Fn(&Record) -> Result<Box<dyn Backend>>,
) -> Result<()> {
    for rec in Record::load_all(st)? {
        if rec.state != State::Running {
            continue;
        }
        let Ok(be) = pick(&rec) else { continue };
        if !be.alive(&rec) {
            // Re-read: a stop may have removed it meanwhile.
            if Record::load(st, &rec.name)?.is_some_and(|r| r.state == State::Running) {
                mark_crashed(ctx, st, be.as_ref(), &rec);
            }
        }
    }
    Ok(())
}

/// What [`reconfigure`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reconfigured {
    /// The guest already ran this config; nothing was sent.
    Unchanged,
    /// The guest runs the new config (named `config_name`).
    Loaded {
        /// Its label in the record.
        config_name: String,
    },
    /// The guest would not load it and keeps its previous config.
    Rejected {
        /// The guest's errors, naming the file.
        errors: String,
        /// The label of the config it keeps.
        kept: String,
    },
}

/// Hot-swaps the config of the running middlebox `rec` for `source`
/// (from `file`): writes it to the guest's store nodes and waits up to
/// `timeout` for the guest to load it (it moves same-named elements'
/// state over, Click's hotswap). A rejected config leaves the previous one
/// in the store.
pub fn reconfigure(
    run: &RunDir,
    st: &mut dyn StoreOps,
    rec: &Record,
    source: &str,
    file: &str,
    timeout: Duration,
) -> Result<Reconfigured> {
    let be = backend_of(run, rec)?;
    if !be.alive(rec) {
        bail!(
            "'{}' is not running (state {})",
            rec.name,
            rec.state.as_str()
        );
    }
    let name = Path::new(file)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string());
    let old = clickos::read_config(st, rec.domid)?;
    if old == source {
        return Ok(Reconfigured::Unchanged);
    }
    let before = clickos::read_u64(st, &clickos::loads(rec.domid))?.unwrap_or(0);
    clickos::apply(st, &clickos::load_ops(rec.domid, source, &name))?;
    match wait_load(st, be.as_ref(), rec, before, timeout)? {
        LoadOutcome::Loaded => {
            let b = record::path(&rec.name);
            st.write(&format!("{b}/config_name"), &name)?;
            st.write(&format!("{b}/config_file"), file)?;
            Ok(Reconfigured::Loaded { config_name: name })
        }
        LoadOutcome::Rejected(msg) => {
            // Keep the config that runs in the store (for `handlers`),
            // without asking the guest to load anything.
            clickos::apply(st, &clickos::config_ops(rec.domid, &old, &rec.config_name))?;
            Ok(Reconfigured::Rejected {
                errors: mb_vm::guest::name_guest_errors(&msg, file),
                kept: rec.config_name.clone(),
            })
        }
    }
}

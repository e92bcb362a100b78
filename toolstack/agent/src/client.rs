//! The commands' side of `agent.sock`: send a request, starting the agent
//! in the background first if none runs.

use crate::error::{Context, Result};
use mb_vm::bail;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use super::proto::{self, Reply, Request};
use mb_store_client::Store;
use mb_vm::pidfile;
use mb_vm::rundir::RunDir;
use mb_vm::sys::{self, Detach, Detached};

/// How long a starting agent may take to answer.
const START_WAIT: Duration = Duration::from_secs(20);

fn call_once(run: &RunDir, req: &Request) -> Result<Reply> {
    let mut s = UnixStream::connect(run.control_socket())?;
    proto::send(&mut s, req)?;
    proto::recv(&mut s)
}

/// Makes sure an agent serves `run`, starting one in the background
/// (its own session, its messages in `agent.log`) if needed: this process
/// forks into [`run_foreground`](crate::run_foreground), so it must still
/// be single-threaded then (a command's main thread is).
pub fn ensure_agent(run: &RunDir) -> Result<()> {
    if call_once(run, &Request::Ping).is_ok() {
        return Ok(());
    }
    run.prepare().with_context(|| {
        format!(
            "creating run directory {} (run as root, or set MBCTL_RUN_DIR)",
            run.root().display()
        )
    })?;
    let agent_run = run.clone();
    let log = run.agent_log();
    let how = Detached {
        name: "mbctl-agent",
        log: &log,
        detach: Detach::Session,
        netns: None,
    };
    let pid = sys::fork_detached(&how, move || match crate::run_foreground(agent_run, None) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mbctl agent: {}", mb_vm::error::report(&e));
            1
        }
    })
    .context("starting the agent")?;
    let start = Instant::now();
    let mut lost_race = false;
    loop {
        if call_once(run, &Request::Ping).is_ok() {
            // Reaped by init once we exit; nothing to wait for here.
            return Ok(());
        }
        // Of commands that start agents at once, one agent takes the run
        // directory's lock; the others exit, and their commands wait for
        // the winner to answer.
        let exited = if lost_race {
            None
        } else {
            sys::child_exited(pid)
        };
        if exited.is_some() && pidfile::locked(&run.lock_file()) {
            lost_race = true;
        } else if let Some(status) = exited {
            let tail = super::vms::tail(&run.agent_log(), 10);
            bail!(
                "the agent exited ({}) while starting:\n{tail}",
                std::process::ExitStatus::from_raw(status)
            );
        }
        if start.elapsed() > START_WAIT {
            bail!(
                "the agent did not answer within {START_WAIT:?}; see {}",
                run.agent_log().display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A store connection, starting the agent (which serves the store on KVM
/// hosts) if the store does not answer. The store is tried first: a
/// running agent then costs no round trip of its own.
pub fn store(run: &RunDir) -> Result<Store> {
    match run.connect_store() {
        Ok(st) => Ok(st),
        Err(_) if !mb_store_client::host_is_dom0() => {
            ensure_agent(run)?;
            Ok(run.connect_store()?)
        }
        Err(e) => Err(e.into()),
    }
}

/// What the agent did for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    /// Remarks for the user (e.g. the accelerator's fallback).
    pub notes: Vec<String>,
    /// The result, one line.
    pub message: String,
}

/// Sends `req` to the agent serving `run` (starting it if needed); returns
/// what it did, or fails with its error.
pub fn call(run: &RunDir, req: &Request) -> Result<Done> {
    ensure_agent(run)?;
    match call_once(run, req).context("talking to the agent")? {
        Reply::Ok { notes, message } => Ok(Done { notes, message }),
        Reply::Err(e) => bail!("{e}"),
    }
}

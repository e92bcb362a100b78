//! The commands' side of `agent.sock`: send a request, starting the agent
//! in the background first if none runs.

use anyhow::{bail, Context, Result};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::proto::{self, Reply, Request};
use crate::rundir::RunDir;

/// How long a starting agent may take to answer.
const START_WAIT: Duration = Duration::from_secs(20);

fn call_once(run: &RunDir, req: &Request) -> Result<Reply> {
    let mut s = UnixStream::connect(run.control_socket())?;
    proto::send(&mut s, req)?;
    proto::recv(&mut s)
}

/// Makes sure an agent serves `run`, starting one in the background
/// (detached, its messages in `agent.log`) if needed.
pub fn ensure_agent(run: &RunDir) -> Result<()> {
    if call_once(run, &Request::Ping).is_ok() {
        return Ok(());
    }
    std::fs::create_dir_all(run.root()).with_context(|| {
        format!(
            "creating run directory {} (run as root, or set MBCTL_RUN_DIR)",
            run.root().display()
        )
    })?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.agent_log())
        .with_context(|| format!("opening {}", run.agent_log().display()))?;
    let exe = std::env::current_exe().context("finding the mbctl binary")?;
    let mut cmd = Command::new(exe);
    cmd.arg("agent")
        .env("MBCTL_RUN_DIR", run.root())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe; the agent leaves our session
    // so it outlives this command and its terminal.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("starting the agent")?;
    let start = Instant::now();
    loop {
        if call_once(run, &Request::Ping).is_ok() {
            // Reaped by init once we exit; nothing to wait for here.
            std::mem::forget(child);
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let tail = super::vms::tail(&run.agent_log(), 10);
            bail!("the agent exited ({status}) while starting:\n{tail}");
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

/// Sends `req` to the agent (starting it if needed); prints its notes on
/// standard error and returns its message, or fails with its error.
pub fn call(req: &Request) -> Result<String> {
    let run = RunDir::from_env();
    ensure_agent(&run)?;
    let reply = call_once(&run, req).context("talking to the agent")?;
    match reply {
        Reply::Ok { notes, message } => {
            for n in notes {
                eprintln!("mbctl: {n}");
            }
            Ok(message)
        }
        Reply::Err(e) => bail!("{e}"),
    }
}

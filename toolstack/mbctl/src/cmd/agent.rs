//! `mbctl agent`: run the agent in the foreground; `mbctl agent stop`: stop it.

use crate::agent::{pidfile, signals::Termination, Agent};
use crate::rundir::RunDir;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::time::{Duration, Instant};

/// Arguments of `mbctl agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Without an action, run the agent in the foreground until SIGTERM/SIGINT.
    #[command(subcommand)]
    pub action: Option<AgentAction>,
    /// Serve Prometheus metrics on http://ADDR:PORT/metrics (default:
    /// $MBCTL_METRICS; none when unset).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<String>,
}

/// What to do with the agent.
#[derive(Debug, Subcommand)]
pub enum AgentAction {
    /// Stop the agent serving $MBCTL_RUN_DIR (SIGTERM, then wait until it is gone).
    Stop {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
}

/// Runs the subcommand.
pub fn run(args: AgentArgs) -> Result<()> {
    let run = RunDir::from_env();
    match args.action {
        None => foreground(run, args.metrics.as_deref()),
        Some(AgentAction::Stop { timeout }) => stop(&run, Duration::from_secs(timeout)),
    }
}

fn foreground(run: RunDir, metrics: Option<&str>) -> Result<()> {
    let term = Termination::block().context("blocking termination signals")?;
    let _metrics = crate::agent::metrics::start(metrics)?;
    let agent = Agent::start(run)?;
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

fn stop(run: &RunDir, timeout: Duration) -> Result<()> {
    let pid_file = run.pid_file();
    let Some(pid) = pidfile::read(&pid_file) else {
        bail!(
            "no agent serves {} (no pid file {})",
            run.root().display(),
            pid_file.display()
        );
    };
    if !pidfile::alive(pid) {
        // Left behind by an agent that was killed; nothing to stop.
        let _ = std::fs::remove_file(&pid_file);
        eprintln!("mbctl: agent (pid {pid}) was not running; removed its stale pid file");
        return Ok(());
    }
    pidfile::terminate(pid).with_context(|| format!("sending SIGTERM to agent pid {pid}"))?;
    let start = Instant::now();
    while pidfile::alive(pid) {
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

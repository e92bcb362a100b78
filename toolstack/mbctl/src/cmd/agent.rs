//! `mbctl agent`: run the agent in the foreground; `mbctl agent stop`: stop it.

use anyhow::Result;
use clap::{Args, Subcommand};
use mb_vm::rundir::RunDir;
use std::time::Duration;

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
pub fn run(run: &RunDir, args: AgentArgs) -> Result<()> {
    match args.action {
        None => Ok(mb_agent::run_foreground(
            run.clone(),
            args.metrics.as_deref(),
        )?),
        Some(AgentAction::Stop { timeout }) => {
            Ok(mb_agent::stop(run, Duration::from_secs(timeout))?)
        }
    }
}

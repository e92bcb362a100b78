//! The host agent: one long-running process per run directory.
//!
//! Today it serves the store; VM supervision, monitoring and the state
//! broker join it as further fields of [`Agent`], started in
//! [`Agent::start`] and stopped in [`Agent::shutdown`].

pub mod pidfile;
pub mod signals;

use crate::rundir::RunDir;
use anyhow::{bail, Context, Result};
use mb_xenstored::{Config, Server};

/// A running agent.
pub struct Agent {
    run: RunDir,
    store: Server,
}

impl Agent {
    /// Starts the agent's services under `run`: the store on
    /// `run.store_socket()`, durable in `run.store_state()`; writes the pid file.
    pub fn start(run: RunDir) -> Result<Agent> {
        std::fs::create_dir_all(run.root())
            .with_context(|| format!("creating run directory {}", run.root().display()))?;
        if let Some(pid) = pidfile::read(&run.pid_file()) {
            if pid != std::process::id() as i32 && pidfile::alive(pid) {
                bail!(
                    "an agent (pid {pid}) already serves {}; stop it with `mbctl agent stop`",
                    run.root().display()
                );
            }
        }
        let cfg = Config::new(run.store_socket()).with_state_dir(run.store_state());
        let store = Server::start(cfg)
            .with_context(|| format!("starting the store on {}", run.store_socket().display()))?;
        pidfile::write(&run.pid_file())
            .with_context(|| format!("writing {}", run.pid_file().display()))?;
        Ok(Agent { run, store })
    }

    /// The run directory.
    pub fn run_dir(&self) -> &RunDir {
        &self.run
    }

    /// The store server (to add guest sockets as VMs start).
    pub fn store(&self) -> &Server {
        &self.store
    }

    /// Stops every service and removes the pid file.
    pub fn shutdown(self) -> Result<()> {
        self.store.shutdown();
        match std::fs::remove_file(self.run.pid_file()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {}", self.run.pid_file().display())),
        }
    }
}

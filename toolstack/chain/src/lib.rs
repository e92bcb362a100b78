//! Chains of middleboxes wired through Open vSwitch (`mbctl chain`).
//!
//! A chain file ([`spec`]) names two ends and the hops between them, each
//! with its replica [`policy`]. The [`plan`] derives every bridge, device,
//! address and definition from it;
//! [`up`] makes them, recording each in a [`journal`] before making it, and
//! [`down`] removes what the journal lists, newest first. Hops run as host
//! runner processes ([`runner`]) or as middlebox VMs. [`show`] reads the
//! live counters of every hop's switch ports; [`check`] checks a chain
//! file and its hops' configurations without making anything.
//!
//! Each chain keeps `<run dir>/chains/<name>/`: `chain.toml` (the file it
//! was started from, with its hop configs' paths made absolute), `backend`,
//! `made` (the journal) and one log per runner hop.

pub mod check;
pub mod down;
pub mod error;
pub mod events;
pub mod journal;
pub mod plan;
pub mod policy;
pub mod replica;
pub mod runner;
pub mod show;
pub mod spec;
pub mod split;
pub mod up;
pub mod vm;

pub use error::{Error, Result};

use std::path::PathBuf;

use mb_vm::rundir::RunDir;

/// Where chain `name` keeps its records.
pub fn dir(run: &RunDir, name: &str) -> PathBuf {
    run.root().join("chains").join(name)
}

/// The private Open vSwitch's directory.
pub fn ovs_dir(run: &RunDir) -> PathBuf {
    run.root().join("ovs")
}

/// The names of the chains that are up (or half up), sorted.
pub fn names(run: &RunDir) -> Result<Vec<String>> {
    let mut v = Vec::new();
    match std::fs::read_dir(run.root().join("chains")) {
        Ok(rd) => {
            for e in rd.flatten() {
                if e.path().join("made").exists() {
                    v.push(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    v.sort();
    Ok(v)
}

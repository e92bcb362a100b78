//! A chain's event log (`mbctl chain events`): one JSON object per line
//! in `<chain dir>/events`, appended by `chain up` and the controller.

use crate::error::{Context, Result};
use mb_vm::rundir::RunDir;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;

/// One event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When, in milliseconds since the Unix epoch.
    pub t_ms: u64,
    /// The hop.
    pub hop: String,
    /// The replica (VM name), if the event is about one.
    pub replica: Option<String>,
    /// What happened: `threshold`, `booting`, `running`, `warm`,
    /// `forwarding`, `poll-missed`, `failed`, `replaced`, `draining`,
    /// `removed`, `resumed`.
    pub kind: String,
    /// Details for people.
    pub detail: String,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The log file of chain `name`.
pub fn file(run: &RunDir, name: &str) -> PathBuf {
    crate::dir(run, name).join("events")
}

/// Appends an event now to chain `chain`'s log (best effort when the
/// chain's directory is gone: the chain is being taken down).
pub fn log(run: &RunDir, chain: &str, hop: &str, replica: Option<&str>, kind: &str, detail: &str) {
    let e = Event {
        t_ms: now_ms(),
        hop: hop.into(),
        replica: replica.map(str::to_string),
        kind: kind.into(),
        detail: detail.into(),
    };
    let _ = append(run, chain, &e);
}

/// Appends `e` to chain `chain`'s log.
pub fn append(run: &RunDir, chain: &str, e: &Event) -> Result<()> {
    let path = file(run, chain);
    if !crate::dir(run, chain).exists() {
        return Ok(());
    }
    let mut line = serde_json::to_string(e).expect("events serialize");
    line.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// The events from byte `from` of the log on; returns them and where the
/// next read starts (for `-f`).
pub fn read_from(run: &RunDir, chain: &str, from: u64) -> Result<(Vec<Event>, u64)> {
    let path = file(run, chain);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), from)),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let start = (from as usize).min(text.len());
    // Only whole lines: a writer may be halfway through one.
    let end = text[start..]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(start, |i| start + i + 1);
    let events = String::from_utf8_lossy(&text[start..end])
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Ok((events, end as u64))
}

/// One line for people: `HH:MM:SS.mmm hop replica kind: detail`.
pub fn render(e: &Event) -> String {
    let s = e.t_ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03} {} {} {}{}",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        e.t_ms % 1000,
        e.hop,
        e.replica.as_deref().unwrap_or("-"),
        e.kind,
        if e.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", e.detail)
        }
    )
}

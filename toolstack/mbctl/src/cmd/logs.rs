//! `mbctl logs`: the guest's serial output, as logged.

use anyhow::{bail, Result};
use mb_agent::client;
use mb_vm::record::Record;
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use mb_agent::vms;
use mb_vm::files::VmFiles;
use mb_vm::rundir::RunDir;

/// Print a middlebox's serial output.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  mbctl logs fw\n  mbctl logs fw -n 20\n  mbctl logs fw -f")]
pub struct LogsArgs {
    /// The middlebox.
    pub name: String,
    /// Only the last N lines.
    #[arg(short = 'n', long)]
    pub lines: Option<usize>,
    /// Keep printing what the guest writes, until it stops or Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,
}

/// The last `n` lines of `text`, each ending in a newline (nothing for 0).
pub fn last_lines(text: &str, n: usize) -> String {
    let l: Vec<&str> = text.lines().collect();
    l[l.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Runs `mbctl logs`.
pub fn logs(run: &RunDir, a: LogsArgs) -> Result<()> {
    let mut st = client::store(run)?;
    let rec = Record::load_existing(&mut st, &a.name)?;
    let files = VmFiles::new(run, &rec.name);
    let path = files.console_log();
    let mut f = match std::fs::File::open(&path) {
        Ok(f) => f,
        // A link to xenconsoled's log, which it never wrote (mb-vm's xl.rs).
        Err(e) if rec.backend == "xl" => bail!(
            "{}: {e}: xenconsoled logs no console for '{}' (start it with --log=guest); \
             `xl console {}` shows it live",
            path.display(),
            rec.name,
            rec.name
        ),
        Err(e) => bail!("{}: {e}", path.display()),
    };
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    let out = match a.lines {
        Some(n) => last_lines(&text, n),
        None => text,
    };
    let mut stdout = std::io::stdout();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    if !a.follow {
        return Ok(());
    }
    let be = vms::backend_of(run, &rec)?;
    let mut pos = f.stream_position()?;
    let mut buf = vec![0u8; 8192];
    loop {
        f.seek(SeekFrom::Start(pos))?;
        let n = f.read(&mut buf)?;
        if n > 0 {
            stdout.write_all(&buf[..n])?;
            stdout.flush()?;
            pos += n as u64;
            continue;
        }
        if !be.alive(&rec) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn last_lines() {
        assert_eq!(super::last_lines("a\nb\nc", 2), "b\nc\n");
        assert_eq!(super::last_lines("a\n", 5), "a\n");
        assert_eq!(super::last_lines("a\n", 0), "");
    }
}

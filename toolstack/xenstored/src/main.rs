//! `mb-xenstored`: the host store as a process of its own (the mbctl
//! agent embeds the same server). Serves until killed; a restart replays
//! the log in the state directory.

use mb_xenstored::{Config, Quota, Server};
use std::process::ExitCode;

const USAGE: &str = "usage: mb-xenstored --socket PATH [--state-dir DIR] [--no-fsync]
       [--quota WHAT=N]... [--dom0-quota WHAT=N]... [--guest DOMID=PATH]...

  --quota WHAT=N       a guest domain's limit (C xenstored's -Q names):
                         nodes (1000)  entry-size (2048)  watches (128)
                         transactions (10)  perms (5)
                         transaction-nodes (1024: paths one transaction touches)
                         memory (2621440 bytes: nodes, watches, transactions)
                         outstanding (20: unsent replies before reading stops)
                         transaction-timeout-ms (20000)
  --dom0-quota WHAT=N  the same for dom0 (defaults: Quota::privileged)
  --guest DOMID=PATH   serve guest DOMID on the socket PATH";

fn setting(arg: &str) -> Result<(&str, u64), String> {
    let (k, v) = arg
        .split_once('=')
        .ok_or_else(|| format!("expected WHAT=N, got `{arg}`"))?;
    let n = v
        .parse()
        .map_err(|_| format!("`{v}` in `{arg}` is not a number"))?;
    Ok((k, n))
}

fn set(q: &mut Quota, arg: &str) -> Result<(), String> {
    let (k, n) = setting(arg)?;
    if q.set(k, n) {
        Ok(())
    } else {
        Err(format!("unknown quota `{k}`"))
    }
}

fn parse(args: &[String]) -> Result<(Config, Vec<(u32, String)>), String> {
    let mut cfg = Config::new("");
    let mut socket = None;
    let mut guests = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--socket" => socket = Some(value()?),
            "--state-dir" => cfg = cfg.with_state_dir(value()?),
            "--no-fsync" => cfg = cfg.without_fsync(),
            "--quota" => set(&mut cfg.quota, &value()?)?,
            "--dom0-quota" => set(&mut cfg.dom0_quota, &value()?)?,
            "--guest" => {
                let v = value()?;
                let (d, p) = v
                    .split_once('=')
                    .ok_or_else(|| format!("expected DOMID=PATH, got `{v}`"))?;
                let d = d.parse().map_err(|_| format!("bad domain id `{d}`"))?;
                guests.push((d, p.to_string()));
            }
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument `{a}`")),
        }
    }
    cfg.socket = socket.ok_or("--socket is required")?.into();
    Ok((cfg, guests))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cfg, guests) = match parse(&args) {
        Ok(x) => x,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("mb-xenstored: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mb-xenstored: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (d, p) in guests {
        if let Err(e) = server.add_guest_socket(d, &p) {
            eprintln!("mb-xenstored: guest {d} on {p}: {e}");
            return ExitCode::FAILURE;
        }
    }
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_set_limits() {
        let (cfg, g) = parse(&args(
            "--socket /s --quota nodes=7 --quota memory=4096 --dom0-quota watches=9 --guest 3=/g3",
        ))
        .unwrap();
        assert_eq!(cfg.quota.max_nodes, 7);
        assert_eq!(cfg.quota.max_memory, 4096);
        assert_eq!(cfg.dom0_quota.max_watches, 9);
        assert_eq!(g, [(3, "/g3".to_string())]);
        for bad in [
            "--quota nodes=7",
            "--socket /s --quota bogus=1",
            "--socket /s --quota nodes",
            "--socket /s --quota nodes=x",
            "--socket",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
    }
}

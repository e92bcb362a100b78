//! `mbctl read`, `mbctl write` and `mbctl handlers`: Click's handlers
//! through the store, as ClickOS's toolstacks call them.

use anyhow::Result;
use mb_agent::client;
use mb_vm::record::Record;
use mb_vm::rundir::RunDir;
use std::time::Duration;

use super::vm::domid_of;
use mb_store_client::clickos;
use mb_store_client::handler::call;

/// Read a handler of a middlebox's router.
///
/// Posts a read request for ELEMENT.HANDLER (or a router handler such as
/// `config`, `flatconfig`, `list`, `classes`, `version`, `requirements`)
/// under the guest's `control/read/` and prints the value the guest
/// writes back.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  mbctl read fw allowed.count\n  mbctl read fw rules.config\n  mbctl read fw flatconfig    # a router handler: no element"
)]
pub struct ReadArgs {
    /// The middlebox.
    name: String,
    /// ELEMENT.HANDLER, or a router handler, with Click's names.
    handler: String,
    /// Seconds to wait for the guest's answer.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

/// Write a handler of a middlebox's router.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  mbctl write fw allowed.reset_counts ''\n  mbctl write fw q.capacity 500\n  mbctl write fw hotconfig \"$(cat fw2.click)\"   # Click's hot-swap (configs up to ~3.8 KB; larger: mbctl reconfigure)"
)]
pub struct WriteArgs {
    /// The middlebox.
    name: String,
    /// ELEMENT.HANDLER, or a router handler (hotconfig), with Click's names.
    handler: String,
    /// The value (empty for action handlers).
    #[arg(default_value = "")]
    value: String,
    /// Seconds to wait for the guest's answer.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

/// List the handlers of a middlebox's router and elements.
///
/// Asks the guest for its router's `handlers` and `list`, then for each
/// element's `handlers`. Router handlers print without an element, as
/// in Click (`config`, `flatconfig`, `hotconfig`, ...).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  mbctl handlers fw\n  mbctl handlers fw --json")]
pub struct HandlersArgs {
    /// The middlebox.
    name: String,
    /// Print JSON: {"element": [{"name": .., "mode": "rw"}, ...]}; the
    /// router's handlers under "".
    #[arg(long)]
    json: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

/// Runs `mbctl read`.
pub fn read(run: &RunDir, a: ReadArgs) -> Result<()> {
    let (e, h) = clickos::split_handler(&a.handler)?;
    let mut st = client::store(run)?;
    let domid = domid_of(&mut st, &a.name)?;
    let v = call(&mut st, domid, e, h, None, Duration::from_secs(a.timeout))?;
    if v.ends_with('\n') || v.is_empty() {
        print!("{v}");
    } else {
        println!("{v}");
    }
    Ok(())
}

/// Runs `mbctl write`.
pub fn write(run: &RunDir, a: WriteArgs) -> Result<()> {
    let (e, h) = clickos::split_handler(&a.handler)?;
    let mut st = client::store(run)?;
    let domid = domid_of(&mut st, &a.name)?;
    call(
        &mut st,
        domid,
        e,
        h,
        Some(&a.value),
        Duration::from_secs(a.timeout),
    )?;
    Ok(())
}

/// Click's `handlers` format: one "name<TAB>mode" line per handler.
fn parse_handlers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next().unwrap_or("").to_string()))
        })
        .collect()
}

/// Element names from the router's `list` handler (Click's format: the
/// count, then one name a line).
fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A handler in `handlers --json`: its name and Click's mode (`r`, `w`,
/// `rw`).
#[derive(serde::Serialize)]
struct HandlerJson {
    name: String,
    mode: String,
}

/// Runs `mbctl handlers`.
pub fn handlers(run: &RunDir, a: HandlersArgs) -> Result<()> {
    let mut st = client::store(run)?;
    let rec = Record::load_existing(&mut st, &a.name)?;
    let timeout = Duration::from_secs(a.timeout);
    // The router's own handlers first, under the empty element name (as
    // Click lists global handlers).
    let mut out = vec![(
        String::new(),
        parse_handlers(&call(&mut st, rec.domid, "", "handlers", None, timeout)?),
    )];
    // The elements the guest runs (after a hotconfig too); the stored
    // config if `list` is too long for a store value.
    let names = match call(&mut st, rec.domid, "", "list", None, timeout) {
        Ok(text) => parse_list(&text),
        Err(_) => mb_vm::guest::config_elements(&mut st, rec.domid, &rec.config_name)?,
    };
    for e in names {
        if clickos::split_handler(&format!("{e}.handlers")).is_err() {
            continue;
        }
        let text = call(&mut st, rec.domid, &e, "handlers", None, timeout)?;
        out.push((e, parse_handlers(&text)));
    }
    if a.json {
        let v: Vec<(String, Vec<HandlerJson>)> = out
            .into_iter()
            .map(|(e, hs)| {
                let hs = hs
                    .into_iter()
                    .map(|(name, mode)| HandlerJson { name, mode });
                (e, hs.collect())
            })
            .collect();
        return crate::json::print(&crate::json::Ordered(&v));
    }
    for (e, hs) in out {
        for (n, m) in hs {
            if e.is_empty() {
                println!("{n}\t{m}");
            } else {
                println!("{e}.{n}\t{m}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn click_listings() {
        assert_eq!(
            parse_handlers("config\tr\nhotconfig\tw\n\n"),
            [
                ("config".into(), "r".into()),
                ("hotconfig".into(), "w".into())
            ]
        );
        assert_eq!(parse_list("2\nc\nq\n"), ["c", "q"]);
        assert!(parse_list("0\n").is_empty());
    }
}

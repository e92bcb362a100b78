//! `mbctl read`, `mbctl write` and `mbctl handlers`: Click's handlers
//! through the store, as ClickOS's toolstacks call them.

use anyhow::{bail, Result};
use std::time::Duration;

use super::vm::{domid_of, record, store};
use crate::clickos::{self, Op, StoreOps};
use crate::store::Store;
use xenstore::client::{ClientError, Request};
use xenstore::Errno;

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

/// Calls handler `e.h` of domain `domid`: a read when `value` is `None`.
/// Returns the value read (empty for writes) or the guest's error.
///
/// The watch, the clearing of the last answer and the request go to the
/// store in one pipelined batch (one round trip). A write has no answer
/// of its own, so a read of `e.name` (the router's `version` for a router
/// handler) follows it in the same batch: the
/// guest handles store events in order, so that answer means the write
/// was applied or its `error` written. The watches end with the
/// connection.
pub fn call(
    st: &mut Store,
    domid: u32,
    e: &str,
    h: &str,
    value: Option<&str>,
    timeout: Duration,
) -> Result<String> {
    let token = format!("mbctl-{}", std::process::id());
    let (answer_h, ops) = match value {
        None => (h, clickos::read_request_ops(domid, e, h)),
        Some(v) => {
            let b = clickos::barrier_handler(e);
            let mut ops = clickos::write_request_ops(domid, e, h, v);
            ops.extend(clickos::read_request_ops(domid, e, b));
            (b, ops)
        }
    };
    let watched = clickos::element_path(domid, e, answer_h);
    let mut reqs = vec![Request::Watch(&watched, token.as_bytes())];
    reqs.extend(ops.iter().map(|op| match op {
        Op::Rm(p) => Request::Rm(p),
        Op::Write(p, v) => Request::Write(p, v.as_bytes()),
    }));
    for (req, r) in reqs.iter().zip(st.pipeline(&reqs)?) {
        match (req, r) {
            (_, Ok(_)) | (Request::Rm(_), Err(ClientError::Xs(Errno::ENOENT))) => {}
            (req, Err(err)) => bail!("{e}.{h}: store request {req:?} failed: {err}"),
        }
    }
    // Watch events only wake us; the nodes decide.
    let answer = match loop_answer(st, domid, e, answer_h, timeout)? {
        Some(Ok(_)) if value.is_some() => {
            let err = clickos_proto::Home::Domain(domid).handler_error(e, h);
            match st.read_many(&[&err])?.pop().flatten() {
                Some(msg) => Some(Err(msg)),
                None => Some(Ok(String::new())),
            }
        }
        a => a,
    };
    match answer {
        Some(Ok(v)) => Ok(v),
        Some(Err(msg)) => bail!("{e}.{h}: {msg}"),
        None => bail!(
            "{e}.{h}: no answer from the guest within {} s (is its router running? see `mbctl show`)",
            timeout.as_secs()
        ),
    }
}

fn loop_answer(
    st: &mut Store,
    domid: u32,
    e: &str,
    h: &str,
    timeout: Duration,
) -> Result<Option<std::result::Result<String, String>>> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(a) = clickos::handler_answer(st, domid, e, h)? {
            return Ok(Some(a));
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        st.wait_event_for(left)?;
    }
}

/// Runs `mbctl read`.
pub fn read(a: ReadArgs) -> Result<()> {
    let (e, h) = clickos::split_handler(&a.handler)?;
    let mut st = store()?;
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
pub fn write(a: WriteArgs) -> Result<()> {
    let (e, h) = clickos::split_handler(&a.handler)?;
    let mut st = store()?;
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

/// Element names of the config domain `domid` runs.
pub fn elements(st: &mut dyn StoreOps, domid: u32, file: &str) -> Result<Vec<String>> {
    let src = clickos::read_config(st, domid)?;
    let reg = mb_runner::registry();
    match click::lang::parse(&src, file, &[], &|c| reg.contains(c)) {
        Ok(flat) => Ok(flat.elements.into_iter().map(|e| e.name).collect()),
        Err(errs) => bail!(
            "the stored config does not parse: {}",
            errs.0.first().map(|e| e.to_string()).unwrap_or_default()
        ),
    }
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

/// Runs `mbctl handlers`.
pub fn handlers(a: HandlersArgs) -> Result<()> {
    let mut st = store()?;
    let rec = record(&mut st, &a.name)?;
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
        Err(_) => elements(&mut st, rec.domid, &rec.config_name)?,
    };
    for e in names {
        if clickos::split_handler(&format!("{e}.handlers")).is_err() {
            continue;
        }
        let text = call(&mut st, rec.domid, &e, "handlers", None, timeout)?;
        out.push((e, parse_handlers(&text)));
    }
    if a.json {
        use crate::json::Json;
        let v = Json::Obj(
            out.into_iter()
                .map(|(e, hs)| {
                    (
                        e,
                        Json::Arr(
                            hs.into_iter()
                                .map(|(n, m)| {
                                    Json::obj([("name", Json::Str(n)), ("mode", Json::Str(m))])
                                })
                                .collect(),
                        ),
                    )
                })
                .collect(),
        );
        println!("{v}");
        return Ok(());
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

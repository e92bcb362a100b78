//! The host's side of ClickOS's store protocol (DESIGN.md, "The store and
//! its layout"): where a guest's config, status and handlers live, the
//! writes that (re)load a config, and handler calls.
//!
//! The layout itself (paths, chunk size, status values, the counter
//! record) is `clickos_proto`'s, which the guest uses too; the host names
//! nodes absolutely, under [`Home::Domain`]. Every function that touches
//! the store takes a [`StoreOps`], so the same sequence runs against the
//! agent's store, Xen's xenstored, or a recording double in unit tests.

use crate::{Error, Result};
use clickos_proto::status::{ERROR, RUNNING};
use clickos_proto::{chunks, is_path_safe, parse_counter, PENDING};
use std::time::{Duration, Instant};

pub use clickos_proto::status::HALTED;
pub use clickos_proto::{stats, Home, NicCounters};

/// The store operations the protocol needs.
pub trait StoreOps {
    /// Reads a node; `None` if missing.
    fn read(&mut self, path: &str) -> Result<Option<String>>;
    /// Writes a node, creating parents.
    fn write(&mut self, path: &str, value: &str) -> Result<()>;
    /// Removes a subtree (missing is fine).
    fn rm(&mut self, path: &str) -> Result<()>;
    /// Lists children (empty if missing).
    fn list(&mut self, path: &str) -> Result<Vec<String>>;
    /// Applies `ops` in order; fails with the first error. A store client
    /// that can pipeline sends them all before waiting for the replies.
    fn apply_ops(&mut self, ops: &[Op]) -> Result<()> {
        for op in ops {
            match op {
                Op::Rm(p) => self.rm(p)?,
                Op::Write(p, v) => self.write(p, v)?,
            }
        }
        Ok(())
    }
    /// Reads several nodes (`None` where missing), pipelined where the
    /// client can.
    fn read_many(&mut self, paths: &[&str]) -> Result<Vec<Option<String>>> {
        paths.iter().map(|p| self.read(p)).collect()
    }
}

/// `/local/domain/<D>`.
pub fn home(domid: u32) -> String {
    Home::Domain(domid).path()
}

/// `/local/domain/<D>/data/clickos/0`: router 0's subtree.
pub fn router(domid: u32) -> String {
    Home::Domain(domid).router()
}

/// The router's status node.
pub fn status(domid: u32) -> String {
    Home::Domain(domid).status()
}

/// The guest's error message for the last config.
pub fn error(domid: u32) -> String {
    Home::Domain(domid).error()
}

/// Configs the guest has loaded since boot (its acknowledgement of a load).
pub fn loads(domid: u32) -> String {
    Home::Domain(domid).loads()
}

/// One store operation of a load sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Remove a subtree.
    Rm(String),
    /// Write a value.
    Write(String, String),
}

/// The operations that store `text` (labelled `name`) as domain `domid`'s
/// config, without asking for a load: old chunks go first, so a shorter
/// config leaves no stale tail.
pub fn config_ops(domid: u32, text: &str, name: &str) -> Vec<Op> {
    let h = Home::Domain(domid);
    let mut ops = vec![Op::Rm(h.config())];
    for (i, c) in (0..).zip(chunks(text)) {
        ops.push(Op::Write(h.chunk(i), c.to_string()));
    }
    ops.push(Op::Write(h.config_name(), name.to_string()));
    ops
}

/// The operations that hand `text` to domain `domid`'s router and ask it
/// to load: [`config_ops`], `error = loading` ([`PENDING`]), and last
/// `status = Running`, which the guest acts on.
pub fn load_ops(domid: u32, text: &str, name: &str) -> Vec<Op> {
    let mut ops = config_ops(domid, text, name);
    ops.push(Op::Write(error(domid), PENDING.to_string()));
    ops.push(Op::Write(status(domid), RUNNING.to_string()));
    ops
}

/// Applies `ops` in order (see [`StoreOps::apply_ops`]).
pub fn apply(st: &mut dyn StoreOps, ops: &[Op]) -> Result<()> {
    st.apply_ops(ops)
}

/// Reads the config a guest was given back from its chunks.
pub fn read_config(st: &mut dyn StoreOps, domid: u32) -> Result<String> {
    let h = Home::Domain(domid);
    let mut text = String::new();
    for i in 0.. {
        match st.read(&h.chunk(i))? {
            Some(c) => text.push_str(&c),
            None => break,
        }
    }
    Ok(text)
}

/// How a load ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadOutcome {
    /// The guest loaded it (its load count passed the one before).
    Loaded,
    /// The guest rejected it with this message (`file:line:col: ...`).
    Rejected(String),
}

/// Looks once at whether a load asked for by [`load_ops`] has ended: the
/// guest removed `error` or counted one more load than `loads_before`
/// (loaded), or it set `status = Error` with its message (rejected).
pub fn load_outcome(
    st: &mut dyn StoreOps,
    domid: u32,
    loads_before: u64,
) -> Result<Option<LoadOutcome>> {
    let (e, s, l) = (error(domid), status(domid), loads(domid));
    let mut v = st.read_many(&[&e, &s, &l])?.into_iter();
    let (err, status, loads) = (v.next().flatten(), v.next().flatten(), v.next().flatten());
    if status.as_deref() == Some(ERROR) {
        // The guest writes the status first, then the message.
        return Ok(match err {
            Some(m) if m != PENDING => Some(LoadOutcome::Rejected(m)),
            _ => None,
        });
    }
    if err.is_none() {
        return Ok(Some(LoadOutcome::Loaded));
    }
    let loads: u64 = loads.and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    Ok((loads > loads_before).then_some(LoadOutcome::Loaded))
}

/// Reads a decimal counter; `None` if missing or not a number.
pub fn read_u64(st: &mut dyn StoreOps, path: &str) -> Result<Option<u64>> {
    Ok(st.read(path)?.as_deref().and_then(parse_counter))
}

/// Splits `elem.handler` at the last dot (element names may hold `/`, for
/// compound elements, but no dots; handlers never do). A name without a
/// dot is a router handler (`config`, `list`, `hotconfig`, ...), as in
/// Click; its element is empty.
pub fn split_handler(spec: &str) -> Result<(&str, &str)> {
    let (e, h) = match spec.rsplit_once('.') {
        Some((e, h)) if !e.is_empty() && !h.is_empty() => (e, h),
        None if !spec.is_empty() => ("", spec),
        _ => {
            return Err(Error::HandlerName(format!(
                "'{spec}': expected ELEMENT.HANDLER (e.g. c.count) \
                 or a router handler (e.g. config)"
            )))
        }
    };
    for part in [e, h].into_iter().filter(|p| !p.is_empty()) {
        if !is_path_safe(part)
            || part.starts_with('/')
            || part.ends_with('/')
            || part.contains("//")
            || (part == h && part.contains('/'))
        {
            return Err(Error::HandlerName(format!(
                "'{spec}': '{part}' cannot be reached through the store \
                 (names may hold letters, digits, '-', '_', '@' and, in element names, '/')"
            )));
        }
    }
    Ok((e, h))
}

/// `.../elements/<e>/<h>`: write requests (host) and read results (guest);
/// `.../elements/<h>` for router handler `h`.
pub fn element_path(domid: u32, e: &str, h: &str) -> String {
    Home::Domain(domid).element(e, h)
}

/// The paths a handler call watches for its answer.
fn answer_paths(domid: u32, e: &str, h: &str) -> (String, String) {
    let home = Home::Domain(domid);
    (home.lock(e, h), home.handler_error(e, h))
}

/// The operations that start a read of `e.h`: clear the last answer's
/// markers, then post the request.
pub fn read_request_ops(domid: u32, e: &str, h: &str) -> Vec<Op> {
    let (lock, err) = answer_paths(domid, e, h);
    vec![
        Op::Rm(lock),
        Op::Rm(err),
        Op::Write(Home::Domain(domid).control_read(e, h), String::new()),
    ]
}

/// The operations that start a write of `value` to `e.h`. The guest, as
/// ClickOS, ignores empty values (hosts clear read results with them), so
/// an empty value goes as one space, which Click's argument parsing
/// reads as empty too.
pub fn write_request_ops(domid: u32, e: &str, h: &str, value: &str) -> Vec<Op> {
    let (lock, err) = answer_paths(domid, e, h);
    let value = if value.is_empty() { " " } else { value };
    vec![
        Op::Rm(lock),
        Op::Rm(err),
        Op::Write(element_path(domid, e, h), value.to_string()),
    ]
}

/// The handler read after a write to element `e` to learn its outcome:
/// the guest handles store events in order, so the answer to this read
/// comes after the write was applied (or its `error` written). Every
/// element has `name`; the router (empty `e`) has `version`.
pub fn barrier_handler(e: &str) -> &'static str {
    if e.is_empty() {
        "version"
    } else {
        "name"
    }
}

/// Looks once for the guest's answer to a handler call: `Some(Ok(value))`
/// when it wrote the `lock` marker (the value is the handler's text for a
/// read), `Some(Err(msg))` when it wrote `error`.
pub fn handler_answer(
    st: &mut dyn StoreOps,
    domid: u32,
    e: &str,
    h: &str,
) -> Result<Option<std::result::Result<String, String>>> {
    let (lock, err) = answer_paths(domid, e, h);
    let value = element_path(domid, e, h);
    // One look at all three: the guest writes the value before the lock.
    let mut v = st.read_many(&[&err, &lock, &value])?.into_iter();
    let (err, lock, value) = (v.next().flatten(), v.next().flatten(), v.next().flatten());
    if let Some(msg) = err {
        return Ok(Some(Err(msg)));
    }
    Ok(lock.map(|_| Ok(value.unwrap_or_default())))
}

/// Polls `f` until it yields a value or `timeout` passes (then `Ok(None)`).
/// Used with a store watch as the wake-up where one is available.
pub fn poll_until<T>(
    timeout: Duration,
    mut wait: impl FnMut(Duration) -> Result<()>,
    mut f: impl FnMut() -> Result<Option<T>>,
) -> Result<Option<T>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f()? {
            return Ok(Some(v));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        wait(left)?;
    }
}

/// Reads the counters of NIC `i` (zeros where the guest has not published).
pub fn nic_counters(st: &mut dyn StoreOps, domid: u32, i: usize) -> Result<NicCounters> {
    NicCounters::decode(Home::Domain(domid), i, |p| st.read(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::Mem;

    #[test]
    fn load_sequence_ends_with_running() {
        let text = "x".repeat(clickos_proto::CHUNK_MAX + 10);
        let ops = load_ops(3, &text, "fw.click");
        let r = "/local/domain/3/data/clickos/0";
        assert_eq!(
            ops,
            vec![
                Op::Rm(format!("{r}/config")),
                Op::Write(format!("{r}/config/0"), "x".repeat(992)),
                Op::Write(format!("{r}/config/1"), "x".repeat(10)),
                Op::Write(format!("{r}/config_name"), "fw.click".into()),
                Op::Write(format!("{r}/error"), "loading".into()),
                Op::Write(format!("{r}/status"), "Running".into()),
            ]
        );
        let mut m = Mem::default();
        m.nodes.insert(format!("{r}/config/7"), "stale".into());
        apply(&mut m, &ops).unwrap();
        assert_eq!(read_config(&mut m, 3).unwrap(), text);
    }

    #[test]
    fn outcome_follows_error_and_loads() {
        let mut m = Mem::default();
        apply(&mut m, &load_ops(2, "Idle -> Discard;", "a")).unwrap();
        assert_eq!(load_outcome(&mut m, 2, 0).unwrap(), None);
        m.nodes.insert(loads(2), "1".into());
        assert_eq!(
            load_outcome(&mut m, 2, 0).unwrap(),
            Some(LoadOutcome::Loaded)
        );
        assert_eq!(load_outcome(&mut m, 2, 1).unwrap(), None);
        m.nodes.remove(&error(2));
        assert_eq!(
            load_outcome(&mut m, 2, 1).unwrap(),
            Some(LoadOutcome::Loaded)
        );
        // Status first, message second: not rejected until the message is there.
        m.nodes.insert(error(2), PENDING.into());
        m.nodes.insert(status(2), "Error".into());
        assert_eq!(load_outcome(&mut m, 2, 1).unwrap(), None);
        m.nodes
            .insert(error(2), "fw.click:3:1: unknown class".into());
        assert_eq!(
            load_outcome(&mut m, 2, 1).unwrap(),
            Some(LoadOutcome::Rejected("fw.click:3:1: unknown class".into()))
        );
    }

    #[test]
    fn handler_specs() {
        assert_eq!(split_handler("c.count").unwrap(), ("c", "count"));
        assert_eq!(split_handler("fw/in.count").unwrap(), ("fw/in", "count"));
        assert_eq!(split_handler("config").unwrap(), ("", "config"));
        assert_eq!(split_handler("hotconfig").unwrap(), ("", "hotconfig"));
        for bad in ["", ".x", "c.", "a b.c", "c.x:y", "/a.b", "a/b", "x:y"] {
            assert!(split_handler(bad).is_err(), "{bad}");
        }
        assert_eq!(
            element_path(2, "", "config"),
            "/local/domain/2/data/clickos/0/elements/config"
        );
        assert_eq!(barrier_handler(""), "version");
        assert_eq!(barrier_handler("c"), "name");
    }

    #[test]
    fn handler_calls() {
        let mut m = Mem::default();
        let base = "/local/domain/4/data/clickos/0/elements/c/count";
        m.nodes.insert(format!("{base}/lock"), "0".into());
        apply(&mut m, &read_request_ops(4, "c", "count")).unwrap();
        assert!(!m.nodes.contains_key(&format!("{base}/lock")));
        assert_eq!(
            m.nodes
                .get("/local/domain/4/data/clickos/0/control/read/c/count"),
            Some(&String::new())
        );
        assert_eq!(handler_answer(&mut m, 4, "c", "count").unwrap(), None);
        m.nodes.insert(base.into(), "17".into());
        m.nodes.insert(format!("{base}/lock"), "0".into());
        assert_eq!(
            handler_answer(&mut m, 4, "c", "count").unwrap(),
            Some(Ok("17".into()))
        );
        apply(&mut m, &write_request_ops(4, "c", "count", "5")).unwrap();
        m.nodes.insert(format!("{base}/error"), "bad value".into());
        assert_eq!(
            handler_answer(&mut m, 4, "c", "count").unwrap(),
            Some(Err("bad value".into()))
        );
    }
}

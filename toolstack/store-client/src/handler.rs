//! Calling a guest router's Click handlers through the store, as ClickOS's
//! toolstacks do (`mbctl read`/`write`/`handlers`, and any other client).

use crate::clickos::{self, Op, StoreOps};
use crate::{Error, Result, Store};
use std::time::Duration;
use xenstore::client::{ClientError, Request};
use xenstore::Errno;

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
    post(st, &[watched], &token, &ops).map_err(|err| Error::Handler(format!("{e}.{h}: {err}")))?;
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
        Some(Err(msg)) => Err(Error::Handler(format!("{e}.{h}: {msg}"))),
        None => Err(Error::Handler(format!(
            "{e}.{h}: no answer from the guest within {} s (is its router running? see `mbctl show`)",
            timeout.as_secs()
        ))),
    }
}

/// Sends handler requests in one pipelined batch: a watch on each of
/// `watched` (with `token`), then `ops`. Removing a node that is not there
/// is no failure (the last answer may have been cleared already).
pub fn post(st: &mut Store, watched: &[String], token: &str, ops: &[Op]) -> Result<()> {
    let mut reqs: Vec<Request> = watched
        .iter()
        .map(|w| Request::Watch(w, token.as_bytes()))
        .collect();
    reqs.extend(ops.iter().map(|op| match op {
        Op::Rm(p) => Request::Rm(p),
        Op::Write(p, v) => Request::Write(p, v.as_bytes()),
    }));
    for (req, r) in reqs.iter().zip(st.pipeline(&reqs)?) {
        match (req, r) {
            (_, Ok(_)) | (Request::Rm(_), Err(ClientError::Xs(Errno::ENOENT))) => {}
            (req, Err(err)) => {
                return Err(Error::Handler(format!(
                    "store request {req:?} failed: {err}"
                )))
            }
        }
    }
    Ok(())
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

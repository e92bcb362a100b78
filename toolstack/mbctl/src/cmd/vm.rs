//! Shared by the middlebox commands: the agent, the store, a record.

use anyhow::{bail, Context, Result};

use crate::agent::client;
use crate::rundir::RunDir;
use crate::store::Store;
use crate::vm::{check_name, Record};

/// A store connection, starting the agent (which serves the store on
/// KVM hosts) if the store does not answer. The store is tried first: a
/// running agent then costs no round trip of its own.
pub fn store() -> Result<Store> {
    match Store::connect() {
        Ok(st) => Ok(st),
        Err(_) if !crate::backend::xl::host_is_dom0() => {
            client::ensure_agent(&RunDir::from_env())?;
            Store::connect()
        }
        Err(e) => Err(e),
    }
}

/// The domain id of middlebox `name` (one store read; handler calls need
/// nothing else of the record).
pub fn domid_of(st: &mut Store, name: &str) -> Result<u32> {
    check_name(name)?;
    let p = format!("{}/domid", crate::vm::record::path(name));
    // Through the pipelining connection, the only one a handler call opens.
    match crate::clickos::StoreOps::read_many(st, &[&p])?
        .pop()
        .flatten()
    {
        Some(d) => d
            .parse()
            .with_context(|| format!("record of '{name}': bad domid '{d}'")),
        None => bail!("no middlebox named '{name}' (see `mbctl ls`)"),
    }
}

/// The record of `name`, or the error a user can act on.
pub fn record(st: &mut Store, name: &str) -> Result<Record> {
    check_name(name)?;
    Record::load(st, name)?
        .ok_or_else(|| anyhow::anyhow!("no middlebox named '{name}' (see `mbctl ls`)"))
}

/// `1h02m`, `3m05s`, `42s`.
pub fn uptime(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if secs >= 86400 {
        format!("{}d{:02}h", secs / 86400, h % 24)
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uptimes() {
        assert_eq!(super::uptime(42), "42s");
        assert_eq!(super::uptime(185), "3m05s");
        assert_eq!(super::uptime(3720), "1h02m");
        assert_eq!(super::uptime(90000), "1d01h");
    }
}

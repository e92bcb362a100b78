//! Shared by the middlebox commands: a domain id, an uptime.

use anyhow::{bail, Context, Result};

use mb_store_client::Store;
use mb_vm::check_name;

/// The domain id of middlebox `name` (one store read; handler calls need
/// nothing else of the record).
pub fn domid_of(st: &mut Store, name: &str) -> Result<u32> {
    check_name(name)?;
    let p = format!("{}/domid", mb_vm::record::path(name));
    // Through the pipelining connection, the only one a handler call opens.
    match mb_store_client::clickos::StoreOps::read_many(st, &[&p])?
        .pop()
        .flatten()
    {
        Some(d) => d
            .parse()
            .with_context(|| format!("record of '{name}': bad domid '{d}'")),
        None => bail!("no middlebox named '{name}' (see `mbctl ls`)"),
    }
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

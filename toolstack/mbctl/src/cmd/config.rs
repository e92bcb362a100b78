//! Reading a configuration argument, shared by `run` and `check`.

use anyhow::{bail, Context};

/// Reads a configuration: a file, or standard input for `-`. Returns the
/// text and the name errors use.
pub fn read(path: &str) -> anyhow::Result<(String, String)> {
    use std::io::Read;
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the configuration from standard input")?;
        Ok((s, "<stdin>".into()))
    } else {
        let s = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
        Ok((s, path.into()))
    }
}

/// Splits `NAME=VALUE` arguments (Click's command-line definitions).
pub fn overrides(args: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut v = Vec::new();
    for a in args {
        match a.split_once('=') {
            Some((n, val))
                if !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                v.push((n.to_string(), val.to_string()))
            }
            _ => bail!("'{a}': expected NAME=VALUE"),
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions() {
        let v = overrides(&["IN=a.pcap".into(), "X=".into()]).unwrap();
        assert_eq!(
            v,
            [("IN".into(), "a.pcap".into()), ("X".into(), String::new())]
        );
        assert!(overrides(&["nodefinition".into()]).is_err());
        assert!(overrides(&["=x".into()]).is_err());
    }
}

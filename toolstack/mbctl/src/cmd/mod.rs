//! One module per subcommand: its arguments (clap) and its entry point.

pub mod agent;
pub mod check;
pub mod doc;
pub mod env;
pub mod run;

/// Examples shown by `mbctl --help`.
pub const EXAMPLES: &str = "\
Examples:
  mbctl run --simtime firewall.click IN=trace.pcap
  mbctl run -e 'FromDump(t.pcap, STOP true) -> c :: Counter -> Discard' -h c.count
  mbctl check firewall.click
  mbctl doc Counter";

/// Reads a configuration: a file, or standard input for `-`. Returns the
/// text and the name errors use.
pub fn read_config(path: &str) -> Result<(String, String), String> {
    use std::io::Read;
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("<stdin>: {e}"))?;
        Ok((s, "<stdin>".into()))
    } else {
        let s = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        Ok((s, path.into()))
    }
}

/// Splits `NAME=VALUE` arguments (Click's command-line definitions).
pub fn overrides(args: &[String]) -> Result<Vec<(String, String)>, String> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((n, v))
                if !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                Ok((n.to_string(), v.to_string()))
            }
            _ => Err(format!("'{a}': expected NAME=VALUE")),
        })
        .collect()
}

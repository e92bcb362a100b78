//! `mbctl doc`: element class documentation.

use anyhow::bail;

/// Show element documentation.
///
/// With a CLASS, prints its documentation (arguments, ports, processing,
/// keywords, handlers, an example). Without, lists every class `mbctl run`
/// knows with its one-line summary.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct DocArgs {
    /// Element class name, e.g. Counter.
    class: Option<String>,
}

const EXAMPLES: &str = "\
Examples:
  mbctl doc                 # every class, one line each
  mbctl doc Counter
  mbctl doc FromDump";

/// Runs `mbctl doc`.
pub fn run(a: DocArgs) -> anyhow::Result<()> {
    match a.class {
        None => {
            let all = mb_runner::docs::all();
            let width = all.iter().map(|d| d.name.len()).max().unwrap_or(0);
            for d in all {
                println!("{:width$}  {}", d.name, d.summary);
            }
            Ok(())
        }
        Some(c) => match mb_runner::docs::find(&c) {
            Some(d) => {
                print!("{}", d.text);
                Ok(())
            }
            None => {
                let names: Vec<&str> = mb_runner::docs::all().iter().map(|d| d.name).collect();
                let lower = c.to_ascii_lowercase();
                let mut near: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|n| n.eq_ignore_ascii_case(&c))
                    .collect();
                if near.is_empty() {
                    near = names
                        .iter()
                        .copied()
                        .filter(|n| n.to_ascii_lowercase().contains(&lower))
                        .collect();
                }
                if near.is_empty() {
                    bail!("no element class '{c}' (run 'mbctl doc' for the list)");
                }
                bail!("no element class '{c}'; did you mean {}?", near.join(", "))
            }
        },
    }
}

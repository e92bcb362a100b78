//! `mbctl doc`: element class documentation.

use anyhow::anyhow;
use mb_runner::docs::ClassInfo;

/// Show element documentation.
///
/// With a CLASS, prints its documentation (arguments, ports, processing,
/// keywords, handlers, an example). Without, lists every class `mbctl run`
/// knows with its one-line summary. With `--json`, the element map (as
/// Click's elementmap gives it) of every class or of CLASS: name,
/// summary, port counts, processing code, handlers with their modes.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct DocArgs {
    /// Element class name, e.g. Counter.
    class: Option<String>,
    /// Print the element map as JSON: an array of every class, or CLASS's
    /// object.
    #[arg(long)]
    json: bool,
}

/// A class in `doc --json`.
#[derive(serde::Serialize)]
struct ClassJson<'a> {
    name: &'a str,
    summary: &'a str,
    /// Click's port count spec, `INPUTS/OUTPUTS`.
    portcount: &'a str,
    /// Click's processing code, `INPUTS/OUTPUTS`.
    processing: &'a str,
    /// False for classes only `mbctl run` has (a guest has no files).
    vm: bool,
    handlers: Vec<HandlerJson<'a>>,
}

/// A handler of a [`ClassJson`], with Click's mode (`r`, `w`, `rw`).
#[derive(serde::Serialize)]
struct HandlerJson<'a> {
    name: &'a str,
    mode: &'a str,
}

impl<'a> From<&'a ClassInfo> for ClassJson<'a> {
    fn from(c: &'a ClassInfo) -> Self {
        ClassJson {
            name: c.name,
            summary: c.summary,
            portcount: c.ports,
            processing: c.processing,
            vm: !mb_vm::guest::HOST_ONLY.contains(&c.name),
            handlers: c
                .handlers
                .iter()
                .map(|(name, mode)| HandlerJson { name, mode })
                .collect(),
        }
    }
}

const EXAMPLES: &str = "\
Examples:
  mbctl doc                 # every class, one line each
  mbctl doc Counter
  mbctl doc FromDump
  mbctl doc --json Counter | jq '.handlers[].name'";

/// Runs `mbctl doc`.
pub fn run(a: DocArgs) -> anyhow::Result<()> {
    if a.json {
        let map = mb_runner::docs::element_map();
        return match &a.class {
            None => crate::json::print(&map.iter().map(ClassJson::from).collect::<Vec<_>>()),
            Some(c) => match map.iter().find(|i| i.name == c) {
                Some(i) => crate::json::print(&ClassJson::from(i)),
                None => Err(unknown(c)),
            },
        };
    }
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
            None => Err(unknown(&c)),
        },
    }
}

/// The error for an unknown class, with the classes it may have meant.
fn unknown(c: &str) -> anyhow::Error {
    let names: Vec<&str> = mb_runner::docs::all().iter().map(|d| d.name).collect();
    let lower = c.to_ascii_lowercase();
    let mut near: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.eq_ignore_ascii_case(c))
        .collect();
    if near.is_empty() {
        near = names
            .iter()
            .copied()
            .filter(|n| n.to_ascii_lowercase().contains(&lower))
            .collect();
    }
    if near.is_empty() {
        return anyhow!("no element class '{c}' (run 'mbctl doc' for the list)");
    }
    anyhow!("no element class '{c}'; did you mean {}?", near.join(", "))
}

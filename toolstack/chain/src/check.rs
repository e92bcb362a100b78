//! `mbctl chain check`: a chain file and every hop's configuration checked
//! as `chain up` would check them, without root, booting anything or
//! touching Open vSwitch.

use click::{Error as Located, Span};
use std::path::Path;
use std::sync::Arc;

use super::error::{Context, Error, Result};
use super::plan::{self, Backend};
use super::policy;
use super::spec::{self, Chain};
use super::vm::HOP_NICS;

/// One error: the hop whose configuration it is in (none for the chain
/// file's own), and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The hop, for an error in its configuration.
    pub hop: Option<String>,
    /// The error, as `file:line:col: message`.
    pub error: Located,
}

/// What [`check`] found.
#[derive(Clone, Debug)]
pub struct Report {
    /// The chain, if its file is sound enough to say (its ends and
    /// structure); it holds the hops whose own entries are right.
    pub chain: Option<Chain>,
    /// How its hops would run, which decides how their configs are checked.
    pub backend: Backend,
    /// Every error, the chain file's first, then each hop's in order.
    pub problems: Vec<Problem>,
}

/// Checks chain file `file` and, with the definitions the chain gives
/// them, each hop's configuration: for VM hops (`backend`, else the
/// file's, else VMs) what a guest with the hop's two NICs can run, as
/// `mbctl check --vm --nics 2` does; for runner hops what `mbctl run` can.
/// Fails only when the file cannot be read.
pub fn check(file: &Path, backend: Option<Backend>) -> Result<Report> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let (chain, errs) = spec::parse_all(&text, file);
    let mut problems: Vec<Problem> = errs
        .into_iter()
        .map(|e| Problem {
            hop: None,
            error: located(e, file),
        })
        .collect();
    problems.sort_by_key(|p| (p.error.span.line, p.error.span.col));
    let backend = backend
        .or_else(|| chain.as_ref()?.backend.as_deref().and_then(Backend::parse))
        .unwrap_or(Backend::Vm);
    if let Some(c) = &chain {
        let plan = plan::derive(c, backend);
        for (h, hp) in c.hops.iter().zip(&plan.hops) {
            let name = h.config.display().to_string();
            let src = match std::fs::read_to_string(&h.config) {
                Ok(src) => src,
                Err(e) => {
                    problems.push(Problem {
                        hop: Some(h.name.clone()),
                        error: Located::new(
                            Span::new(&Arc::from(name.as_str()), 1, 1),
                            format!("reading: {e}"),
                        ),
                    });
                    continue;
                }
            };
            let check = |defines: &[(String, String)]| {
                match backend {
                    Backend::Vm => mb_vm::guest::check(&src, &name, defines, HOP_NICS).err(),
                    Backend::Runner => mb_runner::check(&src, &name, defines).err().map(|e| e.0),
                }
                .unwrap_or_default()
            };
            let mut errs = check(&hp.defines);
            if errs.is_empty() {
                // The scale handler can only be looked up in a sound config.
                if let Some(s) = &h.policy.scale {
                    if let Err(e) = policy::check_handler(&s.trigger, &src, &name, &hp.defines) {
                        problems.push(Problem {
                            hop: None,
                            error: located(e, file),
                        });
                    }
                }
                // Replicas whose own defines differ: the first that fails.
                for i in h.distinct_replicas() {
                    errs = check(&hp.defines_for(h, i));
                    for e in &mut errs {
                        e.message = format!("{}: {}", h.replica_label(i), e.message);
                    }
                    if !errs.is_empty() {
                        break;
                    }
                }
            }
            problems.extend(errs.into_iter().map(|error| Problem {
                hop: Some(h.name.clone()),
                error,
            }));
        }
    }
    Ok(Report {
        chain,
        backend,
        problems,
    })
}

/// A chain file error as a located error (those without a position, at
/// the file's start).
fn located(e: Error, file: &Path) -> Located {
    match e {
        Error::Spec {
            file,
            line,
            col,
            message,
        } => Located::new(
            Span::new(&Arc::from(file.as_str()), line as u32, col as u32),
            message,
        ),
        other => Located::new(
            Span::new(&Arc::from(file.display().to_string().as_str()), 1, 1),
            other.to_string(),
        ),
    }
}

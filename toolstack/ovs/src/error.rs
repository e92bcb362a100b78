//! The errors of this crate: a missing or failing tool, a file operation,
//! or a refusal (a bridge or port the toolstack did not make), each with
//! what was being done.

use std::fmt::Display;
use std::process::ExitStatus;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tool is not installed.
    #[error("{tool} not found: install it with `apt-get install {package}`")]
    NotInstalled {
        /// The tool.
        tool: String,
        /// The Debian package that has it.
        package: &'static str,
    },
    /// A tool could not be started.
    #[error("running {tool}")]
    Spawn {
        /// The tool.
        tool: String,
        /// Why.
        source: std::io::Error,
    },
    /// A tool ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// A file operation failed.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// An operation refused, or found the switch not as it must be.
    #[error("{0}")]
    Refused(String),
    /// An error of a step, with what the step was for.
    #[error("{what}")]
    Context {
        /// What was being done.
        what: String,
        /// The step's error.
        source: Box<Error>,
    },
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Fails with [`Error::Refused`], formatted.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err($crate::Error::Refused(format!($($t)*)))
    };
}
pub(crate) use bail;

/// Adds what was being done to an error.
pub(crate) trait Context<T> {
    /// With `what`.
    fn context(self, what: impl Display) -> Result<T>;
    /// With what `f` says, computed on error only.
    fn with_context<D: Display>(self, f: impl FnOnce() -> D) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn context(self, what: impl Display) -> Result<T> {
        self.with_context(|| what)
    }
    fn with_context<D: Display>(self, f: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| Error::Context {
            what: f().to_string(),
            source: Box::new(e),
        })
    }
}

impl<T> Context<T> for std::io::Result<T> {
    fn context(self, what: impl Display) -> Result<T> {
        self.with_context(|| what)
    }
    fn with_context<D: Display>(self, f: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|source| Error::Io {
            what: f().to_string(),
            source,
        })
    }
}

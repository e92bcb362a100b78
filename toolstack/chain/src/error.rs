//! What can go wrong with a chain.

/// A chain error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chain file is wrong at this position.
    #[error("{file}:{line}:{col}: {message}")]
    Spec {
        /// The chain file, as given.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// A hop's configuration does not load (its errors as file:line:col).
    #[error("hop {hop}: {message}")]
    Hop {
        /// The hop.
        hop: String,
        /// The configuration's errors.
        message: String,
    },
    /// Removing what a chain made failed, for each of these reasons.
    #[error("{}", .0.join("; "))]
    Undo(Vec<String>),
    /// A request that cannot be done (no such chain, already up, not
    /// root ...), said in full.
    #[error("{0}")]
    Invalid(String),
    /// Booting or destroying a hop's VM through the agent.
    #[error(transparent)]
    Agent(#[from] mb_agent::Error),
    /// The run directory, a guest config check, a host tool.
    #[error(transparent)]
    Vm(#[from] mb_vm::Error),
    /// The store (the controller's records).
    #[error(transparent)]
    Store(#[from] mb_store_client::Error),
    /// Open vSwitch, devices and namespaces.
    #[error(transparent)]
    Ovs(#[from] mb_ovs::Error),
    /// A file or process operation.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An error of a step, with what the step was for.
    #[error("{what}")]
    Context {
        /// What was being done.
        what: String,
        /// The step's error.
        source: Box<Error>,
    },
}

/// The chains' result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl mb_vm::error::WithContext for Error {
    fn wrap(what: String, inner: Error) -> Error {
        Error::Context {
            what,
            source: Box::new(inner),
        }
    }
    fn msg(what: String) -> Error {
        Error::Invalid(what)
    }
}

mb_vm::context_trait!(Error);

//! What can go wrong in the agent and its client.

/// An agent error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Managing a VM (its record, backend, NICs, files).
    #[error(transparent)]
    Vm(#[from] mb_vm::Error),
    /// The store.
    #[error(transparent)]
    Store(#[from] mb_store_client::Error),
    /// The guest would not load its config; its errors name the file.
    #[error("the guest rejected the config:\n{0}")]
    Rejected(String),
    /// A request that cannot be done here (a name taken, a backend this
    /// host lacks, an agent already running ...), said in full.
    #[error("{0}")]
    Invalid(String),
    /// A control message that does not encode or decode.
    #[error("{what}")]
    Message {
        /// What was being done.
        what: &'static str,
        /// postcard's error.
        source: postcard::Error,
    },
    /// A file, socket or process operation.
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

/// The agent's result.
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

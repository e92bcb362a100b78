//! The errors of VM management, and the context machinery the toolstack
//! libraries built on this one share ([`WithContext`],
//! [`context_trait!`](crate::context_trait), [`bail!`](crate::bail)):
//! each library has its own error enum with a
//! variant that carries what was being done, and these add it.

/// What went wrong managing a VM.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No middlebox has this name.
    #[error("no middlebox named '{0}' (see `mbctl ls`)")]
    NoSuchVm(String),
    /// A name, NIC spec, setting or state that cannot work, said in full.
    #[error("{0}")]
    Invalid(String),
    /// A host tool missing or failing, or Open vSwitch refusing.
    #[error(transparent)]
    Host(#[from] mb_ovs::Error),
    /// The store.
    #[error(transparent)]
    Store(#[from] mb_store_client::Error),
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

/// VM management's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `e` and every error under it, `: `-separated: the whole story for a
/// log line or a reply.
pub fn report(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// An error type that can carry what was being done.
pub trait WithContext: Sized {
    /// `inner`, as the error of doing `what`.
    fn wrap(what: String, inner: Self) -> Self;
    /// An error that is just a message.
    fn msg(what: String) -> Self;
}

impl WithContext for Error {
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

/// Defines, in the calling module, `Context`: `.context(..)` and
/// `.with_context(..)` on results whose error converts into `$error` (and
/// on options), adding what was being done through [`WithContext`]. One definition for every library's own error
/// type; a trait generic over the error type would defeat `?`'s inference.
#[macro_export]
macro_rules! context_trait {
    ($error:ty) => {
        /// Adds what was being done to a failure.
        pub trait Context<T> {
            /// With `what`.
            fn context(self, what: impl ::std::fmt::Display) -> ::std::result::Result<T, $error>;
            /// With what `f` says, computed on failure only.
            fn with_context<D: ::std::fmt::Display>(
                self,
                f: impl FnOnce() -> D,
            ) -> ::std::result::Result<T, $error>;
        }

        impl<T, S: Into<$error>> Context<T> for ::std::result::Result<T, S> {
            fn context(self, what: impl ::std::fmt::Display) -> ::std::result::Result<T, $error> {
                self.with_context(|| what)
            }
            fn with_context<D: ::std::fmt::Display>(
                self,
                f: impl FnOnce() -> D,
            ) -> ::std::result::Result<T, $error> {
                self.map_err(|s| $crate::error::WithContext::wrap(f().to_string(), s.into()))
            }
        }

        impl<T> Context<T> for Option<T> {
            fn context(self, what: impl ::std::fmt::Display) -> ::std::result::Result<T, $error> {
                self.with_context(|| what)
            }
            fn with_context<D: ::std::fmt::Display>(
                self,
                f: impl FnOnce() -> D,
            ) -> ::std::result::Result<T, $error> {
                self.ok_or_else(|| $crate::error::WithContext::msg(f().to_string()))
            }
        }
    };
}

crate::context_trait!(Error);

/// Returns a [`WithContext::msg`] error, formatted, from the function.
#[macro_export]
macro_rules! bail {
    ($($t:tt)*) => {
        return Err($crate::error::WithContext::msg(format!($($t)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_and_report() {
        let r: Result<()> = Err(std::io::Error::other("disk on fire")).context("writing /x");
        let e = r.context("booting 'fw'").unwrap_err();
        assert_eq!(e.to_string(), "booting 'fw'");
        assert_eq!(report(&e), "booting 'fw': writing /x: disk on fire");
        let none: Result<u8> = None.context("no such thing");
        assert!(matches!(none, Err(Error::Invalid(m)) if m == "no such thing"));
    }
}

//! Diagnostics: every error the engine reports names `file:line:col`.
//!
//! Two layers: [`ConfigError`] is what an element says about its own
//! arguments, initialization or a handler write (a kind, the argument it
//! is about, a message); the router wraps it in a located [`Error`] that
//! names the element and its place in the configuration.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

/// A position in a configuration source: file name, 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// File name as given to the parser (`"<stdin>"`, `"config"` ...).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
}

impl Span {
    /// A span at `line:col` in `file`.
    pub fn new(file: &Arc<str>, line: u32, col: u32) -> Self {
        Span {
            file: file.clone(),
            line,
            col,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A located error: `file:line:col: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Where the problem is.
    pub span: Span,
    /// What is wrong and, where it helps, what was expected.
    pub message: String,
    /// A likely fix: the known name closest to the one written (a class,
    /// an element, a handler), shown as `(did you mean 'X'?)`.
    pub suggestion: Option<String>,
}

impl Error {
    /// An error at `span`.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Error {
            span,
            message: message.into(),
            suggestion: None,
        }
    }

    /// The same error with a suggested name.
    pub fn suggest(mut self, name: Option<impl Into<String>>) -> Self {
        self.suggestion = name.map(Into::into);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.span, self.message)?;
        match &self.suggestion {
            Some(s) => write!(f, " (did you mean '{s}'?)"),
            None => Ok(()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Several located errors, reported together (a config is checked as a whole).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Errors(pub alloc::vec::Vec<Error>);

impl Errors {
    /// True when nothing went wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Records one error.
    pub fn push(&mut self, e: Error) {
        self.0.push(e)
    }
    /// Sorts by position in the file (line, then column), keeping the
    /// order errors were found in at one position.
    pub fn sort(&mut self) {
        self.0.sort_by_key(|e| (e.span.line, e.span.col));
    }

    /// `Ok(v)` when empty, else `Err(self)`.
    pub fn into_result<T>(self, v: T) -> Result<T, Errors> {
        if self.0.is_empty() {
            Ok(v)
        } else {
            Err(self)
        }
    }
}

impl From<Error> for Errors {
    fn from(e: Error) -> Self {
        Errors(alloc::vec![e])
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Errors {}

/// What kind of mistake a [`ConfigError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A mandatory argument is missing.
    Missing,
    /// A keyword the element does not take.
    UnknownKeyword,
    /// More arguments than the element takes.
    TooMany,
    /// An argument (or a written handler value) is not of the expected form.
    BadValue,
    /// A well-formed value outside what the element accepts.
    OutOfRange,
    /// Arguments that contradict each other or the element's ports.
    Conflict,
    /// Memory or another resource ran out.
    Resource,
    /// Initialization failed (a file, a device, a referenced element).
    Initialize,
    /// A handler cannot be written, or rejected the value.
    Handler,
    /// Anything else wrong with the configuration.
    Invalid,
}

/// Which argument a [`ConfigError`] is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ArgPos {
    /// The argument at this 0-based index, as written.
    Index(usize),
    /// The parameter of this name (a missing one has no index).
    Name(&'static str),
    /// A byte offset in the argument at this index (as split and
    /// uncommented): the router points the error there.
    At(usize, usize),
}

/// An element's configuration, initialization or handler-write error: a
/// kind, the argument it is about when known, and the message. `Display`
/// is the message alone; the router adds the element and `file:line:col`.
///
/// Any `String` or `&str` converts to an [`ErrorKind::Invalid`] error, so
/// `?` works on helpers that return text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// What kind of mistake.
    pub kind: ErrorKind,
    /// The argument it is about, when known.
    pub arg: Option<ArgPos>,
    /// What is wrong and, where it helps, what was expected.
    pub message: String,
}

impl ConfigError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConfigError {
            kind,
            arg: None,
            message: message.into(),
        }
    }

    /// The same error, about argument `arg`.
    pub fn at(mut self, arg: ArgPos) -> Self {
        self.arg = Some(arg);
        self
    }

    /// `missing mandatory argument NAME`.
    pub fn missing(name: &'static str) -> Self {
        Self::new(
            ErrorKind::Missing,
            format!("missing mandatory argument {name}"),
        )
        .at(ArgPos::Name(name))
    }

    /// `NAME: expected WHAT, got 'VALUE'` (`name` empty: no prefix, as for
    /// handler values, where the router names the handler).
    pub fn bad_value(name: &str, what: &str, got: &str) -> Self {
        let got = got.trim();
        let message = if name.is_empty() {
            format!("expected {what}, got '{got}'")
        } else {
            format!("{name}: expected {what}, got '{got}'")
        };
        Self::new(ErrorKind::BadValue, message)
    }

    /// A value outside what the element accepts.
    pub fn out_of_range(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::OutOfRange, message)
    }

    /// Arguments that contradict each other or the element's ports.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// Argument `i` (as written) is malformed, as `message` says.
    pub fn bad_arg(i: usize, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadValue, message).at(ArgPos::Index(i))
    }

    /// Memory (or another resource) ran out.
    pub fn resource(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Resource, message)
    }

    /// Initialization failed.
    pub fn initialize(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Initialize, message)
    }

    /// `handler 'NAME' is not writable`.
    pub fn not_writable(name: &str) -> Self {
        Self::new(
            ErrorKind::Handler,
            format!("handler '{name}' is not writable"),
        )
    }

    /// The same error with `prefix: ` in front of the message (which
    /// pattern, which rule); kind and argument are kept.
    pub fn context(mut self, prefix: impl fmt::Display) -> Self {
        self.message = format!("{prefix}: {}", self.message);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}

/// Compares the message only: what a user reads (and what Click prints).
impl PartialEq<&str> for ConfigError {
    fn eq(&self, other: &&str) -> bool {
        self.message == *other
    }
}

impl From<String> for ConfigError {
    fn from(message: String) -> Self {
        ConfigError::new(ErrorKind::Invalid, message)
    }
}

impl From<&str> for ConfigError {
    fn from(message: &str) -> Self {
        ConfigError::new(ErrorKind::Invalid, message)
    }
}

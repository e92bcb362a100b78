//! Diagnostics: every error the engine reports names `file:line:col`.

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
}

impl Error {
    /// An error at `span`.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Error {
            span,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.span, self.message)
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

//! [`Args`]: reads an element's arguments in Click's style.
//!
//! Arguments are split at top-level commas. An argument whose first word is
//! an upper-case identifier followed by a value (`BURST 4`, `ACTIVE false`)
//! is a keyword argument; any other is positional. A mandatory or optional
//! positional parameter may also be given by its keyword (`Strip(LENGTH 14)`),
//! as in Click. A lone upper-case word (`Print(HELLO)`) stays positional.
//!
//! Unused arguments are errors at [`Args::finish`]: "too many arguments", or
//! "unknown keyword 'X'" with the list of keywords the element accepts.

use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::names::{AddressNames, Context};
use super::split::split_args;
use super::values::FromArg;
use crate::error::{ArgPos, ConfigError, ErrorKind};

#[derive(Debug)]
struct Item {
    /// The keyword, when the argument is keyword-shaped.
    keyword: Option<String>,
    /// The value after the keyword (or the whole argument).
    value: String,
    /// The argument as written.
    raw: String,
    used: bool,
}

/// True for Click keyword syntax: `[A-Z_][A-Z0-9_]*`.
pub fn is_keyword(w: &str) -> bool {
    let mut b = w.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_uppercase() || c == b'_')
        && b.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}

/// An element's arguments being read.
#[derive(Debug)]
pub struct Args {
    items: Vec<Item>,
    accepted: Vec<&'static str>,
    /// The router's `AddressInfo` names, tried when a value does not parse.
    names: Option<Rc<AddressNames>>,
}

impl Args {
    /// Splits a configuration string.
    pub fn new(config: &str) -> Args {
        Args::from_vec(split_args(config))
    }

    /// Takes already split arguments.
    pub fn from_vec(args: Vec<String>) -> Args {
        let items = args
            .into_iter()
            .map(|raw| {
                let t = raw.trim();
                let (keyword, value) = match t.split_once(|c: char| c.is_ascii_whitespace()) {
                    Some((k, v)) if is_keyword(k) => (Some(k.to_string()), v.trim().to_string()),
                    _ => (None, t.to_string()),
                };
                Item {
                    keyword,
                    value,
                    raw,
                    used: false,
                }
            })
            .collect();
        Args {
            items,
            accepted: Vec::new(),
            names: None,
        }
    }

    /// Lets address arguments be given by `AddressInfo` names.
    pub fn with_names(mut self, names: Rc<AddressNames>) -> Args {
        self.names = Some(names);
        self
    }

    /// The router's `AddressInfo` names, for elements that parse
    /// addresses later (in write handlers).
    pub fn names(&self) -> Rc<AddressNames> {
        self.names.clone().unwrap_or_default()
    }

    /// `text` with `AddressInfo` names replaced by their addresses, for
    /// elements that parse their own rule or pattern syntax.
    pub fn resolve_names(&self, text: &str, cx: Context) -> String {
        match &self.names {
            Some(n) => n.substitute(text, cx),
            None => text.to_string(),
        }
    }

    /// [`Args::rest_raw`], with `AddressInfo` names resolved.
    pub fn rest_raw_resolved(&mut self, cx: Context) -> Vec<String> {
        let v = self.rest_raw();
        v.iter().map(|a| self.resolve_names(a, cx)).collect()
    }

    /// [`Args::rest_positional`], with `AddressInfo` names resolved.
    pub fn rest_positional_resolved(&mut self, cx: Context) -> Vec<String> {
        let v = self.rest_positional();
        v.iter().map(|a| self.resolve_names(a, cx)).collect()
    }

    /// Number of arguments (used or not).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Marks the last unused `name` keyword argument (and any earlier
    /// ones) used; returns the index of the last.
    fn take_keyword(&mut self, name: &'static str) -> Option<usize> {
        self.accepted.push(name);
        let mut found = None;
        for (i, it) in self.items.iter_mut().enumerate() {
            if !it.used && it.keyword.as_deref() == Some(name) {
                it.used = true;
                found = Some(i);
            }
        }
        found
    }

    fn take_positional(&mut self) -> Option<usize> {
        let i = self
            .items
            .iter()
            .position(|it| !it.used && it.keyword.is_none())?;
        self.items[i].used = true;
        Some(i)
    }

    /// Parses argument `i` as the value of parameter `name`.
    fn parse<T: FromArg>(&self, name: &'static str, i: usize) -> Result<T, ConfigError> {
        let v = &self.items[i].value;
        T::from_arg(v)
            .or_else(|| {
                let names = self.names.as_ref()?;
                names
                    .candidates(v.trim())
                    .iter()
                    .find_map(|c| T::from_arg(c))
            })
            .ok_or_else(|| ConfigError::bad_value(name, T::EXPECTED, v).at(ArgPos::Index(i)))
    }

    /// A mandatory positional parameter (or `NAME value`).
    pub fn required<T: FromArg>(&mut self, name: &'static str) -> Result<T, ConfigError> {
        match self.take_keyword(name).or_else(|| self.take_positional()) {
            Some(i) => self.parse(name, i),
            None => Err(ConfigError::missing(name)),
        }
    }

    /// An optional positional parameter (or `NAME value`).
    pub fn optional<T: FromArg>(&mut self, name: &'static str) -> Result<Option<T>, ConfigError> {
        match self.take_keyword(name).or_else(|| self.take_positional()) {
            Some(i) => self.parse(name, i).map(Some),
            None => Ok(None),
        }
    }

    /// A keyword-only parameter; the last occurrence wins.
    pub fn keyword<T: FromArg>(&mut self, name: &'static str) -> Result<Option<T>, ConfigError> {
        match self.take_keyword(name) {
            Some(i) => self.parse(name, i).map(Some),
            None => Ok(None),
        }
    }

    /// A keyword-only parameter with a default.
    pub fn keyword_or<T: FromArg>(
        &mut self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        Ok(self.keyword(name)?.unwrap_or(default))
    }

    /// Every keyword argument called `name`, in order (for repeatable
    /// keywords).
    pub fn keyword_all(&mut self, name: &'static str) -> Vec<String> {
        self.accepted.push(name);
        let mut v = Vec::new();
        for it in self.items.iter_mut() {
            if !it.used && it.keyword.as_deref() == Some(name) {
                it.used = true;
                v.push(it.value.clone());
            }
        }
        v
    }

    /// The remaining positional arguments as written (for elements whose
    /// arguments are patterns or rules: Classifier, IPFilter ...). Keyword
    /// arguments not yet read are left for [`Args::finish`] to report.
    pub fn rest_positional(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        for it in self.items.iter_mut() {
            if !it.used && it.keyword.is_none() {
                it.used = true;
                v.push(it.raw.trim().to_string());
            }
        }
        v
    }

    /// Every unread argument as written, keyword-shaped or not (for elements
    /// with their own syntax, such as DriverManager or IPFilter rules that
    /// may start with upper-case words).
    pub fn rest_raw(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        for it in self.items.iter_mut() {
            if !it.used {
                it.used = true;
                v.push(it.raw.trim().to_string());
            }
        }
        v
    }

    /// Reports unread arguments.
    pub fn finish(&self) -> Result<(), ConfigError> {
        let unused = |keyword: bool| {
            self.items
                .iter()
                .position(|it| !it.used && (it.keyword.is_some() || !keyword))
        };
        if let Some(i) = unused(true) {
            let k = self.items[i].keyword.as_deref().unwrap_or_default();
            let message = if self.accepted.is_empty() {
                format!("unknown keyword '{k}' (this element takes no keywords)")
            } else {
                let mut acc: Vec<&str> = self.accepted.clone();
                acc.sort_unstable();
                acc.dedup();
                format!("unknown keyword '{k}' (expected one of {})", acc.join(", "))
            };
            return Err(ConfigError::new(ErrorKind::UnknownKeyword, message).at(ArgPos::Index(i)));
        }
        if let Some(i) = unused(false) {
            let message = format!(
                "too many arguments (unexpected '{}')",
                self.items[i].raw.trim()
            );
            return Err(ConfigError::new(ErrorKind::TooMany, message).at(ArgPos::Index(i)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confparse::values::Duration;

    #[test]
    fn positional_and_keywords() {
        let mut a = Args::new("14, ACTIVE false, BURST 4");
        assert_eq!(a.required::<u32>("LENGTH"), Ok(14));
        assert_eq!(a.keyword::<u32>("BURST"), Ok(Some(4)));
        assert_eq!(a.keyword::<bool>("ACTIVE"), Ok(Some(false)));
        assert_eq!(a.keyword::<u32>("LIMIT"), Ok(None));
        assert!(a.finish().is_ok());
    }

    #[test]
    fn positional_given_by_keyword() {
        let mut a = Args::new("RATE 10, BURST_SIZE 5");
        assert_eq!(a.required::<u32>("RATE"), Ok(10));
        assert_eq!(a.keyword::<u32>("BURST_SIZE"), Ok(Some(5)));
        assert!(a.finish().is_ok());
    }

    #[test]
    fn errors_say_what_was_expected() {
        let mut a = Args::new("x");
        let e = a.required::<u32>("LENGTH").unwrap_err();
        assert_eq!(
            e.to_string(),
            "LENGTH: expected an unsigned integer, got 'x'"
        );
        assert_eq!(
            (e.kind, e.arg),
            (ErrorKind::BadValue, Some(ArgPos::Index(0)))
        );
        let mut a = Args::new("");
        let e = a.required::<u32>("LENGTH").unwrap_err();
        assert_eq!(e.to_string(), "missing mandatory argument LENGTH");
        assert_eq!(
            (e.kind, e.arg),
            (ErrorKind::Missing, Some(ArgPos::Name("LENGTH")))
        );
        let mut a = Args::new("1, 2");
        a.required::<u32>("N").unwrap();
        let e = a.finish().unwrap_err();
        assert_eq!(e.to_string(), "too many arguments (unexpected '2')");
        assert_eq!(
            (e.kind, e.arg),
            (ErrorKind::TooMany, Some(ArgPos::Index(1)))
        );
        let mut a = Args::new("1, BOGUS 3");
        a.required::<u32>("N").unwrap();
        let _ = a.keyword::<Duration>("INTERVAL");
        let e = a.finish().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown keyword 'BOGUS' (expected one of INTERVAL, N)"
        );
        assert_eq!(
            (e.kind, e.arg),
            (ErrorKind::UnknownKeyword, Some(ArgPos::Index(1)))
        );
        let mut a = Args::new("BURST 2, BURST x");
        let e = a.keyword::<u32>("BURST").unwrap_err();
        assert_eq!(e.arg, Some(ArgPos::Index(1)), "the last occurrence wins");
    }

    #[test]
    fn lone_uppercase_word_is_positional() {
        let mut a = Args::new("HELLO");
        assert_eq!(a.optional::<String>("LABEL"), Ok(Some("HELLO".into())));
        assert!(a.finish().is_ok());
    }
}

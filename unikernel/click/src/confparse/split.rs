//! Splitting configuration strings into arguments and words (Click's
//! `cp_argvec`, `cp_spacevec`, `cp_unquote`).
//!
//! Placeholder with the final signatures; the language work replaces the
//! bodies with Click's exact rules (quotes, comments, escapes).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Splits a configuration string at top-level commas (Click's `cp_argvec`).
pub fn split_args(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split(',').map(|a| a.trim().to_string()).collect();
    if v.last().is_some_and(|a| a.is_empty()) {
        v.pop();
    }
    v
}

/// Splits an argument into space-separated words (Click's `cp_spacevec`).
pub fn split_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(|w| w.to_string()).collect()
}

/// Removes quoting from a word (Click's `cp_unquote`).
pub fn unquote(s: &str) -> String {
    s.trim_matches('"').to_string()
}

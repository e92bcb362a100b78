//! Element configuration strings: splitting (Click's `cp_*` functions) and
//! typed argument parsing (Click's `Args`).

pub mod split;

pub use split::{split_args, split_words, unquote};

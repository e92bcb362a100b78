//! Element configuration strings: splitting (Click's `cp_*` functions) and
//! typed argument parsing (Click's `Args`).

pub mod split;

pub use split::{
    is_word, quote, shift_word, split_args, split_words, uncomment, unquote, unquote_bytes,
};

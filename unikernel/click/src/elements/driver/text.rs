//! Quoting helpers the scripts use: Click's `cp_shift_spacevec`,
//! `cp_quote` and `cp_unquote`, from [`crate::confparse`].

pub(crate) use crate::confparse::{quote, shift_word, unquote};

//! Element configuration strings: splitting (Click's `cp_*` functions) and
//! typed argument parsing (Click's `Args`).

pub mod args;
pub mod names;
pub mod split;
pub mod values;

pub use args::Args;
pub use names::{AddressNames, Context};
pub use split::{
    arg_source_offset, is_word, quote, shift_word, split_args, split_words, uncomment, unquote,
    unquote_bytes,
};
pub use values::{
    parse_written, Bandwidth, Bytes, Duration, EtherAddr, FromArg, Ipv4, Ipv4Prefix, Ipv6,
    Ipv6Prefix, Word,
};

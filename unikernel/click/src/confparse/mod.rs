//! Element configuration strings: splitting (Click's `cp_*` functions) and
//! typed argument parsing (Click's `Args`).

pub mod args;
pub mod split;
pub mod values;

pub use args::Args;
pub use split::{split_args, split_words, unquote};
pub use values::{Bandwidth, Duration, EtherAddr, FromArg, Ipv4, Ipv4Prefix, Word};

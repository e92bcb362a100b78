//! One module per subcommand: its arguments and its `run`.

pub mod agent;
pub mod env;

//! One module per subcommand: its arguments and its `run`.

pub mod agent;
pub mod check;
pub mod config;
pub mod doc;
pub mod env;
pub mod run;

/// Examples shown by `mbctl --help`.
pub const EXAMPLES: &str = "\
Examples:
  mbctl run --simtime click-configs/firewall.click IN=click-configs/demo.pcap
  mbctl run -e 'FromDump(t.pcap, STOP true) -> c :: Counter -> Discard' -h c.count
  mbctl check click-configs/firewall.click
  mbctl doc Counter
  mbctl agent            # serve the store in the foreground";

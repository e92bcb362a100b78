//! One module per subcommand: its arguments and its `run`.

pub mod agent;
pub mod boot;
pub mod capture;
pub mod chain;
pub mod check;
pub mod config;
pub mod console;
pub mod doc;
pub mod env;
pub mod handler;
pub mod logs;
pub mod ls;
pub mod reconfigure;
pub mod run;
pub mod state;
pub mod stop;
pub mod tooling;
pub mod vm;
pub mod vmcheck;

use mb_agent::client::Done;

/// Examples shown by `mbctl --help`.
pub const EXAMPLES: &str = "\
Examples:
  mbctl run --simtime click-configs/firewall.click IN=click-configs/demo.pcap
  mbctl run -e 'FromDump(t.pcap, STOP true) -> c :: Counter -> Discard' -h c.count
  mbctl check click-configs/firewall.click
  mbctl doc Counter
  mbctl boot fw.click --nic netns:inside --nic netns:outside
  mbctl ls
  mbctl read fw allowed.count
  mbctl reconfigure fw fw-strict.click
  sudo mbctl capture fw 0 -c 10 -w fw0.pcap
  mbctl stop fw
  mbctl agent            # the agent in the foreground (commands start it in the background)
  sudo mbctl chain up click-configs/chains/fw-nat.toml";

/// Prints what the agent did: its notes on standard error, its result on
/// standard output.
pub fn print_done(d: Done) {
    for n in d.notes {
        eprintln!("mbctl: {n}");
    }
    println!("{}", d.message);
}

//! `mbctl boot`: start a middlebox from a Click config.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

use super::{config, vmcheck};
use mb_agent::{client, proto};
use mb_vm::backend::{accel, Kind};
use mb_vm::guest::default_image;
use mb_vm::net::NicSpec;
use mb_vm::rundir::RunDir;

/// Boot a middlebox VM from a Click configuration.
///
/// Checks CONFIG on the host first (errors as file:line:col, nothing
/// started), then asks the agent (started in the background if needed) to
/// create the VM and its NICs, hands the config to the guest through the
/// store, and returns once the guest's router runs, or fails with the
/// guest's error, leaving nothing behind.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct BootArgs {
    /// The Click configuration (its devices are FromDevice(N)/ToDevice(N),
    /// N counting --nic options from 0).
    config: String,
    /// Name of the middlebox (default: the config file's stem).
    #[arg(long)]
    name: Option<String>,
    /// A NIC, in guest order: tap:NAME, bridge:BR (OVS or Linux bridge;
    /// a tap is created and added), netns:NS[:IFNAME] (a veth into
    /// namespace NS), socket:PATH (QEMU unix datagram socket, no root).
    #[arg(long = "nic", value_name = "SPEC")]
    nics: Vec<String>,
    /// Guest memory (QEMU syntax: 16M, 1G).
    #[arg(long, default_value = proto::DEFAULT_MEMORY)]
    memory: String,
    /// Guest image (default: $MB_IMAGE, else images/mb.elf here or in this
    /// checkout, else PREFIX/share/mb/mb.elf of an installed mbctl).
    #[arg(long)]
    image: Option<PathBuf>,
    /// Accelerator (qemu backend).
    #[arg(long, value_enum, default_value_t = accel::Request::Auto)]
    accel: accel::Request,
    /// VM backend (default: xl on a Xen dom0, qemu elsewhere).
    #[arg(long, value_enum)]
    backend: Option<Kind>,
    /// Seconds to wait for the router to start.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

const EXAMPLES: &str = "\
Examples:
  mbctl boot click-configs/firewall-vm.click --nic netns:inside --nic netns:outside
  mbctl boot fw.click --name fw1 --nic bridge:br0 --nic bridge:br1 --memory 16M
  mbctl boot wire.click --nic socket:/tmp/peer0.sock --nic socket:/tmp/peer1.sock --accel tcg
  mbctl boot fw.click --backend xl --nic bridge:xenbr0   # on a Xen dom0";

/// A middlebox name from a config path: its stem, with other characters as `-`.
pub fn name_from(path: &str) -> String {
    let stem = Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if n.is_empty() {
        "mb".into()
    } else {
        n
    }
}

/// Runs `mbctl boot`.
pub fn run(run: &RunDir, a: BootArgs) -> Result<()> {
    for n in &a.nics {
        NicSpec::parse(n)?;
    }
    let name = a.name.clone().unwrap_or_else(|| name_from(&a.config));
    mb_vm::check_name(&name)?;
    let (source, file) = config::read(&a.config)?;
    vmcheck::check_or_exit(&source, &file, a.nics.len());
    let image = match &a.image {
        Some(p) => p.clone(),
        None => default_image()
            .context("no guest image: build it with `make image`, or pass --image PATH")?,
    };
    if !image.is_file() {
        bail!(
            "guest image {} not found (build it with `make image`)",
            image.display()
        );
    }
    let image = std::fs::canonicalize(&image)?;
    let backend = a.backend.unwrap_or_else(Kind::for_host);
    let config_name = Path::new(&file)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    let req = proto::Request::Boot(Box::new(proto::BootRequest {
        name,
        config: source,
        config_file: file,
        config_name,
        nics: a.nics,
        memory: a.memory,
        image: image.display().to_string(),
        accel: format!("{:?}", a.accel).to_lowercase(),
        backend: backend.as_str().into(),
        timeout_ms: a.timeout.saturating_mul(1000),
        // The agent runs ovs-vsctl; it must reach the switch this command sees.
        ovs_rundir: std::env::var("OVS_RUNDIR").ok().filter(|s| !s.is_empty()),
    }));
    super::print_done(client::call(run, &req)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_from_paths() {
        assert_eq!(super::name_from("click-configs/firewall.click"), "firewall");
        assert_eq!(super::name_from("a b.c.click"), "a-b-c");
    }
}

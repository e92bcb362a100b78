//! Hops as middlebox VMs: each hop's configuration is flattened with its
//! definitions applied (`mbctl boot` takes a file, no `NAME=VALUE`), then
//! booted with one `--nic bridge:BR` per face; the taps `mbctl boot` adds
//! are the faces' switch ports.
//!
//! MAC addresses: the hop's configuration uses the chain's derived MACs
//! whatever MAC QEMU gives the NIC, which is sound because a tap hands the
//! guest every frame and the chain's bridges forward by port, not by MAC.

use anyhow::{anyhow, bail, Context, Result};
use mb_ovs::Ovs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::plan::HopPlan;

/// Writes hop `hp`'s configuration, flattened with its definitions, into
/// `dir`; returns the file.
pub fn flatten(config: &Path, hp: &HopPlan, dir: &Path) -> Result<PathBuf> {
    let src =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let file = config.display().to_string();
    let reg = mb_runner::registry();
    let flat = click::lang::parse(&src, &file, &hp.defines, &|c| reg.contains(c))
        .map_err(|e| anyhow!("hop {}: {e}", hp.name))?;
    let text = format!(
        "// hop {} of a chain: {} flattened with the chain's definitions\n{}",
        hp.name,
        file,
        click::lang::unparse::unparse(&flat)
    );
    let out = dir.join(format!("{}.click", hp.name));
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

/// Whether this `mbctl` has the `boot` command.
pub fn have_boot() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|e| Command::new(e).args(["boot", "--help"]).output().ok())
        .is_some_and(|o| o.status.success())
}

/// Boots hop `hp` from `config` with its faces on their bridges; `ovs`'s
/// run directory is passed on so `mbctl boot`'s `ovs-vsctl` finds a
/// private switch.
pub fn boot(ovs: &Ovs, hp: &HopPlan, config: &Path, memory: Option<&str>) -> Result<()> {
    let exe = std::env::current_exe().context("locating mbctl")?;
    let mut c = Command::new(exe);
    c.arg("boot")
        .arg(config)
        .args(["--name", &hp.vm])
        .args(["--nic", &format!("bridge:{}", hp.inp.bridge)])
        .args(["--nic", &format!("bridge:{}", hp.out.bridge)])
        .env("OVS_RUNDIR", ovs.rundir());
    if let Some(m) = memory {
        c.args(["--memory", m]);
    }
    let o = c.output().context("running mbctl boot")?;
    if !o.status.success() {
        bail!(
            "mbctl boot of hop {}: {}",
            hp.name,
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    Ok(())
}

/// The port on `bridge` that is none of `known`: the tap a boot added.
pub fn new_port(ovs: &Ovs, bridge: &str, known: &[String]) -> Result<String> {
    let ports = ovs.ports(bridge)?;
    let fresh: Vec<&String> = ports.iter().filter(|p| !known.contains(p)).collect();
    match fresh.as_slice() {
        [p] => Ok((*p).clone()),
        _ => bail!("expected one new port on {bridge} after booting, found {fresh:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{plan, spec};
    use super::*;

    #[test]
    fn flattened_configs_carry_the_definitions() {
        let d = std::env::temp_dir().join(format!("mbctl-vm-flatten-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let cfgs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../click-configs/chains");
        let t = format!(
            "name = \"v\"\n[left]\nbridge = \"a\"\ngateway = \"10.1.0.1/24\"\n[right]\nbridge = \"b\"\ngateway = \"10.2.0.1/24\"\n[[hop]]\nname = \"nat\"\nconfig = \"{}\"\ndefines = {{ PUBLIC = \"10.2.0.1\" }}\n",
            cfgs.join("nat.click").display()
        );
        let c = spec::parse(&t, &d.join("c.toml")).unwrap();
        let p = plan::derive(&c, plan::Backend::Vm);
        let f = flatten(&c.hops[0].config, &p.hops[0], &d).unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.contains("FromDevice(0") && text.contains("ToDevice(1"),
            "{text}"
        );
        assert!(text.contains(&p.hops[0].inp.mac), "{text}");
        assert!(text.contains("pattern 10.2.0.1 1024-65535"), "{text}");
        // The flattened file loads by itself, with no definitions.
        let reg = mb_runner::registry();
        click::lang::parse(&text, "f", &[], &|c| reg.contains(c)).unwrap();
        let _ = std::fs::remove_dir_all(&d);
    }
}

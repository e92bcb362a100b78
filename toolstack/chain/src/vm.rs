//! Hops as middlebox VMs: each hop's configuration is flattened with its
//! definitions applied (a guest takes a config, no `NAME=VALUE`), then
//! booted through the agent with one `bridge:BR` NIC per face; the taps
//! the agent adds are the faces' switch ports.
//!
//! MAC addresses: the hop's configuration uses the chain's derived MACs
//! whatever MAC QEMU gives the NIC, which is sound because a tap hands the
//! guest every frame and the chain's bridges forward by port, not by MAC.

use crate::error::{Context, Error, Result};
use mb_agent::client;
use mb_agent::proto::{BootRequest, Request, BOOT_TIMEOUT, DEFAULT_MEMORY};
use mb_ovs::Ovs;
use mb_vm::backend::Kind;
use mb_vm::bail;
use mb_vm::guest;
use mb_vm::rundir::RunDir;
use std::path::{Path, PathBuf};

use super::plan::HopPlan;

/// A VM hop's NICs: 0 towards the left end, 1 towards the right.
pub const HOP_NICS: usize = 2;

/// Writes hop `hp`'s configuration, flattened with its definitions, into
/// `dir`; returns the file.
pub fn flatten(config: &Path, hp: &HopPlan, dir: &Path) -> Result<PathBuf> {
    flatten_as(
        config,
        &hp.name,
        &hp.defines,
        &dir.join(format!("{}.click", hp.name)),
    )
}

/// Writes `config` of hop `hop`, flattened with `defines`, to `out`.
pub fn flatten_as(
    config: &Path,
    hop: &str,
    defines: &[(String, String)],
    out: &Path,
) -> Result<PathBuf> {
    let src =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let file = config.display().to_string();
    let reg = mb_runner::registry();
    let flat =
        click::lang::parse(&src, &file, defines, &|c| reg.contains(c)).map_err(|e| Error::Hop {
            hop: hop.into(),
            message: e.to_string(),
        })?;
    let text = format!(
        "// hop {hop} of a chain: {file} flattened with the chain's definitions\n{}",
        click::lang::unparse::unparse(&flat)
    );
    super::up::private_file(out, &text)?;
    Ok(out.to_path_buf())
}

/// Boots hop `hp` from `config` with its faces on their bridges, as
/// `mbctl boot` does with its defaults; `ovs`'s run directory goes with
/// the request so the agent's `ovs-vsctl` finds a private switch.
/// Returns the agent's notes on the boot (e.g. the accelerator's
/// fallback).
pub fn boot(
    run: &RunDir,
    ovs: &Ovs,
    hp: &HopPlan,
    config: &Path,
    memory: Option<&str>,
) -> Result<Vec<String>> {
    let bridges = [hp.inp.bridge.as_str(), hp.out.bridge.as_str()];
    let req = boot_request(ovs, &hp.name, &hp.vm, bridges, config, memory)?;
    let done = client::call(run, &req).with_context(|| format!("booting hop {}", hp.name))?;
    Ok(done.notes)
}

/// The agent request that boots VM `vm` of hop `hop` from `config`, its
/// NICs on `bridges` (towards the left, towards the right).
pub fn boot_request(
    ovs: &Ovs,
    hop: &str,
    vm: &str,
    bridges: [&str; 2],
    config: &Path,
    memory: Option<&str>,
) -> Result<Request> {
    let source =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let file = config.display().to_string();
    let nics = bridges.map(|b| format!("bridge:{b}")).to_vec();
    if let Err(errs) = guest::check(&source, &file, &[], HOP_NICS) {
        let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
        return Err(Error::Hop {
            hop: hop.into(),
            message: lines.join("\n"),
        });
    }
    let image = guest::default_image()
        .context("no guest image: build it with `make image`, or set MB_IMAGE")?;
    let image = std::fs::canonicalize(&image)
        .with_context(|| format!("guest image {}", image.display()))?;
    let config_name = config
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    Ok(Request::Boot(Box::new(BootRequest {
        name: vm.into(),
        config: source,
        config_file: file,
        config_name,
        nics,
        memory: memory.unwrap_or(DEFAULT_MEMORY).into(),
        image: image.display().to_string(),
        accel: "auto".into(),
        backend: Kind::for_host().as_str().into(),
        timeout_ms: BOOT_TIMEOUT.as_millis() as u64,
        ovs_rundir: Some(ovs.rundir().display().to_string()),
    })))
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
    use super::*;
    use crate::{plan, spec};

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

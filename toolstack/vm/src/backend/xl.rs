//! The Xen backend: `xl create` from `xen-cfg/mbctl.cfg.in`, the guest's
//! store ring served by the system's xenstored (xl and libxl set it up;
//! the agent writes the config through the store client like any dom0
//! tool), vifs on
//! bridges (Xen's `vif-bridge` hotplug script adds `vif<D>.<i>`), the
//! guest's console logged by the system's xenconsoled (see
//! [`guest_log_dir`]) and linked as the middlebox's `console.log`.
//!
//! Run on a real (nested) Xen by `tests/xen`; the generated config and
//! the store writes are also unit-tested (here and in `agent::boot`), the
//! `xl` calls through a recording double.

use crate::bail;
use crate::error::{Context, Result};
use crate::files::VmFiles;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Backend, Kind, Launched, Plan};
use crate::net::NicSpec;
use crate::{NicRecord, Record};

/// The config template.
pub const TEMPLATE: &str = include_str!("../../../../xen-cfg/mbctl.cfg.in");

/// Runs `xl` (a double in tests).
pub trait XlRunner: Send + Sync {
    /// `xl args...`: standard output, or an error with xl's message.
    fn run(&self, args: &[&str]) -> Result<String>;
}

/// The real `xl`.
pub struct SystemXl;

impl XlRunner for SystemXl {
    fn run(&self, args: &[&str]) -> Result<String> {
        crate::sys::run("xl", args)
    }
}

pub use mb_store_client::host_is_dom0;

/// Where xenconsoled logs a guest's console when started without
/// `--log-dir` (upstream's and Debian's default).
pub const DEFAULT_CONSOLE_LOG_DIR: &str = "/var/log/xen/console";

/// The directory where a xenconsoled started with `args` (its command
/// line, program name first) logs guest consoles as `guest-<name>.log`;
/// `None` when it does not log them (`--log` must be `guest` or `all`).
pub fn guest_log_dir(args: &[String]) -> Option<PathBuf> {
    let (mut mode, mut dir) = (None, None);
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        // getopt_long: `--opt=value` or `--opt value`.
        let mut take = |name: &str| -> Option<String> {
            match a.strip_prefix(name)? {
                "" => it.next().cloned(),
                v => v.strip_prefix('=').map(str::to_string),
            }
        };
        if let Some(v) = take("--log-dir") {
            dir = Some(v);
        } else if let Some(v) = take("--log") {
            mode = Some(v);
        }
    }
    matches!(mode.as_deref(), Some("guest" | "all"))
        .then(|| PathBuf::from(dir.unwrap_or_else(|| DEFAULT_CONSOLE_LOG_DIR.into())))
}

/// The running xenconsoled's guest log directory, found through `/proc`:
/// `Err` says why there is none.
pub fn running_guest_log_dir() -> std::result::Result<PathBuf, String> {
    let procs = std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
    for p in procs.flatten() {
        let comm = std::fs::read_to_string(p.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != "xenconsoled" {
            continue;
        }
        let Ok(cmdline) = std::fs::read(p.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        return guest_log_dir(&args).ok_or_else(|| {
            "xenconsoled does not log guest consoles (start it with --log=guest, \
             e.g. XENCONSOLED_TRACE=guest in /etc/default/xencommons)"
                .to_string()
        });
    }
    Err("no xenconsoled is running".into())
}

/// Points `console.log` at xenconsoled's log of the guest `name` about to
/// be created, emptied first: a log of an earlier domain of that name would
/// otherwise pass for this one's. A note when the console is not logged.
fn link_console_log(files: &VmFiles, name: &str) -> Option<String> {
    let dir = match running_guest_log_dir() {
        Ok(d) => d,
        Err(why) => {
            return Some(format!(
                "{why}: `mbctl logs` and crash reports will have no console lines"
            ))
        }
    };
    let log = dir.join(format!("guest-{name}.log"));
    let _ = std::fs::remove_file(&log);
    let link = files.console_log();
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&log, &link)
        .err()
        .map(|e| format!("linking {}: {e}: no console lines", link.display()))
}

/// The xl backend.
pub struct Xl {
    xl: Box<dyn XlRunner>,
}

/// `32M`, `1G`, `64` (MiB) → MiB.
pub fn memory_mib(m: &str) -> Result<u64> {
    let m = m.trim();
    let (num, mul) = match m.as_bytes().last() {
        Some(b'M' | b'm') => (&m[..m.len() - 1], 1),
        Some(b'G' | b'g') => (&m[..m.len() - 1], 1024),
        _ => (m, 1),
    };
    num.parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .and_then(|n| n.checked_mul(mul))
        .with_context(|| format!("--memory '{m}': expected MiB such as 32M or 1G"))
}

/// The vif entries for `nics` (bridges only: Xen's hotplug makes the vifs).
pub fn vifs(domid_hint: u32, nics: &[NicSpec]) -> Result<Vec<String>> {
    nics.iter()
        .enumerate()
        .map(|(i, n)| match n {
            NicSpec::Bridge(br) => {
                // A spec built without parsing gets the parser's check.
                super::confine::check_plain("bridge name", br)?;
                Ok(format!(
                    "'bridge={br},mac={}'",
                    crate::net::mac(domid_hint, i)
                ))
            }
            other => bail!(
                "--nic {other}: the xl backend attaches NICs to bridges only (--nic bridge:BR)"
            ),
        })
        .collect()
}

/// The xl config text for `plan`.
pub fn config(plan: &Plan) -> Result<String> {
    let vifs = vifs(plan.domid, &plan.nics)?;
    let image = plan.image.display().to_string();
    // Both land inside double quotes in xl's config syntax.
    if let Some(c) = image
        .chars()
        .chain(plan.name.chars())
        .find(|&c| matches!(c, '"' | '\\') || c.is_control())
    {
        bail!(
            "{:?} is not allowed in the image path or name of an xl guest",
            c
        );
    }
    Ok(TEMPLATE
        .replace("@NAME@", &plan.name)
        .replace("@KERNEL@", &image)
        .replace("@MEMORY_MB@", &memory_mib(&plan.memory)?.to_string())
        .replace("@VIFS@", &vifs.join(", ")))
}

impl Xl {
    /// With this `xl`.
    pub fn new(xl: Box<dyn XlRunner>) -> Xl {
        Xl { xl }
    }

    fn domid(&self, name: &str) -> Option<u32> {
        self.xl.run(&["domid", name]).ok()?.trim().parse().ok()
    }
}

impl Backend for Xl {
    fn kind(&self) -> Kind {
        Kind::Xl
    }

    fn chooses_domid(&self) -> bool {
        false
    }

    fn launch(&self, plan: &Plan) -> Result<Launched> {
        let cfg = config(plan)?;
        std::fs::create_dir_all(&plan.files.dir)
            .with_context(|| format!("creating {}", plan.files.dir.display()))?;
        let path = plan.files.xl_cfg();
        std::fs::write(&path, cfg).with_context(|| format!("writing {}", path.display()))?;
        let path = path.display().to_string();
        // A live domain of that name keeps its log; `xl create` then fails.
        let notes = match self.domid(&plan.name) {
            Some(_) => Vec::new(),
            None => link_console_log(&plan.files, &plan.name)
                .into_iter()
                .collect(),
        };
        // Paused, so the config is in the store before the guest runs.
        self.xl.run(&["create", "-p", &path])?;
        let Some(domid) = self.domid(&plan.name) else {
            let _ = self.xl.run(&["destroy", &plan.name]);
            bail!("xl created '{}' but `xl domid` does not know it", plan.name);
        };
        let nics = plan
            .nics
            .iter()
            .enumerate()
            .map(|(i, n)| NicRecord {
                spec: n.to_string(),
                mac: crate::net::mac(plan.domid, i),
                ifname: Some(format!("vif{domid}.{i}")),
                made: vec![],
            })
            .collect();
        Ok(Launched {
            domid,
            pid: None,
            accel: "xen".into(),
            notes,
            nics,
            paused: true,
        })
    }

    fn unpause(&self, rec: &Record) -> Result<()> {
        self.xl.run(&["unpause", &rec.name]).map(drop)
    }

    fn alive(&self, rec: &Record) -> bool {
        // Domain id 0: a record written before `xl create` said the id.
        self.domid(&rec.name)
            .is_some_and(|d| rec.domid == 0 || d == rec.domid)
    }

    fn wait_gone(&self, rec: &Record, timeout: Duration) -> bool {
        let start = Instant::now();
        while self.alive(rec) {
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    }

    fn destroy(&self, rec: &Record) -> Result<()> {
        if self.alive(rec) {
            self.xl.run(&["destroy", &rec.name])?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::accel::Request;
    use crate::rundir::RunDir;
    use std::sync::{Arc, Mutex};

    /// Records `xl` calls; `xl domid NAME` answers `domid` once created.
    #[derive(Clone, Default)]
    pub struct FakeXl {
        pub calls: Arc<Mutex<Vec<String>>>,
        pub domid: u32,
    }

    impl XlRunner for FakeXl {
        fn run(&self, args: &[&str]) -> Result<String> {
            let line = args.join(" ");
            let mut calls = self.calls.lock().unwrap();
            calls.push(line);
            match args {
                ["domid", _] => {
                    let created = calls.iter().any(|c| c.starts_with("create"));
                    let destroyed = calls.iter().any(|c| c.starts_with("destroy"));
                    if created && !destroyed {
                        Ok(format!("{}\n", self.domid))
                    } else {
                        bail!("Invalid domain identifier")
                    }
                }
                _ => Ok(String::new()),
            }
        }
    }

    pub fn plan(dir: &std::path::Path, nics: Vec<NicSpec>) -> Plan {
        let run = RunDir::new(dir);
        Plan {
            name: "fw".into(),
            domid: 0,
            image: "/boot/mb.elf".into(),
            memory: "32M".into(),
            accel: Request::Auto,
            nics,
            store_socket: run.guest_socket(0),
            files: VmFiles::new(&run, "fw"),
            ovs_rundir: None,
        }
    }

    #[test]
    fn generated_config() {
        let p = plan(
            std::path::Path::new("/run/x"),
            vec![
                NicSpec::Bridge("xenbr0".into()),
                NicSpec::Bridge("br1".into()),
            ],
        );
        let c = config(&p).unwrap();
        for want in [
            "name = \"fw\"\n",
            "type = \"pvh\"\n",
            "kernel = \"/boot/mb.elf\"\n",
            "memory = 32\n",
            "vif = [ 'bridge=xenbr0,mac=52:54:00:00:00:00', 'bridge=br1,mac=52:54:00:00:00:01' ]\n",
            "tsc_mode = \"native\"\n",
            "on_crash = \"destroy\"\n",
        ] {
            assert!(c.contains(want), "missing {want:?} in\n{c}");
        }
        assert!(
            !c.lines().any(|l| !l.starts_with('#') && l.contains('@')),
            "unfilled placeholder in\n{c}"
        );
        let bad = plan(
            std::path::Path::new("/run/x"),
            vec![NicSpec::Tap("t".into())],
        );
        assert!(config(&bad)
            .unwrap_err()
            .to_string()
            .contains("bridges only"));
        let mut quoted = plan(std::path::Path::new("/run/x"), vec![]);
        quoted.image = "/boot/a\"b.elf".into();
        assert!(config(&quoted)
            .unwrap_err()
            .to_string()
            .contains("not allowed"));
        quoted.image = "/boot/a\nb.elf".into();
        assert!(config(&quoted).is_err());
        let vif = plan(
            std::path::Path::new("/run/x"),
            vec![NicSpec::Bridge("br0,script=x".into())],
        );
        assert!(config(&vif).unwrap_err().to_string().contains("a comma"));
    }

    #[test]
    fn xenconsoled_log_dir_from_its_command_line() {
        let dir = |a: &str| guest_log_dir(&a.split(' ').map(String::from).collect::<Vec<_>>());
        assert_eq!(
            dir("xenconsoled --pid-file=/run/x.pid --log=guest --log-dir=/tmp/c"),
            Some("/tmp/c".into())
        );
        assert_eq!(
            dir("/usr/sbin/xenconsoled --log all --log-dir /l"),
            Some("/l".into())
        );
        assert_eq!(
            dir("xenconsoled --log=guest"),
            Some(DEFAULT_CONSOLE_LOG_DIR.into())
        );
        assert_eq!(dir("xenconsoled --log=hv --log-dir=/tmp/c"), None);
        assert_eq!(dir("xenconsoled --pid-file=/run/x.pid"), None);
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(memory_mib("32M").unwrap(), 32);
        assert_eq!(memory_mib("1G").unwrap(), 1024);
        assert_eq!(memory_mib("64").unwrap(), 64);
        assert!(memory_mib("lots").is_err());
        assert!(memory_mib("0M").is_err());
    }

    #[test]
    fn launch_creates_paused_and_destroy_calls_xl() {
        let dir = std::env::temp_dir().join(format!("mbctl-xl-{}", std::process::id()));
        let fake = FakeXl {
            domid: 9,
            ..FakeXl::default()
        };
        let xl = Xl::new(Box::new(fake.clone()));
        let p = plan(&dir, vec![NicSpec::Bridge("xenbr0".into())]);
        let l = xl.launch(&p).unwrap();
        assert_eq!((l.domid, l.paused), (9, true));
        assert_eq!(l.nics[0].ifname.as_deref(), Some("vif9.0"));
        let cfg = p.files.xl_cfg().display().to_string();
        assert_eq!(
            *fake.calls.lock().unwrap(),
            [
                "domid fw".into(),
                format!("create -p {cfg}"),
                "domid fw".into()
            ]
        );
        let rec = Record {
            name: "fw".into(),
            domid: 9,
            backend: "xl".into(),
            state: crate::State::Running,
            pid: None,
            started: 0,
            config_name: String::new(),
            config_file: String::new(),
            memory: "32M".into(),
            accel: "xen".into(),
            image: String::new(),
            nics: l.nics,
        };
        xl.unpause(&rec).unwrap();
        assert!(xl.alive(&rec));
        xl.destroy(&rec).unwrap();
        assert!(!xl.alive(&rec));
        let calls = fake.calls.lock().unwrap().clone();
        assert!(calls.contains(&"unpause fw".to_string()));
        assert!(calls.contains(&"destroy fw".to_string()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

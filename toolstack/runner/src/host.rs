//! The host services a router gets from `mbctl run`: standard output,
//! files (truncated or appended, opened per write as Click's `print >FILE`
//! does), and standard error for diagnostics.

use std::fs::OpenOptions;
use std::io::Write;

use click::host::Host;

/// Standard output, files and standard error.
#[derive(Debug, Default)]
pub struct StdHost;

impl Host for StdHost {
    fn output(&self, file: Option<&str>, append: bool, text: &str) -> Result<(), String> {
        match file {
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|_| out.flush())
                    .map_err(|e| format!("standard output: {e}"))
            }
            Some(name) => {
                let mut f = OpenOptions::new()
                    .create(true)
                    .write(true)
                    .append(append)
                    .truncate(!append)
                    .open(name)
                    .map_err(|e| format!("{name}: {e}"))?;
                f.write_all(text.as_bytes())
                    .map_err(|e| format!("{name}: {e}"))
            }
        }
    }

    fn log(&self, msg: &str) {
        eprintln!("{msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_truncated_or_appended() {
        let dir = std::env::temp_dir().join(format!("mb-host-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("out.txt");
        let name = f.to_str().unwrap();
        let h = StdHost;
        h.output(Some(name), false, "one\n").unwrap();
        h.output(Some(name), true, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "one\ntwo\n");
        h.output(Some(name), false, "three\n").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "three\n");
        let bad = dir.join("no/such/dir/x");
        let e = h
            .output(Some(bad.to_str().unwrap()), false, "x")
            .unwrap_err();
        assert!(e.contains("no/such/dir/x"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! The host-side check `boot` and `reconfigure` run before a config goes
//! to a guest ([`mb_vm::guest::check`]), its errors printed.

/// Runs [`mb_vm::guest::check`] and, on errors, prints them and exits
/// with status 1.
pub fn check_or_exit(source: &str, file: &str, nics: usize) {
    if let Err(errs) = mb_vm::guest::check(source, file, &[], nics) {
        for e in &errs {
            eprintln!("{e}");
        }
        let n = errs.len();
        eprintln!("{file}: {}; nothing was started", super::check::errors(n));
        std::process::exit(1);
    }
}

//! Middlebox VMs as the host manages them: their records in the store
//! ([`record`]), the run directory ([`rundir`]) and each VM's files in it
//! ([`files`]), their NICs on the host ([`net`]), and the backends that
//! start and end them ([`backend`]: QEMU/KVM, Xen's xl), and what a
//! controller measures of each ([`sample`]). Everything here is a library
//! call; the agent sequences them.
#![warn(missing_docs)]

pub mod backend;
pub mod error;
pub mod fault;
pub mod files;
pub mod guest;
pub mod net;
pub mod pidfile;
pub mod record;
pub mod rundir;
pub mod sample;
pub mod sys;

pub use error::{Error, Result};

pub use record::{NicRecord, Record, State};

/// Checks a middlebox name: it becomes a store path component and a file
/// name, so letters, digits, `-` and `_` only, at most 64 bytes.
pub fn check_name(name: &str) -> crate::error::Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        crate::bail!("bad middlebox name '{name}': use 1 to 64 letters, digits, '-' or '_'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert!(super::check_name("fw-1_a").is_ok());
        for bad in ["", "a/b", "a.b", "a b", &"x".repeat(65)] {
            assert!(super::check_name(bad).is_err(), "{bad}");
        }
    }
}

//! Middleboxes as the toolstack knows them: their records in the store
//! ([`record`]) and the run directory files of each ([`files`]).

pub mod files;
pub mod record;

pub use record::{NicRecord, Record, State};

/// Checks a middlebox name: it becomes a store path component and a file
/// name, so letters, digits, `-` and `_` only, at most 64 bytes.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        anyhow::bail!("bad middlebox name '{name}': use 1 to 64 letters, digits, '-' or '_'");
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

//! Element documentation, generated at build time from each element file's
//! `//!` block (see `docgen.rs`). Host-only: the guest does not carry it.

/// One element class's documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElementDoc {
    /// Class name.
    pub name: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// The whole documentation block (signature, sections, example).
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/element_docs.rs"));

/// The documentation of class `name`.
pub fn find(name: &str) -> Option<&'static ElementDoc> {
    DOCS.iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_library_class_is_documented() {
        for c in crate::elements::classes() {
            let d = find(c.name).unwrap_or_else(|| panic!("{} has no doc block", c.name));
            assert!(!d.summary.is_empty(), "{}", c.name);
            assert!(d.text.contains("# Example"), "{} lacks an example", c.name);
        }
    }

    #[test]
    fn counter_doc_has_its_sections() {
        let d = find("Counter").unwrap();
        assert!(d.text.starts_with("`Counter"));
        assert!(d.text.contains("# Handlers"));
        assert_eq!(d.summary, "counts packets and bytes passing through.");
    }
}

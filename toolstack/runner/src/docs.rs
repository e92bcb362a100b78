//! Documentation of the host elements, generated at build time from their
//! `//!` blocks; [`all`] merges it with the engine's library.

pub use click::docs::ElementDoc;

include!(concat!(env!("OUT_DIR"), "/host_element_docs.rs"));

/// Every class `mbctl run` knows, documented, sorted by name.
pub fn all() -> Vec<&'static ElementDoc> {
    let mut v: Vec<&'static ElementDoc> = click::docs::DOCS.iter().chain(DOCS.iter()).collect();
    v.sort_by_key(|d| d.name);
    v
}

/// The documentation of class `name`.
pub fn find(name: &str) -> Option<&'static ElementDoc> {
    all().into_iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_engine_classes_are_documented() {
        for c in crate::registry().names() {
            if c == "TestSink" {
                continue;
            }
            let d = find(c).unwrap_or_else(|| panic!("{c} has no documentation"));
            assert!(d.text.contains("# Example"), "{c}");
        }
        assert!(find("FromDump").unwrap().text.contains("STOP"));
    }
}

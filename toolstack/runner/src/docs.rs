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

/// One class as Click's elementmap describes it: its documentation and
/// what the registry knows of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassInfo {
    /// Class name.
    pub name: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Port counts `INPUTS/OUTPUTS` (`1/1`, `1/-`, `0/1` ...).
    pub ports: &'static str,
    /// Processing code `INPUTS/OUTPUTS` of `h`, `l`, `a` (`a/a`, `h/l` ...).
    pub processing: &'static str,
    /// The class's own handlers (not the ones every element has), with
    /// Click's modes `r`, `w` or `rw`, as its documentation lists them.
    pub handlers: Vec<(String, &'static str)>,
}

/// Every documented class `mbctl run` knows, sorted by name.
pub fn element_map() -> Vec<ClassInfo> {
    let reg = crate::registry();
    all()
        .into_iter()
        .filter_map(|d| {
            let c = reg.get(d.name)?;
            Some(ClassInfo {
                name: d.name,
                summary: d.summary,
                ports: c.ports,
                processing: c.processing,
                handlers: handlers(d),
            })
        })
        .collect()
}

/// The handlers a doc block's `# Handlers` section lists, one bullet each
/// (`` * `count` (read): ... ``); a section that says its class has those
/// of another (`` Those of `Queue` ``, `As Script's`) gets that class's.
fn handlers(d: &ElementDoc) -> Vec<(String, &'static str)> {
    let section = d
        .text
        .split("\n# ")
        .find_map(|s| s.strip_prefix("Handlers\n"))
        .unwrap_or("");
    let mut v = Vec::new();
    for line in section.lines() {
        let Some(rest) = line.strip_prefix("* `") else {
            continue;
        };
        let Some((name, after)) = rest.split_once('`') else {
            continue;
        };
        let Some(mode) = after.trim_start().strip_prefix('(') else {
            continue;
        };
        let mode = if mode.starts_with("read/write") {
            "rw"
        } else if mode.starts_with("read") {
            "r"
        } else if mode.starts_with("write") {
            "w"
        } else {
            continue;
        };
        v.push((name.to_string(), mode));
    }
    if v.is_empty() {
        let first = section.lines().next().unwrap_or("");
        let other = first
            .strip_prefix("Those of `")
            .and_then(|r| r.split('`').next())
            .or_else(|| first.strip_prefix("As ").and_then(|r| r.split("'s").next()));
        if let Some(o) = other.filter(|o| *o != d.name).and_then(find) {
            return handlers(o);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_element_map_has_ports_processing_and_handlers() {
        let map = element_map();
        let get = |n: &str| map.iter().find(|c| c.name == n).unwrap();
        let c = get("Counter");
        assert_eq!((c.ports, c.processing), ("1/1", "a/a"));
        assert!(c.handlers.contains(&("count".into(), "r")), "{c:?}");
        assert!(c.handlers.contains(&("reset".into(), "w")), "{c:?}");
        let q = get("Queue");
        assert!(q.handlers.contains(&("capacity".into(), "rw")), "{q:?}");
        assert_eq!(get("FrontDropQueue").handlers, q.handlers);
        assert!(get("FromDump").ports.starts_with('0'));
        // Every class the runner knows is in the map.
        for n in crate::registry().names().filter(|n| *n != "TestSink") {
            assert!(map.iter().any(|c| c.name == n), "{n} missing");
        }
    }

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

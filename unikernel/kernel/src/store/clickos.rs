//! ClickOS's store layout, as its MiniOS guest (`minios/click.cc`) and its
//! toolstacks (`cosmos`, `clickos-ctl`) use it, relative to the guest's
//! home `/local/domain/<D>`:
//!
//! | path | written by | meaning |
//! | --- | --- | --- |
//! | `data/clickos` | guest | written (empty) at start: "this is a ClickOS guest" |
//! | `data/clickos/0/config/<i>` | host | the config in chunks of at most 992 bytes, read from 0 until one is missing |
//! | `data/clickos/0/config_name` | host | a label, logged |
//! | `data/clickos/0/status` | host, guest | host: `Running` (load the config; again to load a new one), `Halted` (stop and power off); guest: `Error` |
//! | `data/clickos/0/error` | guest | why the config did not load, `config:line:col: message` (our addition) |
//! | `data/clickos/0/control/read/<e>/<h>` | host | a read request for handler `<e>.<h>` |
//! | `data/clickos/0/elements/<e>/<h>` | host, guest | host: a value for write handler `<e>.<h>`; guest: a read result, followed by `<h>/lock` = `0` |
//! | `data/clickos/0/elements/<e>/<h>/error` | guest | why that handler call failed (our addition) |
//! | `data/clickos/0/control/read/<h>`, `data/clickos/0/elements/<h>` | host, guest | the same for router handler `<h>` (Click's global handlers: `config`, `list`, `hotconfig`, ...), named without an element as in Click |
//!
//! The guest watches `data/clickos` as a whole (ClickOS's single
//! `router-watch`) and reads the node an event names, as ClickOS does.

use alloc::format;
use alloc::string::String;

/// Root of the ClickOS subtree; the guest writes it empty when it starts.
pub const ROOT: &str = "data/clickos";
/// The one router this guest runs (ClickOS's router id 0).
pub const ROUTER: &str = "data/clickos/0";
/// The router's status.
pub const STATUS: &str = "data/clickos/0/status";
/// Why the last config did not load.
pub const ERROR: &str = "data/clickos/0/error";
/// The config's label.
pub const CONFIG_NAME: &str = "data/clickos/0/config_name";
/// Largest config chunk ClickOS's toolstack writes.
pub const CHUNK_MAX: usize = 992;
/// Token of the guest's watch on [`ROOT`].
pub const WATCH_TOKEN: &[u8] = b"router-watch";

/// Status values.
pub mod status {
    /// Host: run the config (again, to load a new one).
    pub const RUNNING: &[u8] = b"Running";
    /// Host: stop the router (the guest powers off).
    pub const HALTED: &[u8] = b"Halted";
    /// Guest: the config did not load.
    pub const ERROR: &[u8] = b"Error";
}

/// Path of config chunk `i`.
pub fn chunk_path(i: u32) -> String {
    format!("{ROUTER}/config/{i}")
}

/// `element/handler`, or `handler` alone for a router handler (empty
/// element), as Click names global handlers.
fn handler_rel(element: &str, handler: &str) -> String {
    if element.is_empty() {
        String::from(handler)
    } else {
        format!("{element}/{handler}")
    }
}

/// Where the guest writes the value of handler `element.handler`.
pub fn element_path(element: &str, handler: &str) -> String {
    format!("{ROUTER}/elements/{}", handler_rel(element, handler))
}

/// The lock node ClickOS writes after a read result.
pub fn lock_path(element: &str, handler: &str) -> String {
    format!("{}/lock", element_path(element, handler))
}

/// Where the guest reports a failed handler call.
pub fn handler_error_path(element: &str, handler: &str) -> String {
    format!("{}/error", element_path(element, handler))
}

/// The read request node for `element.handler`.
pub fn control_read_path(element: &str, handler: &str) -> String {
    format!("{ROUTER}/control/read/{}", handler_rel(element, handler))
}

/// What a watch event under [`ROOT`] is about.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The root itself (the watch's first event, or our own write): look at
    /// the status.
    Root,
    /// `status` changed.
    Status,
    /// A read request for `element.handler`.
    ControlRead {
        /// Element name (may contain `/` for compound elements); empty
        /// for a router handler.
        element: &'a str,
        /// Handler name.
        handler: &'a str,
    },
    /// `elements/<element>/<handler>` was written: a write request, unless
    /// it is the echo of the guest's own read result.
    ElementValue {
        /// Element name; empty for a router handler.
        element: &'a str,
        /// Handler name.
        handler: &'a str,
    },
    /// Anything else (config chunks, `config_name`, other routers, the
    /// guest's `lock` and `error` nodes).
    Other,
}

/// Classifies an event path (relative, or absolute under a domain home).
pub fn classify(path: &str) -> Event<'_> {
    let rel = strip_home(path);
    let Some(rest) = rel.strip_prefix(ROOT) else {
        return Event::Other;
    };
    if rest.is_empty() {
        return Event::Root;
    }
    let Some(rest) = rest.strip_prefix("/0") else {
        return Event::Other;
    };
    match rest {
        "" => Event::Root,
        "/status" => Event::Status,
        _ => {
            if let Some(h) = rest.strip_prefix("/control/read/") {
                split_handler(h).map_or(Event::Other, |(element, handler)| Event::ControlRead {
                    element,
                    handler,
                })
            } else if let Some(h) = rest.strip_prefix("/elements/") {
                match split_handler(h) {
                    // The guest's own markers, of element or router handlers.
                    Some((_, "lock" | "error")) => Event::Other,
                    Some((element, handler)) => Event::ElementValue { element, handler },
                    None => Event::Other,
                }
            } else {
                Event::Other
            }
        }
    }
}

/// `/local/domain/<D>/x` → `x`; relative paths stay.
fn strip_home(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/local/domain/") else {
        return path;
    };
    match rest.split_once('/') {
        Some((d, tail)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => tail,
        _ => path,
    }
}

/// `a/b/h` → (`a/b`, `h`): the handler is the last component, the element
/// everything before it (compound element names contain `/`); a single
/// component `h` is router handler `h` (empty element).
fn split_handler(s: &str) -> Option<(&str, &str)> {
    let (e, h) = s.rsplit_once('/').unwrap_or(("", s));
    (!h.is_empty() && !s.starts_with('/')).then_some((e, h))
}

/// Engine handler names may hold characters store paths do not allow
/// (`[A-Za-z0-9-/_@]`); such handlers cannot be reached through the store.
pub fn is_path_safe(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'_' | b'@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_clickos_paths() {
        assert_eq!(classify("data/clickos"), Event::Root);
        assert_eq!(classify("data/clickos/0"), Event::Root);
        assert_eq!(classify("data/clickos/0/status"), Event::Status);
        assert_eq!(
            classify("/local/domain/7/data/clickos/0/status"),
            Event::Status
        );
        assert_eq!(
            classify("data/clickos/0/control/read/c/count"),
            Event::ControlRead {
                element: "c",
                handler: "count"
            }
        );
        assert_eq!(
            classify("data/clickos/0/elements/fw/in/count"),
            Event::ElementValue {
                element: "fw/in",
                handler: "count"
            }
        );
        // Router handlers: one component, no element.
        assert_eq!(
            classify("data/clickos/0/control/read/flatconfig"),
            Event::ControlRead {
                element: "",
                handler: "flatconfig"
            }
        );
        assert_eq!(
            classify("data/clickos/0/elements/hotconfig"),
            Event::ElementValue {
                element: "",
                handler: "hotconfig"
            }
        );
        for other in [
            "data/clickos/0/config/3",
            "data/clickos/0/config_name",
            "data/clickos/0/elements/c/count/lock",
            "data/clickos/0/elements/c/count/error",
            "data/clickos/0/elements/config/lock",
            "data/clickos/0/elements/config/error",
            "data/clickos/0/elements",
            "data/clickos/0/control/read",
            "data/clickos/0/control/read/",
            "data/clickos/0/control",
            "data/clickos/1/status",
            "data/clickosx",
            "data/mb/busy",
            "/local/domain/x/data/clickos/0/status",
        ] {
            assert_eq!(classify(other), Event::Other, "{other}");
        }
    }

    #[test]
    fn paths_match_clickos() {
        assert_eq!(chunk_path(2), "data/clickos/0/config/2");
        assert_eq!(
            element_path("c", "count"),
            "data/clickos/0/elements/c/count"
        );
        assert_eq!(
            lock_path("c", "count"),
            "data/clickos/0/elements/c/count/lock"
        );
        assert_eq!(
            control_read_path("a/b", "h"),
            "data/clickos/0/control/read/a/b/h"
        );
        assert_eq!(
            control_read_path("", "list"),
            "data/clickos/0/control/read/list"
        );
        assert_eq!(element_path("", "config"), "data/clickos/0/elements/config");
        assert_eq!(
            lock_path("", "config"),
            "data/clickos/0/elements/config/lock"
        );
        assert!(is_path_safe("Counter@3"));
        assert!(!is_path_safe("a.b"));
        assert!(!is_path_safe(""));
    }
}

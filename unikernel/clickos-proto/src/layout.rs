//! ClickOS's store layout, as its MiniOS guest (`minios/click.cc`) and its
//! toolstacks (`cosmos`, `clickos-ctl`) use it, relative to the guest's
//! home `/local/domain/<D>`:
//!
//! | path | written by | meaning |
//! | --- | --- | --- |
//! | `data/clickos` | guest | written (empty) at start: "this is a ClickOS guest" |
//! | `data/clickos/0/config/<i>` | host | the config in chunks of at most [`CHUNK_MAX`] bytes, read from 0 until one is missing |
//! | `data/clickos/0/config_name` | host | a label, logged |
//! | `data/clickos/0/status` | host, guest | host: `Running` (load the config; again to load a new one), `Halted` (stop and power off); guest: `Error` |
//! | `data/clickos/0/error` | host, guest | host: [`PENDING`] before a load; guest: removed when the config loads, else why it did not, `config:line:col: message` (our addition) |
//! | `data/clickos/0/control/read/<e>/<h>` | host | a read request for handler `<e>.<h>` |
//! | `data/clickos/0/elements/<e>/<h>` | host, guest | host: a value for write handler `<e>.<h>`; guest: a read result, followed by `<h>/lock` = `0` |
//! | `data/clickos/0/elements/<e>/<h>/error` | guest | why that handler call failed (our addition) |
//! | `data/clickos/0/control/read/<h>`, `data/clickos/0/elements/<h>` | host, guest | the same for router handler `<h>` (Click's global handlers: `config`, `list`, `hotconfig`, ...), named without an element as in Click |
//!
//! The guest watches `data/clickos` as a whole (ClickOS's single
//! `router-watch`) and reads the node an event names, as ClickOS does.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Root of the ClickOS subtree, relative to a home.
const CLICKOS: &str = "data/clickos";
/// The one router our guests run (ClickOS's router id 0), relative to
/// [`CLICKOS`].
const ROUTER_ID: &str = "0";
/// Our monitoring subtree, relative to a home.
const MB: &str = "data/mb";
/// Where domain homes live.
const DOMAINS: &str = "/local/domain/";

/// Largest config chunk ClickOS's toolstack writes.
pub const CHUNK_MAX: usize = 992;
/// Token of the guest's watch on [`Home::clickos`].
pub const WATCH_TOKEN: &str = "router-watch";
/// Token of the guest's watch on [`Home::beat_ms`].
pub const BEAT_TOKEN: &str = "mb-beat";
/// What the host puts in `error` before asking for a load: the guest
/// removes the node when the config loads (also when it is the one already
/// running) and replaces it with its message when it does not, so the host
/// sees the outcome at once (`data/mb/loads` is published only about once
/// a second).
pub const PENDING: &str = "loading";

/// Values of `status`.
pub mod status {
    /// Host: run the config (again, to load a new one).
    pub const RUNNING: &str = "Running";
    /// Host: stop the router (the guest powers off).
    pub const HALTED: &str = "Halted";
    /// Guest: the config did not load.
    pub const ERROR: &str = "Error";
}

/// Whose home a path is under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    /// The connection's own domain: relative paths, which the store
    /// resolves under whatever domain id it gave the connection (the
    /// guest's view).
    Own,
    /// Domain `D`: absolute paths under `/local/domain/D` (the host's view).
    Domain(u32),
}

impl Home {
    /// The home itself: `/local/domain/D`, or empty for [`Home::Own`].
    pub fn path(self) -> String {
        match self {
            Home::Own => String::new(),
            Home::Domain(d) => format!("{DOMAINS}{d}"),
        }
    }

    /// `rel` under this home.
    fn join(self, rel: &str) -> String {
        match self {
            Home::Own => String::from(rel),
            Home::Domain(d) => format!("{DOMAINS}{d}/{rel}"),
        }
    }

    /// `data/clickos`: the guest writes it empty when it starts and
    /// watches it.
    pub fn clickos(self) -> String {
        self.join(CLICKOS)
    }

    /// `data/clickos/0`: router 0's subtree.
    pub fn router(self) -> String {
        self.join(&format!("{CLICKOS}/{ROUTER_ID}"))
    }

    /// `<router>/rel`.
    fn router_node(self, rel: &str) -> String {
        self.join(&format!("{CLICKOS}/{ROUTER_ID}/{rel}"))
    }

    /// The router's status (values in [`status`]).
    pub fn status(self) -> String {
        self.router_node("status")
    }

    /// Why the last config did not load ([`PENDING`] while a load waits).
    pub fn error(self) -> String {
        self.router_node("error")
    }

    /// The config's label.
    pub fn config_name(self) -> String {
        self.router_node("config_name")
    }

    /// The directory of config chunks.
    pub fn config(self) -> String {
        self.router_node("config")
    }

    /// Config chunk `i`.
    pub fn chunk(self, i: u32) -> String {
        self.router_node(&format!("config/{i}"))
    }

    /// `elements/<e>/<h>`: a write request's value (host) or a read
    /// result (guest).
    pub fn element(self, e: &str, h: &str) -> String {
        self.router_node(&format!("elements/{}", handler_rel(e, h)))
    }

    /// The lock node the guest writes after a read result.
    pub fn lock(self, e: &str, h: &str) -> String {
        format!("{}/lock", self.element(e, h))
    }

    /// Where the guest reports a failed handler call.
    pub fn handler_error(self, e: &str, h: &str) -> String {
        format!("{}/error", self.element(e, h))
    }

    /// The read request node for `e.h`.
    pub fn control_read(self, e: &str, h: &str) -> String {
        self.router_node(&format!("control/read/{}", handler_rel(e, h)))
    }

    /// `data/mb`: our monitoring subtree (see [`crate::stats`]).
    pub fn mb(self) -> String {
        self.join(MB)
    }

    /// `data/mb/nics`: how many NICs the guest has.
    pub fn nics(self) -> String {
        self.join(&format!("{MB}/nics"))
    }

    /// `data/mb/nic/<i>`: NIC `i`'s counters (see [`crate::NicCounters`]).
    pub fn nic(self, i: usize) -> String {
        self.join(&format!("{MB}/nic/{i}"))
    }

    /// `data/mb/busy`: per mille of the last period spent moving packets.
    pub fn busy(self) -> String {
        self.join(&format!("{MB}/busy"))
    }

    /// `data/mb/loads`: configs loaded since boot (the guest's
    /// acknowledgement of a load).
    pub fn loads(self) -> String {
        self.join(&format!("{MB}/loads"))
    }

    /// `data/mb/format`: the record's format ([`crate::stats::FORMAT`]).
    pub fn format(self) -> String {
        self.join(&format!("{MB}/format"))
    }

    /// `data/mb/heap_used`: heap bytes in use.
    pub fn heap_used(self) -> String {
        self.join(&format!("{MB}/heap_used"))
    }

    /// `data/mb/heap_size`: heap bytes the guest can use.
    pub fn heap_size(self) -> String {
        self.join(&format!("{MB}/heap_size"))
    }

    /// `data/mb/beat`: the guest's clock (ms since boot) at its last
    /// publication, while a heartbeat is asked for.
    pub fn beat(self) -> String {
        self.join(&format!("{MB}/beat"))
    }

    /// `data/mb/beat_ms`: the heartbeat period the host asks for (the
    /// guest watches it).
    pub fn beat_ms(self) -> String {
        self.join(&format!("{MB}/beat_ms"))
    }
}

/// `e/h`, or `h` alone for a router handler (empty element), as Click
/// names global handlers.
fn handler_rel(e: &str, h: &str) -> String {
    if e.is_empty() {
        String::from(h)
    } else {
        format!("{e}/{h}")
    }
}

/// Splits a config into chunks of at most [`CHUNK_MAX`] bytes, never
/// inside a UTF-8 character (each chunk is a store value on its own). An
/// empty config is one empty chunk: the guest stops at the first missing
/// chunk, so zero chunks would read as "no config".
pub fn chunks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(CHUNK_MAX);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    if out.is_empty() {
        out.push("");
    }
    out
}

/// What a watch event under [`Home::clickos`] is about.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The root itself (the watch's first event, or the guest's own
    /// write): look at the status.
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
    /// `data/mb/beat_ms` (the guest's second watch): the host changed
    /// the heartbeat period.
    BeatPeriod,
    /// Anything else (config chunks, `config_name`, other routers, the
    /// guest's `lock` and `error` nodes).
    Other,
}

/// Classifies an event path (relative, or absolute under a domain home).
pub fn classify(path: &str) -> Event<'_> {
    let rel = strip_home(path);
    if rel.strip_prefix(MB) == Some("/beat_ms") {
        return Event::BeatPeriod;
    }
    let Some(rest) = rel.strip_prefix(CLICKOS) else {
        return Event::Other;
    };
    if rest.is_empty() {
        return Event::Root;
    }
    let Some(rest) = rest
        .strip_prefix('/')
        .and_then(|r| r.strip_prefix(ROUTER_ID))
    else {
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
    let Some(rest) = path.strip_prefix(DOMAINS) else {
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
        assert_eq!(classify("data/mb/beat_ms"), Event::BeatPeriod);
        assert_eq!(classify(&Home::Domain(4).beat_ms()), Event::BeatPeriod);
        assert_eq!(classify("data/mb/beat"), Event::Other);
        assert_eq!(classify("data/mb/beat_ms/x"), Event::Other);
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
            "data/clickos/00/status",
            "data/clickosx",
            "data/mb/busy",
            "/local/domain/x/data/clickos/0/status",
        ] {
            assert_eq!(classify(other), Event::Other, "{other}");
        }
    }

    #[test]
    fn paths_match_clickos() {
        let own = Home::Own;
        assert_eq!(own.path(), "");
        assert_eq!(own.clickos(), "data/clickos");
        assert_eq!(own.router(), "data/clickos/0");
        assert_eq!(own.status(), "data/clickos/0/status");
        assert_eq!(own.error(), "data/clickos/0/error");
        assert_eq!(own.config_name(), "data/clickos/0/config_name");
        assert_eq!(own.config(), "data/clickos/0/config");
        assert_eq!(own.chunk(2), "data/clickos/0/config/2");
        assert_eq!(own.element("c", "count"), "data/clickos/0/elements/c/count");
        assert_eq!(
            own.lock("c", "count"),
            "data/clickos/0/elements/c/count/lock"
        );
        assert_eq!(
            own.handler_error("c", "count"),
            "data/clickos/0/elements/c/count/error"
        );
        assert_eq!(
            own.control_read("a/b", "h"),
            "data/clickos/0/control/read/a/b/h"
        );
        assert_eq!(
            own.control_read("", "list"),
            "data/clickos/0/control/read/list"
        );
        assert_eq!(own.element("", "config"), "data/clickos/0/elements/config");
        assert_eq!(
            own.lock("", "config"),
            "data/clickos/0/elements/config/lock"
        );
        assert_eq!(own.mb(), "data/mb");
        assert_eq!(own.nics(), "data/mb/nics");
        assert_eq!(own.nic(1), "data/mb/nic/1");
        assert_eq!(own.busy(), "data/mb/busy");
        assert_eq!(own.loads(), "data/mb/loads");
        let d = Home::Domain(4);
        assert_eq!(d.path(), "/local/domain/4");
        assert_eq!(d.status(), "/local/domain/4/data/clickos/0/status");
        assert_eq!(
            d.control_read("c", "count"),
            "/local/domain/4/data/clickos/0/control/read/c/count"
        );
        assert_eq!(d.mb(), "/local/domain/4/data/mb");
        // The guest's relative paths and the host's absolute ones name the
        // same nodes, and the guest classifies both alike.
        assert_eq!(d.element("c", "n"), d.path() + "/" + &own.element("c", "n"));
        assert_eq!(classify(&d.status()), classify(&own.status()));
        assert_eq!(
            classify(&d.element("fw/in", "count")),
            Event::ElementValue {
                element: "fw/in",
                handler: "count"
            }
        );
        assert_eq!(classify(&d.lock("c", "n")), Event::Other);
        assert_eq!(classify(&d.handler_error("", "config")), Event::Other);
        assert!(is_path_safe("Counter@3"));
        assert!(!is_path_safe("a.b"));
        assert!(!is_path_safe(""));
    }

    #[test]
    fn chunks_respect_the_limit_and_characters() {
        assert_eq!(chunks(""), [""]);
        let long = "é".repeat(CHUNK_MAX); // 2 bytes each
        let c = chunks(&long);
        assert!(c.iter().all(|c| c.len() <= CHUNK_MAX));
        assert_eq!(c.concat(), long);
        assert_eq!(c.len(), 2);
        // An odd offset forces a chunk to end one byte early.
        let odd = format!("a{}", "é".repeat(500));
        let c = chunks(&odd);
        assert_eq!(c[0].len(), CHUNK_MAX - 1);
        assert_eq!(c.concat(), odd);
        let exact = "a".repeat(CHUNK_MAX);
        assert_eq!(chunks(&exact).len(), 1);
        let more = exact.clone() + "b";
        assert_eq!(chunks(&more), [exact.as_str(), "b"]);
    }
}

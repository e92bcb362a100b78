//! Handlers: element handlers (`c.count`), the generic ones every element
//! has (`name`, `class`, `config`, `ports`, `handlers`), and router handlers
//! (`list`, `classes`, `config`, `flatconfig`, `requirements`, `version`,
//! and `nomem_drops`: packets dropped or not made for want of memory).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::fmt::Write;

use super::{Ctx, PortKind, Router};
use crate::element::HandlerDecl;
use crate::error::ConfigError;
use crate::suggest::closest;

/// Why a handler call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandlerError {
    /// No element of that name.
    NoElement(String),
    /// The element (or router) has no such handler; the closest name it
    /// has, if one is close.
    NoHandler(String, Option<String>),
    /// The handler cannot be read.
    NotReadable(String),
    /// The handler cannot be written.
    NotWritable(String),
    /// The element is running (a handler called from inside itself).
    Busy(String),
    /// The write handler rejected the value.
    Failed(String, ConfigError),
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandlerError::NoElement(e) => write!(f, "no element named '{e}'"),
            HandlerError::NoHandler(h, None) => write!(f, "unknown handler '{h}'"),
            HandlerError::NoHandler(h, Some(s)) => {
                write!(f, "unknown handler '{h}' (did you mean '{s}'?)")
            }
            HandlerError::NotReadable(h) => write!(f, "handler '{h}' is write-only"),
            HandlerError::NotWritable(h) => write!(f, "handler '{h}' is read-only"),
            HandlerError::Busy(h) => write!(f, "handler '{h}': element is busy"),
            HandlerError::Failed(h, m) => write!(f, "{h}: {m}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HandlerError {}

pub(super) const GENERIC: &[HandlerDecl] = &[
    HandlerDecl::read("name"),
    HandlerDecl::read("class"),
    HandlerDecl::read("config"),
    HandlerDecl::read("ports"),
    HandlerDecl::read("handlers"),
];

const ROUTER: &[HandlerDecl] = &[
    HandlerDecl::read("version"),
    HandlerDecl::read("list"),
    HandlerDecl::read("classes"),
    HandlerDecl::read("config"),
    HandlerDecl::read("flatconfig"),
    HandlerDecl::read("requirements"),
    HandlerDecl::read("handlers"),
    HandlerDecl::read("nomem_drops"),
    HandlerDecl::write("stop"),
];

/// Splits `elem.handler` at the last dot; `handler` alone is a router
/// handler.
fn split(spec: &str) -> (Option<&str>, &str) {
    match spec.rsplit_once('.') {
        Some((e, h)) => (Some(e), h),
        None => (None, spec),
    }
}

fn flags(h: &HandlerDecl) -> &'static str {
    match (h.readable(), h.writable()) {
        (true, true) => "rw",
        (true, false) => "r",
        _ => "w",
    }
}

impl Router {
    /// Every handler of element `eid` (generic ones first).
    pub fn element_handlers(&self, eid: usize) -> Vec<HandlerDecl> {
        let mut v: Vec<HandlerDecl> = GENERIC.to_vec();
        if let Ok(e) = self.elements[eid].try_borrow() {
            v.extend_from_slice(e.handlers());
        }
        v
    }

    /// What handler `spec` (`element.handler`, or a router handler) is:
    /// its name and whether it reads or writes.
    pub fn handler_decl(&self, spec: &str) -> Result<HandlerDecl, HandlerError> {
        self.lookup(spec).map(|(_, d)| d)
    }

    fn lookup(&self, spec: &str) -> Result<(Option<usize>, HandlerDecl), HandlerError> {
        let (elem, h) = split(spec);
        let (eid, decls) = match elem {
            None => (None, ROUTER.to_vec()),
            Some(e) => {
                let eid = self
                    .find(e)
                    .ok_or_else(|| HandlerError::NoElement(e.into()))?;
                (Some(eid), self.element_handlers(eid))
            }
        };
        match decls.iter().find(|d| d.name == h) {
            Some(d) => Ok((eid, *d)),
            None => {
                let near = closest(h, decls.iter().map(|d| d.name));
                let full = |n: &str| match elem {
                    Some(e) => format!("{e}.{n}"),
                    None => n.to_string(),
                };
                Err(HandlerError::NoHandler(spec.into(), near.map(full)))
            }
        }
    }

    /// True if `spec` (`elem.handler` or a router handler) exists.
    pub fn has_handler(&self, spec: &str) -> bool {
        self.lookup(spec).is_ok()
    }

    /// Reads a handler: `elem.handler`, or a router handler such as `list`.
    pub fn read(&self, spec: &str) -> Result<String, HandlerError> {
        let (eid, decl) = self.lookup(spec)?;
        if !decl.readable() {
            return Err(HandlerError::NotReadable(spec.into()));
        }
        let Some(eid) = eid else {
            return Ok(self.read_router(decl.name));
        };
        if let Some(v) = self.read_generic(eid, decl.name) {
            return Ok(v);
        }
        let e = self.elements[eid]
            .try_borrow()
            .map_err(|_| HandlerError::Busy(spec.into()))?;
        Ok(e.read_handler(&Ctx::new(self, eid), decl.name))
    }

    /// Writes a handler.
    pub fn write(&self, spec: &str, value: &str) -> Result<(), HandlerError> {
        let (eid, decl) = self.lookup(spec)?;
        if !decl.writable() {
            return Err(HandlerError::NotWritable(spec.into()));
        }
        let Some(eid) = eid else {
            // The only writable router handler is `stop`.
            self.stop();
            return Ok(());
        };
        let r = {
            let mut e = self.elements[eid]
                .try_borrow_mut()
                .map_err(|_| HandlerError::Busy(spec.into()))?;
            e.write_handler(&Ctx::new(self, eid), decl.name, value)
        };
        self.drain_deferred();
        r.map_err(|m| HandlerError::Failed(spec.into(), m))
    }

    fn read_generic(&self, eid: usize, h: &str) -> Option<String> {
        let info = &self.info[eid];
        Some(match h {
            "name" => info.name.clone(),
            "class" => info.class.name.to_string(),
            "config" => info.config.clone(),
            "ports" => self.ports_text(eid),
            "handlers" => {
                let mut s = String::new();
                for d in self.element_handlers(eid) {
                    let _ = writeln!(s, "{}\t{}", d.name, flags(&d));
                }
                s
            }
            _ => return None,
        })
    }

    /// Click's `ports` handler: per side a count line, then one line per
    /// port with its processing (`~` when agnostic) and its peers.
    fn ports_text(&self, eid: usize) -> String {
        let info = &self.info[eid];
        let mut s = String::new();
        let kind = |k: PortKind, agn: bool| {
            let base = if k == PortKind::Push { "push" } else { "pull" };
            if agn {
                format!("{base}~")
            } else {
                base.to_string()
            }
        };
        let n_in = info.inputs.len();
        let _ = writeln!(s, "{} input{}", n_in, if n_in == 1 { "" } else { "s" });
        for (p, k) in info.inputs.iter().enumerate() {
            let peers: Vec<String> = self
                .flat
                .connections
                .iter()
                .filter(|c| c.to == eid && c.to_port == p)
                .map(|c| format!("{} [{}]", self.info[c.from].name, c.from_port))
                .collect();
            let _ = writeln!(
                s,
                "{}\t{}",
                kind(*k, info.agnostic_in[p]),
                if peers.is_empty() {
                    "-".into()
                } else {
                    peers.join(", ")
                }
            );
        }
        let n_out = info.outputs.len();
        let _ = writeln!(s, "{} output{}", n_out, if n_out == 1 { "" } else { "s" });
        for (p, k) in info.outputs.iter().enumerate() {
            let peers: Vec<String> = self
                .flat
                .connections
                .iter()
                .filter(|c| c.from == eid && c.from_port == p)
                .map(|c| format!("[{}] {}", c.to_port, self.info[c.to].name))
                .collect();
            let _ = writeln!(
                s,
                "{}\t{}",
                kind(*k, info.agnostic_out[p]),
                if peers.is_empty() {
                    "-".into()
                } else {
                    peers.join(", ")
                }
            );
        }
        s
    }

    fn read_router(&self, h: &str) -> String {
        match h {
            "version" => env!("CARGO_PKG_VERSION").into(),
            "list" => {
                let mut s = format!("{}\n", self.info.len());
                for i in &self.info {
                    let _ = writeln!(s, "{}", i.name);
                }
                s
            }
            "classes" => {
                let mut names: Vec<&str> = self.info.iter().map(|i| i.class.name).collect();
                names.sort_unstable();
                names.dedup();
                let mut s = String::new();
                for n in names {
                    let _ = writeln!(s, "{n}");
                }
                s
            }
            "config" => self.source.clone(),
            "flatconfig" => crate::lang::unparse(&self.flat),
            "nomem_drops" => self.nomem_drops().to_string(),
            "requirements" => {
                let mut s = String::new();
                for (r, _) in &self.flat.requirements {
                    let _ = writeln!(s, "{r}");
                }
                s
            }
            "handlers" => {
                let mut s = String::new();
                for d in ROUTER {
                    let _ = writeln!(s, "{}\t{}", d.name, flags(d));
                }
                s
            }
            _ => String::new(),
        }
    }
}

//! Watches: which registered watch an event reaches, and with which path.

use super::ConnId;
use crate::path;
use crate::wire::PermList;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

/// A change to the tree that may fire watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Absolute path of the changed node, or a special `@` path.
    pub path: String,
    /// A removal: also fires watches set below `path`, with their own path.
    pub removal: bool,
    /// The node's permissions (before a removal), deciding who may see the event.
    pub perms: Option<PermList>,
}

impl Event {
    /// A write, mkdir or permission change of `path`.
    pub fn changed(path: &str, perms: PermList) -> Event {
        Event {
            path: String::from(path),
            removal: false,
            perms: Some(perms),
        }
    }

    /// The removal of the subtree at `path`.
    pub fn removed(path: &str, perms: PermList) -> Event {
        Event {
            path: String::from(path),
            removal: true,
            perms: Some(perms),
        }
    }

    /// A special event (`@introduceDomain`, `@releaseDomain`).
    pub fn special(path: &str) -> Event {
        Event {
            path: String::from(path),
            removal: false,
            perms: None,
        }
    }
}

/// One registered watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// The connection that owns it.
    pub conn: ConnId,
    /// Absolute watched path, or a special `@` path.
    pub path: String,
    /// The token the client chose.
    pub token: Vec<u8>,
    /// For a watch set with a relative path: the prefix (`/local/domain/D/`) to strip from events.
    pub relative_to: Option<String>,
}

impl Watch {
    /// The path as the client registered it.
    pub fn client_path(&self) -> &str {
        self.relativize(&self.path)
    }

    fn relativize<'a>(&self, p: &'a str) -> &'a str {
        match &self.relative_to {
            Some(prefix) => p.strip_prefix(prefix.as_str()).unwrap_or(p),
            None => p,
        }
    }

    /// The path to report to this watch for `ev`, if it fires at all.
    pub fn fires_for<'a>(&'a self, ev: &'a Event) -> Option<&'a str> {
        if path::is_special(&ev.path) || path::is_special(&self.path) {
            return (ev.path == self.path).then_some(ev.path.as_str());
        }
        if path::is_at_or_below(&ev.path, &self.path) {
            Some(self.relativize(&ev.path))
        } else if ev.removal && path::is_at_or_below(&self.path, &ev.path) {
            Some(self.client_path())
        } else {
            None
        }
    }
}

/// What one watch costs its domain's memory quota besides path and token.
const WATCH_COST: usize = 64;

impl Watch {
    /// Bytes the watch takes, counted in its domain's memory.
    pub fn cost(&self) -> usize {
        self.path.len() + self.token.len() + WATCH_COST
    }
}

/// All watches of all connections, indexed so that neither an event nor a
/// (un)watch costs work proportional to every watch in the store.
#[derive(Debug, Clone, Default)]
pub struct Watches {
    by_conn: BTreeMap<(ConnId, String, Vec<u8>), Watch>,
    by_path: BTreeMap<String, BTreeSet<(ConnId, Vec<u8>)>>,
}

impl Watches {
    /// Adds a watch; `false` if the same connection already has this path and token.
    pub fn add(&mut self, w: Watch) -> bool {
        let key = (w.conn, w.path.clone(), w.token.clone());
        if self.by_conn.contains_key(&key) {
            return false;
        }
        self.by_path
            .entry(w.path.clone())
            .or_default()
            .insert((w.conn, w.token.clone()));
        self.by_conn.insert(key, w);
        true
    }

    /// Whether `conn` has a watch on `path` with `token`.
    pub fn contains(&self, conn: ConnId, path: &str, token: &[u8]) -> bool {
        self.by_conn
            .contains_key(&(conn, String::from(path), token.to_vec()))
    }

    /// Removes a watch, returning it.
    pub fn remove(&mut self, conn: ConnId, path: &str, token: &[u8]) -> Option<Watch> {
        let w = self
            .by_conn
            .remove(&(conn, String::from(path), token.to_vec()))?;
        if let Some(set) = self.by_path.get_mut(path) {
            set.remove(&(conn, w.token.clone()));
            if set.is_empty() {
                self.by_path.remove(path);
            }
        }
        Some(w)
    }

    /// Drops every watch of `conn`, returning them.
    pub fn remove_conn(&mut self, conn: ConnId) -> Vec<Watch> {
        let keys: Vec<_> = self
            .by_conn
            .range((conn, String::new(), Vec::new())..)
            .take_while(|(k, _)| k.0 == conn)
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter()
            .filter_map(|(c, p, t)| self.remove(c, &p, &t))
            .collect()
    }

    /// Every watch that may fire for `ev`: those on the event's path or an
    /// ancestor of it, and for a removal those below it.
    pub fn candidates<'a>(&'a self, ev: &'a Event) -> impl Iterator<Item = &'a Watch> + 'a {
        let mut paths: Vec<&str> = Vec::new();
        let mut cur = Some(ev.path.as_str());
        while let Some(p) = cur {
            paths.push(p);
            cur = path::parent(p);
        }
        let exact = paths
            .into_iter()
            .filter_map(|p| self.by_path.get_key_value(p));
        let below = ev
            .removal
            .then(|| {
                let prefix = if ev.path == "/" {
                    String::from("/")
                } else {
                    alloc::format!("{}/", ev.path)
                };
                self.by_path
                    .range(prefix.clone()..)
                    .take_while(move |(k, _)| k.starts_with(&prefix))
                    .filter(|(k, _)| k.as_str() != "/")
            })
            .into_iter()
            .flatten();
        exact.chain(below).flat_map(move |(p, set)| {
            set.iter()
                .filter_map(move |(c, t)| self.by_conn.get(&(*c, p.clone(), t.clone())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Access;

    fn w(path: &str, rel: Option<&str>) -> Watch {
        Watch {
            conn: 1,
            path: path.into(),
            token: b"t".to_vec(),
            relative_to: rel.map(String::from),
        }
    }

    fn perms() -> PermList {
        PermList::owned_by(0, Access::None)
    }

    #[test]
    fn matching_rules() {
        let a = w("/a/b", None);
        assert_eq!(
            a.fires_for(&Event::changed("/a/b/c", perms())),
            Some("/a/b/c")
        );
        assert_eq!(a.fires_for(&Event::changed("/a/b", perms())), Some("/a/b"));
        assert_eq!(a.fires_for(&Event::changed("/a", perms())), None);
        assert_eq!(a.fires_for(&Event::changed("/a/bc", perms())), None);
        assert_eq!(a.fires_for(&Event::removed("/a", perms())), Some("/a/b"));
        assert_eq!(a.fires_for(&Event::special("@releaseDomain")), None);
        let s = w("@releaseDomain", None);
        assert_eq!(
            s.fires_for(&Event::special("@releaseDomain")),
            Some("@releaseDomain")
        );
        assert_eq!(s.fires_for(&Event::changed("/x", perms())), None);
    }

    #[test]
    fn relative_events() {
        let r = w("/local/domain/3/data", Some("/local/domain/3/"));
        assert_eq!(r.client_path(), "data");
        assert_eq!(
            r.fires_for(&Event::changed("/local/domain/3/data/x", perms())),
            Some("data/x")
        );
        assert_eq!(
            r.fires_for(&Event::removed("/local/domain/3", perms())),
            Some("data")
        );
    }

    #[test]
    fn duplicate_and_removal() {
        let mut ws = Watches::default();
        assert!(ws.add(w("/a", None)));
        assert!(!ws.add(w("/a", None)));
        assert_eq!(ws.by_conn.len(), 1);
        assert!(ws.remove(1, "/a", b"t").is_some());
        assert!(ws.remove(1, "/a", b"t").is_none());
    }
}

//! Watches: which registered watch an event reaches, and with which path.

use super::ConnId;
use crate::path;
use crate::wire::PermList;
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

/// All watches of all connections.
#[derive(Debug, Clone, Default)]
pub struct Watches {
    list: Vec<Watch>,
}

impl Watches {
    /// Adds a watch; `false` if the same connection already has this path and token.
    pub fn add(&mut self, w: Watch) -> bool {
        if self.find(w.conn, &w.path, &w.token).is_some() {
            return false;
        }
        self.list.push(w);
        true
    }

    fn find(&self, conn: ConnId, path: &str, token: &[u8]) -> Option<usize> {
        self.list
            .iter()
            .position(|w| w.conn == conn && w.path == path && w.token == token)
    }

    /// Whether `conn` has a watch on `path` with `token`.
    pub fn contains(&self, conn: ConnId, path: &str, token: &[u8]) -> bool {
        self.find(conn, path, token).is_some()
    }

    /// Removes a watch; `false` if there was none.
    pub fn remove(&mut self, conn: ConnId, path: &str, token: &[u8]) -> bool {
        match self.find(conn, path, token) {
            Some(i) => {
                self.list.remove(i);
                true
            }
            None => false,
        }
    }

    /// Drops every watch of `conn`.
    pub fn remove_conn(&mut self, conn: ConnId) {
        self.list.retain(|w| w.conn != conn);
    }

    /// All watches.
    pub fn iter(&self) -> impl Iterator<Item = &Watch> {
        self.list.iter()
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
        assert_eq!(ws.iter().count(), 1);
        assert!(ws.remove(1, "/a", b"t"));
        assert!(!ws.remove(1, "/a", b"t"));
    }
}

//! The node tree: values, permissions, children and generation counts.

use crate::path;
use crate::wire::{Access, PermList};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

/// One node: it can hold a value and children at the same time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The value bytes (possibly empty).
    pub value: Vec<u8>,
    /// The permission list (owner first).
    pub perms: PermList,
    /// Names of the children (leaf names, sorted).
    pub children: BTreeSet<String>,
    /// Generation: changes whenever the node (value, perms or child set) changes.
    pub generation: u64,
}

fn add(m: &mut BTreeMap<u32, usize>, domid: u32, delta: isize) {
    let c = m.entry(domid).or_insert(0);
    *c = c.saturating_add_signed(delta);
    if *c == 0 {
        m.remove(&domid);
    }
}

/// What one node costs its owner's memory quota: path, value and
/// permissions, plus a fixed share for the bookkeeping around them.
pub fn node_cost(path: &str, node: &Node) -> usize {
    const OVERHEAD: usize = 64;
    path.len() + node.value.len() + node.perms.entries().len() * 8 + OVERHEAD
}

impl Node {
    /// A childless node.
    pub fn new(value: Vec<u8>, perms: PermList) -> Node {
        Node {
            value,
            perms,
            children: BTreeSet::new(),
            generation: 0,
        }
    }
}

/// Uniform node access for the request logic, implemented by the live tree and
/// by a transaction's private view of it.
pub(crate) trait Nodes {
    /// Looks a node up.
    fn node(&mut self, path: &str) -> Option<&Node>;
    /// Adds `name` to the children of `parent` (if it exists).
    fn add_child(&mut self, parent: &str, name: &str);
    /// Removes `name` from the children of `parent`.
    fn remove_child(&mut self, parent: &str, name: &str);
    /// Adds a node that does not exist yet (the caller links it into its parent).
    fn insert(&mut self, path: &str, node: Node);
    /// Removes one node (the caller handles descendants and the parent's child set).
    fn delete(&mut self, path: &str);
    /// Replaces a node's permissions, keeping per-domain node counts right.
    fn set_perms(&mut self, path: &str, perms: PermList);
    /// Replaces a node's value, keeping per-domain byte counts right.
    fn set_value(&mut self, path: &str, value: Vec<u8>);
    /// How many nodes `domid` owns.
    fn owned(&self, domid: u32) -> usize;
    /// How many bytes (see [`node_cost`]) the nodes of `domid` take.
    fn owned_bytes(&self, domid: u32) -> usize;
}

/// The live tree, keyed by absolute path.
#[derive(Debug, Clone)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
    next_gen: u64,
    owned: BTreeMap<u32, usize>,
    bytes: BTreeMap<u32, usize>,
    dirty: Option<BTreeSet<String>>,
    undo: Option<Vec<Undo>>,
    last_undo: Vec<Undo>,
}

/// How to take back one change to the tree (moved-out old state, never a
/// copy: recording costs no more than the change itself).
#[derive(Debug, Clone)]
enum Undo {
    /// The node at the path was this (or absent).
    Node(String, Option<Node>),
    /// The node's value and generation were these.
    Value(String, Vec<u8>, u64),
    /// A child name was added (`true`) or removed; the parent's generation was this.
    Child(String, String, bool, u64),
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

impl Tree {
    /// A tree holding only the root, owned by dom0 with no access for others.
    pub fn new() -> Tree {
        let mut t = Tree {
            nodes: BTreeMap::new(),
            next_gen: 1,
            owned: BTreeMap::new(),
            bytes: BTreeMap::new(),
            dirty: None,
            undo: None,
            last_undo: Vec::new(),
        };
        t.raw_insert(
            "/",
            Node::new(Vec::new(), PermList::owned_by(0, Access::None)),
        );
        t
    }

    /// Starts recording which paths change (for the write-ahead log), and
    /// how to take the changes back ([`rollback`](Self::rollback)).
    pub fn track_changes(&mut self) {
        if self.dirty.is_none() {
            self.dirty = Some(BTreeSet::new());
            self.undo = Some(Vec::new());
        }
    }

    /// Takes the paths changed since the last call; from here on, only
    /// these and later changes can be rolled back.
    pub fn take_dirty(&mut self) -> BTreeSet<String> {
        if let Some(u) = &mut self.undo {
            self.last_undo = core::mem::take(u);
        }
        match &mut self.dirty {
            Some(d) => core::mem::take(d),
            None => BTreeSet::new(),
        }
    }

    /// Takes back the changes the last [`take_dirty`](Self::take_dirty)
    /// returned and any since, generations included (as if they never
    /// happened).
    pub fn rollback(&mut self) {
        let Some(mut undo) = self.undo.take() else {
            return;
        };
        let last = core::mem::take(&mut self.last_undo);
        undo.splice(0..0, last);
        for u in undo.into_iter().rev() {
            match u {
                Undo::Node(path, old) => {
                    if let Some(cur) = self.nodes.remove(&path) {
                        self.count(&path, &cur, -1);
                    }
                    if let Some(old) = old {
                        self.count(&path, &old, 1);
                        self.nodes.insert(path, old);
                    }
                }
                Undo::Value(path, value, gen) => {
                    if let Some(n) = self.nodes.get_mut(&path) {
                        let delta = value.len() as isize - n.value.len() as isize;
                        let owner = n.perms.owner();
                        n.value = value;
                        n.generation = gen;
                        add(&mut self.bytes, owner, delta);
                    }
                }
                Undo::Child(parent, name, added, gen) => {
                    if let Some(n) = self.nodes.get_mut(&parent) {
                        if added {
                            n.children.remove(&name);
                        } else {
                            n.children.insert(name);
                        }
                        n.generation = gen;
                    }
                }
            }
        }
        self.undo = Some(Vec::new());
        if let Some(d) = &mut self.dirty {
            d.clear();
        }
    }

    fn record(&mut self, u: impl FnOnce() -> Undo) {
        if let Some(list) = &mut self.undo {
            list.push(u());
        }
    }

    /// Looks a node up without side effects.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Number of nodes, root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: the root exists.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// All nodes in path order (parents before children).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.nodes.iter()
    }

    /// How many nodes `domid` owns.
    pub fn owned_by(&self, domid: u32) -> usize {
        self.owned.get(&domid).copied().unwrap_or(0)
    }

    /// How many bytes the nodes of `domid` take (see [`node_cost`]).
    pub fn bytes_of(&self, domid: u32) -> usize {
        self.bytes.get(&domid).copied().unwrap_or(0)
    }

    fn bump(&mut self) -> u64 {
        let g = self.next_gen;
        self.next_gen += 1;
        g
    }

    fn mark(&mut self, path: &str) {
        if let Some(d) = &mut self.dirty {
            d.insert(String::from(path));
        }
    }

    /// Counts a node in (`sign` 1) or out (-1) of its owner's totals.
    fn count(&mut self, path: &str, node: &Node, sign: isize) {
        let owner = node.perms.owner();
        add(&mut self.owned, owner, sign);
        let cost = node_cost(path, node) as isize;
        add(&mut self.bytes, owner, sign * cost);
    }

    fn raw_insert(&mut self, path: &str, mut node: Node) {
        node.generation = self.bump();
        self.count(path, &node, 1);
        let old = self.nodes.insert(String::from(path), node);
        if let Some(old) = &old {
            self.count(path, old, -1);
        }
        self.record(|| Undo::Node(String::from(path), old));
        self.mark(path);
    }

    fn raw_remove(&mut self, path: &str) {
        let Some(old) = self.nodes.remove(path) else {
            return;
        };
        self.count(path, &old, -1);
        self.record(|| Undo::Node(String::from(path), Some(old)));
        self.mark(path);
    }

    /// Changes the children of `parent`, bumping its generation.
    fn child(&mut self, parent: &str, name: &str, add: bool) {
        let g = self.next_gen;
        let Some(n) = self.nodes.get_mut(parent) else {
            return;
        };
        let changed = if add {
            n.children.insert(String::from(name))
        } else {
            n.children.remove(name)
        };
        if !changed {
            return;
        }
        let old_gen = core::mem::replace(&mut n.generation, g);
        self.next_gen += 1;
        self.record(|| Undo::Child(String::from(parent), String::from(name), add, old_gen));
        self.mark(parent);
    }

    /// Stores `node` at `path` as-is (children included), replacing any node there.
    /// Used when a transaction commits.
    pub(crate) fn put(&mut self, path: &str, node: Node) {
        self.raw_insert(path, node);
    }

    /// Restores a node from a snapshot or log: replaces its value and
    /// permissions, keeps its children, links it into an existing parent.
    pub fn restore(&mut self, path: &str, value: Vec<u8>, perms: PermList) {
        let children = self
            .nodes
            .get(path)
            .map(|n| n.children.clone())
            .unwrap_or_default();
        let mut node = Node::new(value, perms);
        node.children = children;
        self.raw_insert(path, node);
        if let Some(p) = path::parent(path) {
            let name = String::from(path::basename(path));
            if let Some(parent) = self.nodes.get_mut(p) {
                parent.children.insert(name);
            }
        }
    }

    /// Removes a node and everything below it (for log replay).
    pub fn remove_subtree(&mut self, path: &str) {
        if path == "/" {
            return;
        }
        let doomed: Vec<String> = self
            .nodes
            .range::<str, _>((
                core::ops::Bound::Included(path),
                core::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(path))
            .filter(|(k, _)| path::is_at_or_below(k, path))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.raw_remove(&k);
        }
        if let Some(p) = path::parent(path) {
            if let Some(parent) = self.nodes.get_mut(p) {
                parent.children.remove(path::basename(path));
            }
        }
    }
}

impl Nodes for Tree {
    fn node(&mut self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    fn add_child(&mut self, parent: &str, name: &str) {
        self.child(parent, name, true);
    }

    fn remove_child(&mut self, parent: &str, name: &str) {
        self.child(parent, name, false);
    }

    fn insert(&mut self, path: &str, node: Node) {
        self.raw_insert(path, node);
    }

    fn delete(&mut self, path: &str) {
        self.raw_remove(path);
    }

    fn set_perms(&mut self, path: &str, perms: PermList) {
        if let Some(mut n) = self.nodes.get(path).cloned() {
            n.perms = perms;
            self.raw_insert(path, n);
        }
    }

    fn set_value(&mut self, path: &str, value: Vec<u8>) {
        let g = self.next_gen;
        let Some(n) = self.nodes.get_mut(path) else {
            return;
        };
        let delta = value.len() as isize - n.value.len() as isize;
        let owner = n.perms.owner();
        let old = core::mem::replace(&mut n.value, value);
        let old_gen = core::mem::replace(&mut n.generation, g);
        self.next_gen += 1;
        add(&mut self.bytes, owner, delta);
        self.record(|| Undo::Value(String::from(path), old, old_gen));
        self.mark(path);
    }

    fn owned(&self, domid: u32) -> usize {
        self.owned_by(domid)
    }

    fn owned_bytes(&self, domid: u32) -> usize {
        self.bytes_of(domid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(owner: u32) -> PermList {
        PermList::owned_by(owner, Access::None)
    }

    #[test]
    fn generations_and_counts() {
        let mut t = Tree::new();
        t.insert("/a", Node::new(b"x".to_vec(), perms(3)));
        t.add_child("/", "a");
        let g1 = t.get("/a").unwrap().generation;
        t.set_value("/a", b"y".to_vec());
        assert!(t.get("/a").unwrap().generation > g1);
        assert_eq!(t.owned_by(3), 1);
        t.set_perms("/a", perms(4));
        assert_eq!(t.owned_by(3), 0);
        assert_eq!(t.owned_by(4), 1);
        t.delete("/a");
        assert_eq!(t.owned_by(4), 0);
    }

    #[test]
    fn restore_and_remove_subtree() {
        let mut t = Tree::new();
        t.track_changes();
        t.restore("/a", Vec::new(), perms(0));
        t.restore("/a/b", b"1".to_vec(), perms(0));
        t.restore("/ab", Vec::new(), perms(0));
        assert!(t.get("/a").unwrap().children.contains("b"));
        t.remove_subtree("/a");
        assert!(t.get("/a/b").is_none());
        assert!(t.get("/ab").is_some());
        assert!(!t.get("/").unwrap().children.contains("a"));
        let d = t.take_dirty();
        assert!(d.contains("/a/b"));
    }
}

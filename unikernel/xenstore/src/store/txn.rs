//! Transactions: a private copy-on-access view with per-node conflict detection.
//!
//! Like current cxenstored and oxenstored, only nodes the transaction read or
//! wrote count: each node's generation is noted on first access and checked
//! again at commit; any difference means `EAGAIN`.

use super::tree::{Node, Nodes, Tree};
use super::watch::Event;
use super::ConnId;
use crate::wire::PermList;
use crate::Errno;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// An open transaction.
#[derive(Debug, Clone)]
pub struct Txn {
    /// The connection that started it.
    pub conn: ConnId,
    overlay: BTreeMap<String, Option<Node>>,
    seen: BTreeMap<String, Option<u64>>,
    owned_delta: BTreeMap<u32, isize>,
    /// Events to fire when it commits.
    pub(crate) events: Vec<Event>,
}

impl Txn {
    /// An empty transaction of `conn`.
    pub fn new(conn: ConnId) -> Txn {
        Txn {
            conn,
            overlay: BTreeMap::new(),
            seen: BTreeMap::new(),
            owned_delta: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    /// Applies the transaction to `tree`, or `EAGAIN` if a node it used changed.
    pub(crate) fn commit(self, tree: &mut Tree) -> Result<Vec<Event>, Errno> {
        for (path, gen) in &self.seen {
            if tree.get(path).map(|n| n.generation) != *gen {
                return Err(Errno::EAGAIN);
            }
        }
        for (path, node) in self.overlay {
            match node {
                Some(n) => tree.put(&path, n),
                None => {
                    super::tree::Nodes::delete(tree, &path);
                }
            }
        }
        Ok(self.events)
    }
}

/// A transaction's view: reads fall through to the tree, writes stay private.
pub(crate) struct TxnView<'a> {
    pub tree: &'a Tree,
    pub txn: &'a mut Txn,
}

impl TxnView<'_> {
    fn note(&mut self, path: &str) {
        if !self.txn.seen.contains_key(path) && !self.txn.overlay.contains_key(path) {
            let gen = self.tree.get(path).map(|n| n.generation);
            self.txn.seen.insert(String::from(path), gen);
        }
    }

    fn current(&self, path: &str) -> Option<&Node> {
        match self.txn.overlay.get(path) {
            Some(n) => n.as_ref(),
            None => self.tree.get(path),
        }
    }

    fn adjust(&mut self, domid: u32, delta: isize) {
        *self.txn.owned_delta.entry(domid).or_insert(0) += delta;
    }
}

impl Nodes for TxnView<'_> {
    fn node(&mut self, path: &str) -> Option<&Node> {
        self.note(path);
        self.current(path)
    }

    fn node_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.note(path);
        if !self.txn.overlay.contains_key(path) {
            let copy = self.tree.get(path)?.clone();
            self.txn.overlay.insert(String::from(path), Some(copy));
        }
        self.txn.overlay.get_mut(path)?.as_mut()
    }

    fn insert(&mut self, path: &str, node: Node) {
        self.note(path);
        if let Some(old) = self.current(path).map(|n| n.perms.owner()) {
            self.adjust(old, -1);
        }
        self.adjust(node.perms.owner(), 1);
        self.txn.overlay.insert(String::from(path), Some(node));
    }

    fn delete(&mut self, path: &str) {
        self.note(path);
        if let Some(old) = self.current(path).map(|n| n.perms.owner()) {
            self.adjust(old, -1);
        }
        self.txn.overlay.insert(String::from(path), None);
    }

    fn set_perms(&mut self, path: &str, perms: PermList) {
        let old = match self.node(path) {
            Some(n) => n.perms.owner(),
            None => return,
        };
        let new = perms.owner();
        if let Some(n) = self.node_mut(path) {
            n.perms = perms;
        }
        self.adjust(old, -1);
        self.adjust(new, 1);
    }

    fn owned(&self, domid: u32) -> usize {
        let base = self.tree.owned_by(domid);
        let d = self.txn.owned_delta.get(&domid).copied().unwrap_or(0);
        base.saturating_add_signed(d)
    }
}

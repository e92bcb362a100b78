//! Transactions: a private copy-on-access view with per-node conflict detection.
//!
//! Like current cxenstored and oxenstored, only nodes the transaction read or
//! wrote count: each node's generation is noted on first access and checked
//! again at commit; any difference means `EAGAIN`. Every path noted, a
//! failed read's too, counts towards the transaction's size quota and its
//! domain's memory: a transaction that outgrows either fails for good.

use super::quota::Quota;
use super::tree::{node_cost, Node, Nodes, Tree};
use super::watch::Event;
use super::ConnId;
use crate::wire::PermList;
use crate::Errno;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// What an open transaction costs its domain before it touches anything.
pub(crate) const TXN_BASE_COST: usize = 256;
/// What noting one path costs besides the path itself.
const SEEN_COST: usize = 32;

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
    /// Bytes it holds, counted in its domain's memory.
    pub(crate) bytes: usize,
    /// Why it can no longer commit (timed out, outgrew a quota).
    pub(crate) failed: Option<Errno>,
    /// When it times out (the store's clock, milliseconds).
    pub(crate) deadline: u64,
}

impl Txn {
    /// An empty transaction of `conn`, timing out at `deadline`.
    pub fn new(conn: ConnId, deadline: u64) -> Txn {
        Txn {
            conn,
            overlay: BTreeMap::new(),
            seen: BTreeMap::new(),
            owned_delta: BTreeMap::new(),
            events: Vec::new(),
            bytes: TXN_BASE_COST,
            failed: None,
            deadline,
        }
    }

    /// Ends the transaction's use: it keeps only the errno its commit
    /// gets, and frees everything else.
    pub(crate) fn fail(&mut self, e: Errno) {
        self.failed = Some(e);
        self.overlay = BTreeMap::new();
        self.seen = BTreeMap::new();
        self.owned_delta = BTreeMap::new();
        self.events = Vec::new();
        self.bytes = TXN_BASE_COST;
    }

    /// Applies the transaction to `tree`: `EAGAIN` if a node it used
    /// changed; `ENOSPC` or `ENOMEM` if the result would take a domain
    /// over `q` (quotas hold at commit as they do outside transactions:
    /// ten transactions cannot each fill a domain's node quota), where
    /// `extra` gives the bytes a domain holds outside its nodes.
    pub(crate) fn commit(
        self,
        tree: &mut Tree,
        q: &Quota,
        extra: impl Fn(u32) -> usize,
    ) -> Result<Vec<Event>, Errno> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        for (path, gen) in &self.seen {
            if tree.get(path).map(|n| n.generation) != *gen {
                return Err(Errno::EAGAIN);
            }
        }
        let mut nodes: BTreeMap<u32, isize> = BTreeMap::new();
        let mut bytes: BTreeMap<u32, isize> = BTreeMap::new();
        for (path, new) in &self.overlay {
            let old = tree.get(path);
            for (n, sign) in [(old, -1), (new.as_ref(), 1)] {
                if let Some(n) = n {
                    *nodes.entry(n.perms.owner()).or_insert(0) += sign;
                    *bytes.entry(n.perms.owner()).or_insert(0) +=
                        sign * node_cost(path, n) as isize;
                }
            }
        }
        for (&d, &dn) in &nodes {
            if dn > 0 && tree.owned_by(d) + dn as usize > q.max_nodes {
                return Err(Errno::ENOSPC);
            }
        }
        for (&d, &db) in &bytes {
            if db > 0 && tree.bytes_of(d) + extra(d) + db as usize > q.max_memory {
                return Err(Errno::ENOMEM);
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
    /// Paths the transaction may touch in all.
    pub max_paths: usize,
    /// Bytes the transaction may still grow by (its domain's memory left).
    pub mem_left: usize,
}

impl TxnView<'_> {
    /// Charges `cost` bytes; on overrun fails the transaction.
    fn charge(&mut self, cost: usize) -> bool {
        if self.txn.failed.is_some() {
            return false;
        }
        if cost > self.mem_left {
            self.txn.fail(Errno::ENOMEM);
            return false;
        }
        self.mem_left -= cost;
        self.txn.bytes += cost;
        true
    }

    /// Notes `path`'s generation on first access; `false` if the
    /// transaction has failed (now or before).
    fn note(&mut self, path: &str) -> bool {
        if self.txn.failed.is_some() {
            return false;
        }
        if self.txn.seen.contains_key(path) {
            return true;
        }
        if self.txn.seen.len() >= self.max_paths {
            self.txn.fail(Errno::ENOSPC);
            return false;
        }
        if !self.charge(path.len() + SEEN_COST) {
            return false;
        }
        let gen = self.tree.get(path).map(|n| n.generation);
        self.txn.seen.insert(String::from(path), gen);
        true
    }

    fn node_mut(&mut self, path: &str) -> Option<&mut Node> {
        if !self.note(path) || !self.copy(path) {
            return None;
        }
        self.txn.overlay.get_mut(path)?.as_mut()
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

    /// Puts a private copy of `path` into the overlay (once).
    fn copy(&mut self, path: &str) -> bool {
        if self.txn.overlay.contains_key(path) {
            return true;
        }
        let Some(n) = self.tree.get(path) else {
            return false;
        };
        let cost = node_cost(path, n) + n.children.iter().map(|c| c.len() + 32).sum::<usize>();
        if !self.charge(cost) {
            return false;
        }
        let copy = n.clone();
        self.txn.overlay.insert(String::from(path), Some(copy));
        true
    }
}

impl Nodes for TxnView<'_> {
    fn node(&mut self, path: &str) -> Option<&Node> {
        if !self.note(path) {
            return None;
        }
        self.current(path)
    }

    fn add_child(&mut self, parent: &str, name: &str) {
        if let Some(n) = self.node_mut(parent) {
            n.children.insert(String::from(name));
        }
    }

    fn remove_child(&mut self, parent: &str, name: &str) {
        if let Some(n) = self.node_mut(parent) {
            n.children.remove(name);
        }
    }

    fn insert(&mut self, path: &str, node: Node) {
        if !self.note(path) || !self.charge(node_cost(path, &node)) {
            return;
        }
        if let Some(old) = self.current(path).map(|n| n.perms.owner()) {
            self.adjust(old, -1);
        }
        self.adjust(node.perms.owner(), 1);
        self.txn.overlay.insert(String::from(path), Some(node));
    }

    fn delete(&mut self, path: &str) {
        if !self.note(path) {
            return;
        }
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
            self.adjust(old, -1);
            self.adjust(new, 1);
        }
    }

    fn set_value(&mut self, path: &str, value: Vec<u8>) {
        let old = match self.node(path) {
            Some(n) => n.value.len(),
            None => return,
        };
        if value.len() > old && !self.charge(value.len() - old) {
            return;
        }
        if let Some(n) = self.node_mut(path) {
            n.value = value;
        }
    }

    fn owned(&self, domid: u32) -> usize {
        let base = self.tree.owned_by(domid);
        let d = self.txn.owned_delta.get(&domid).copied().unwrap_or(0);
        base.saturating_add_signed(d)
    }

    fn owned_bytes(&self, domid: u32) -> usize {
        self.tree.bytes_of(domid)
    }
}

//! The store a server serves: tree, permissions, watches, transactions,
//! domains and quotas, driven one request at a time.
//!
//! It does no I/O: [`Store::handle`] takes a decoded request from a connection
//! and appends the reply and any watch events (for any connection) to a list
//! the server then delivers, reply first.

mod domain;
mod journal;
mod ops;
mod perms;
mod quota;
mod tree;
mod txn;
mod watch;

pub use domain::Domain;
pub use journal::Change;
pub use perms::Caller;
pub use quota::Quota;
pub use tree::{Node, Tree};
pub use watch::{Event, Watch};

use crate::path;
use crate::wire::{
    join_strings, nul_terminated, split_args, Message, MsgType, PermList, PAYLOAD_MAX,
};
use crate::Errno;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use tree::Nodes;
use txn::{Txn, TxnView};
use watch::Watches;

/// Identifies a connection to the store.
pub type ConnId = u32;

/// A message to deliver to a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The destination.
    pub conn: ConnId,
    /// The message.
    pub msg: Message,
}

#[derive(Debug, Clone, Copy)]
struct Conn {
    domid: u32,
    privileged: bool,
}

/// What a domain holds besides its nodes (those the tree counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Watches it holds.
    pub watches: usize,
    /// Transactions it has open (timed-out ones until they are ended).
    pub transactions: usize,
    /// Bytes of its watches and open transactions.
    pub bytes: usize,
}

/// The whole store.
#[derive(Debug, Clone)]
pub struct Store {
    tree: Tree,
    quota: Quota,
    dom0_quota: Quota,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: ConnId,
    watches: Watches,
    txns: BTreeMap<u32, Txn>,
    conn_txns: BTreeSet<(ConnId, u32)>,
    deadlines: BTreeSet<(u64, u32)>,
    now: u64,
    next_txn: u32,
    usage: BTreeMap<u32, Usage>,
    domains: BTreeMap<u32, Domain>,
    journal: Option<Vec<Change>>,
    /// How to take back domain records since the last `take_changes`
    /// (the domain as it was, `None` if it was new), and those it returned.
    domain_undo: Vec<(u32, Option<Domain>)>,
    last_domain_undo: Vec<(u32, Option<Domain>)>,
    released: Vec<u32>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new(Quota::default())
    }
}

fn grow(u: &mut usize, delta: isize) {
    *u = u.saturating_add_signed(delta);
}

fn parse_u64(b: &[u8]) -> Result<u64, Errno> {
    if b.is_empty() || b.len() > 20 || !b.iter().all(u8::is_ascii_digit) {
        return Err(Errno::EINVAL);
    }
    b.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)
            .and_then(|a| a.checked_add(u64::from(d - b'0')))
            .ok_or(Errno::EINVAL)
    })
}

fn parse_domid(b: &[u8]) -> Result<u32, Errno> {
    match parse_u64(b)? {
        v if v <= 0xffff => Ok(v as u32),
        _ => Err(Errno::EINVAL),
    }
}

fn utf8(b: &[u8]) -> Result<&str, Errno> {
    core::str::from_utf8(b).map_err(|_| Errno::EINVAL)
}

/// Watch events produced while handling one request.
#[derive(Default)]
struct Effects {
    events: Vec<Event>,
    after_reply: Vec<Outgoing>,
}

impl Store {
    /// An empty store (just the root) holding guests to `quota` and dom0
    /// to [`Quota::privileged`].
    pub fn new(quota: Quota) -> Store {
        Store::with_quotas(quota, Quota::privileged())
    }

    /// An empty store holding guests to `guest` and dom0 to `dom0`.
    pub fn with_quotas(guest: Quota, dom0: Quota) -> Store {
        Store {
            tree: Tree::new(),
            quota: guest,
            dom0_quota: dom0,
            conns: BTreeMap::new(),
            next_conn: 1,
            watches: Watches::default(),
            txns: BTreeMap::new(),
            conn_txns: BTreeSet::new(),
            deadlines: BTreeSet::new(),
            now: 0,
            next_txn: 1,
            usage: BTreeMap::new(),
            domains: BTreeMap::new(),
            journal: None,
            domain_undo: Vec::new(),
            last_domain_undo: Vec::new(),
            released: Vec::new(),
        }
    }

    /// The guests' quotas.
    pub fn quota(&self) -> &Quota {
        &self.quota
    }

    /// Dom0's quotas.
    pub fn privileged_quota(&self) -> &Quota {
        &self.dom0_quota
    }

    fn quota_of(&self, c: &Caller) -> Quota {
        if c.privileged {
            self.dom0_quota
        } else {
            self.quota
        }
    }

    /// What `domid` holds besides its nodes.
    pub fn usage(&self, domid: u32) -> Usage {
        self.usage.get(&domid).copied().unwrap_or_default()
    }

    /// Bytes `domid` holds: its nodes, watches and open transactions.
    pub fn memory_of(&self, domid: u32) -> usize {
        self.tree.bytes_of(domid) + self.usage(domid).bytes
    }

    fn usage_mut(&mut self, domid: u32) -> &mut Usage {
        self.usage.entry(domid).or_default()
    }

    fn tidy_usage(&mut self, domid: u32) {
        if self.usage.get(&domid) == Some(&Usage::default()) {
            self.usage.remove(&domid);
        }
    }

    /// Advances the store's clock (milliseconds, from any fixed origin) and
    /// ends the transactions that timed out: they free what they held and
    /// their commit gets `EAGAIN`, so the client retries afresh.
    pub fn set_time(&mut self, now_ms: u64) {
        self.now = self.now.max(now_ms);
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > self.now {
                break;
            }
            self.deadlines.pop_first();
            let Some(t) = self.txns.get_mut(&id) else {
                continue;
            };
            let freed = t.bytes as isize - txn::TXN_BASE_COST as isize;
            t.fail(Errno::EAGAIN);
            let conn = t.conn;
            if let Some(d) = self.conns.get(&conn).map(|c| c.domid) {
                grow(&mut self.usage_mut(d).bytes, -freed);
            }
        }
    }

    /// The tree (read-only).
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// Opens a connection acting as `domid`; dom0 connections are privileged.
    pub fn connect(&mut self, domid: u32) -> ConnId {
        let id = self.next_conn;
        self.next_conn = self.next_conn.wrapping_add(1).max(1);
        self.conns.insert(
            id,
            Conn {
                domid,
                privileged: domid == 0,
            },
        );
        id
    }

    /// Closes a connection: its watches and open transactions go away.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.drop_conn_state(conn);
        self.conns.remove(&conn);
    }

    /// Removes the watches and transactions of `conn`.
    fn drop_conn_state(&mut self, conn: ConnId) {
        let Some(domid) = self.conns.get(&conn).map(|c| c.domid) else {
            return;
        };
        for w in self.watches.remove_conn(conn) {
            let u = self.usage_mut(domid);
            u.watches -= 1;
            u.bytes -= w.cost();
        }
        let ids: Vec<u32> = self
            .conn_txns
            .range((conn, 0)..=(conn, u32::MAX))
            .map(|&(_, id)| id)
            .collect();
        for id in ids {
            self.end_txn(id);
        }
        self.tidy_usage(domid);
    }

    /// Forgets transaction `id`, returning it.
    fn end_txn(&mut self, id: u32) -> Option<Txn> {
        let t = self.txns.remove(&id)?;
        self.conn_txns.remove(&(t.conn, id));
        self.deadlines.remove(&(t.deadline, id));
        if let Some(d) = self.conns.get(&t.conn).map(|c| c.domid) {
            let u = self.usage_mut(d);
            u.transactions -= 1;
            u.bytes -= t.bytes;
        }
        Some(t)
    }

    /// The connections acting as `domid`.
    pub fn conns_of(&self, domid: u32) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| c.domid == domid)
            .map(|(&id, _)| id)
            .collect()
    }

    /// Domains released since the last call (their connections should be closed).
    pub fn take_released(&mut self) -> Vec<u32> {
        core::mem::take(&mut self.released)
    }

    /// The identity requests of `conn` are checked against.
    pub fn caller_of(&self, conn: ConnId) -> Option<Caller> {
        self.caller(conn)
    }

    fn caller(&self, conn: ConnId) -> Option<Caller> {
        let c = self.conns.get(&conn)?;
        Some(Caller {
            domid: c.domid,
            privileged: c.privileged,
            target: self.domains.get(&c.domid).and_then(|d| d.target),
        })
    }

    /// Handles one request from `conn`, appending the reply and then any
    /// watch events to `out`. Requests from unknown connections are ignored.
    pub fn handle(&mut self, conn: ConnId, msg: &Message, out: &mut Vec<Outgoing>) {
        let Some(caller) = self.caller(conn) else {
            return;
        };
        let mut fx = Effects::default();
        let reply = match self.dispatch(conn, &caller, msg, &mut fx) {
            Ok(payload) if payload.len() <= PAYLOAD_MAX => {
                Message::new(msg.ty, msg.req_id, msg.tx_id, payload)
            }
            Ok(_) => Message::error(msg.req_id, msg.tx_id, Errno::E2BIG),
            Err(e) => Message::error(msg.req_id, msg.tx_id, e),
        };
        out.push(Outgoing { conn, msg: reply });
        out.append(&mut fx.after_reply);
        for ev in &fx.events {
            self.fire(ev, out);
        }
    }

    fn fire(&self, ev: &Event, out: &mut Vec<Outgoing>) {
        for w in self.watches.candidates(ev) {
            let Some(p) = w.fires_for(ev) else { continue };
            let Some(c) = self.caller(w.conn) else {
                continue;
            };
            let visible = match &ev.perms {
                Some(perms) => c.access(perms).can_read(),
                None => c.privileged,
            };
            if !visible {
                continue;
            }
            let payload = join_strings(&[p.as_bytes(), &w.token]);
            if payload.len() <= PAYLOAD_MAX {
                out.push(Outgoing {
                    conn: w.conn,
                    msg: Message::new(MsgType::WatchEvent, 0, 0, payload),
                });
            }
        }
    }

    fn path_arg(c: &Caller, payload: &[u8]) -> Result<String, Errno> {
        let args = split_args(payload, 1).ok_or(Errno::EINVAL)?;
        path::canonicalize(c.domid, utf8(args[0])?)
    }

    /// Runs `f` on the tree or on the transaction `tx` of `conn`; events of a
    /// transaction are kept until it commits. A transaction that has
    /// failed (timed out, outgrown its quota) answers with its errno.
    fn with_nodes<R>(
        &mut self,
        conn: ConnId,
        c: &Caller,
        tx: u32,
        events: &mut Vec<Event>,
        f: impl FnOnce(&mut dyn Nodes, &mut Vec<Event>) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        if tx == 0 {
            return f(&mut self.tree, events);
        }
        let q = self.quota_of(c);
        let mem_left = q.max_memory.saturating_sub(self.memory_of(c.domid));
        let txn = self
            .txns
            .get_mut(&tx)
            .filter(|t| t.conn == conn)
            .ok_or(Errno::ENOENT)?;
        if let Some(e) = txn.failed {
            return Err(e);
        }
        let before = txn.bytes;
        let mut view = TxnView {
            tree: &self.tree,
            txn,
            max_paths: q.max_txn_paths,
            mem_left,
        };
        let mut evs = Vec::new();
        let r = f(&mut view, &mut evs);
        view.txn.events.append(&mut evs);
        let (after, failed) = (view.txn.bytes, view.txn.failed);
        grow(
            &mut self.usage_mut(c.domid).bytes,
            after as isize - before as isize,
        );
        match failed {
            Some(e) => Err(e),
            None => r,
        }
    }

    fn dispatch(
        &mut self,
        conn: ConnId,
        c: &Caller,
        msg: &Message,
        fx: &mut Effects,
    ) -> Result<Vec<u8>, Errno> {
        let p = &msg.payload[..];
        let tx = msg.tx_id;
        // Node operations see the memory the domain's watches and
        // transactions leave.
        let mut q = self.quota_of(c);
        q.max_memory = q.max_memory.saturating_sub(self.usage(c.domid).bytes);
        let ok = || Ok(nul_terminated("OK"));
        match msg.ty {
            MsgType::Read => {
                let path = Self::path_arg(c, p)?;
                self.with_nodes(conn, c, tx, &mut fx.events, |n, _| ops::read(n, c, &path))
            }
            MsgType::Directory => {
                let path = Self::path_arg(c, p)?;
                let (kids, _) = self.with_nodes(conn, c, tx, &mut fx.events, |n, _| {
                    ops::directory(n, c, &path)
                })?;
                let payload = join_strings(&kids);
                if payload.len() > PAYLOAD_MAX {
                    return Err(Errno::E2BIG);
                }
                Ok(payload)
            }
            MsgType::DirectoryPart => {
                let args = split_args(p, 2).ok_or(Errno::EINVAL)?;
                let path = path::canonicalize(c.domid, utf8(args[0])?)?;
                let offset = parse_u64(args[1])?;
                let (kids, gen) = self.with_nodes(conn, c, tx, &mut fx.events, |n, _| {
                    ops::directory(n, c, &path)
                })?;
                directory_part(&kids, gen, offset)
            }
            MsgType::GetPerms => {
                let path = Self::path_arg(c, p)?;
                let perms = self.with_nodes(conn, c, tx, &mut fx.events, |n, _| {
                    ops::get_perms(n, c, &path)
                })?;
                Ok(perms.to_payload())
            }
            MsgType::Write => {
                let i = p.iter().position(|&b| b == 0).ok_or(Errno::EINVAL)?;
                let path = path::canonicalize(c.domid, utf8(&p[..i])?)?;
                let value = &p[i + 1..];
                self.with_nodes(conn, c, tx, &mut fx.events, |n, ev| {
                    ops::write(n, c, &q, &path, value, ev)
                })?;
                ok()
            }
            MsgType::Mkdir => {
                let path = Self::path_arg(c, p)?;
                self.with_nodes(conn, c, tx, &mut fx.events, |n, ev| {
                    ops::mkdir(n, c, &q, &path, ev)
                })?;
                ok()
            }
            MsgType::Rm => {
                let path = Self::path_arg(c, p)?;
                self.with_nodes(conn, c, tx, &mut fx.events, |n, ev| {
                    ops::rm(n, c, &path, ev)
                })?;
                ok()
            }
            MsgType::SetPerms => {
                let body = p.strip_suffix(&[0]).ok_or(Errno::EINVAL)?;
                let mut parts = body.split(|&b| b == 0);
                let path = path::canonicalize(c.domid, utf8(parts.next().unwrap_or(&[]))?)?;
                let perms = PermList::parse_list(parts).ok_or(Errno::EINVAL)?;
                self.with_nodes(conn, c, tx, &mut fx.events, |n, ev| {
                    ops::set_perms(n, c, &q, &path, perms, ev)
                })?;
                ok()
            }
            MsgType::Watch => self.watch(conn, c, p, fx),
            MsgType::Unwatch => {
                let args = split_args(p, 2).ok_or(Errno::EINVAL)?;
                let (abs, _) = watch_path(c, utf8(args[0])?)?;
                let w = self
                    .watches
                    .remove(conn, &abs, args[1])
                    .ok_or(Errno::ENOENT)?;
                let u = self.usage_mut(c.domid);
                u.watches -= 1;
                u.bytes -= w.cost();
                self.tidy_usage(c.domid);
                ok()
            }
            MsgType::TransactionStart => {
                if tx != 0 {
                    return Err(Errno::EBUSY);
                }
                if self.usage(c.domid).transactions >= q.max_transactions {
                    return Err(Errno::ENOSPC);
                }
                if self.memory_of(c.domid) + txn::TXN_BASE_COST > self.quota_of(c).max_memory {
                    return Err(Errno::ENOMEM);
                }
                let id = self.alloc_txn_id();
                let deadline = self.now.saturating_add(q.txn_timeout_ms);
                let t = Txn::new(conn, deadline);
                let u = self.usage_mut(c.domid);
                u.transactions += 1;
                u.bytes += t.bytes;
                self.txns.insert(id, t);
                self.conn_txns.insert((conn, id));
                self.deadlines.insert((deadline, id));
                Ok(nul_terminated(&format!("{id}")))
            }
            MsgType::TransactionEnd => {
                let args = split_args(p, 1).ok_or(Errno::EINVAL)?;
                let commit = match args[0] {
                    b"T" => true,
                    b"F" => false,
                    _ => return Err(Errno::EINVAL),
                };
                match self.txns.get(&tx) {
                    Some(t) if t.conn == conn => {}
                    _ => return Err(Errno::ENOENT),
                }
                let txn = self.end_txn(tx).ok_or(Errno::ENOENT)?;
                self.tidy_usage(c.domid);
                if commit {
                    let limits = self.quota_of(c);
                    let (domid, extra) = (c.domid, self.usage(c.domid).bytes);
                    let extra = |d: u32| if d == domid { extra } else { 0 };
                    let mut events = txn.commit(&mut self.tree, &limits, extra)?;
                    fx.events.append(&mut events);
                }
                ok()
            }
            MsgType::GetDomainPath => {
                let args = split_args(p, 1).ok_or(Errno::EINVAL)?;
                let domid = parse_domid(args[0])?;
                Ok(nul_terminated(&path::domain_path(domid)))
            }
            MsgType::IsDomainIntroduced => {
                let args = split_args(p, 1).ok_or(Errno::EINVAL)?;
                let domid = parse_domid(args[0])?;
                let yes = domid == 0 || self.domains.contains_key(&domid);
                Ok(nul_terminated(if yes { "T" } else { "F" }))
            }
            MsgType::Introduce => {
                if !c.privileged {
                    return Err(Errno::EACCES);
                }
                let args = split_args(p, 3).ok_or(Errno::EINVAL)?;
                let domid = parse_domid(args[0])?;
                let mfn = parse_u64(args[1])?;
                let evtchn = parse_u64(args[2])?;
                let evtchn = u32::try_from(evtchn).map_err(|_| Errno::EINVAL)?;
                self.introduce_inner(domid, mfn, evtchn, &mut fx.events)?;
                ok()
            }
            MsgType::Release => {
                if !c.privileged {
                    return Err(Errno::EACCES);
                }
                let args = split_args(p, 1).ok_or(Errno::EINVAL)?;
                let domid = parse_domid(args[0])?;
                self.release_inner(domid, &mut fx.events)?;
                ok()
            }
            MsgType::Resume => {
                if !c.privileged {
                    return Err(Errno::EACCES);
                }
                let args = split_args(p, 1).ok_or(Errno::EINVAL)?;
                let domid = parse_domid(args[0])?;
                if self.domains.contains_key(&domid) {
                    ok()
                } else {
                    Err(Errno::ENOENT)
                }
            }
            MsgType::SetTarget => {
                if !c.privileged {
                    return Err(Errno::EACCES);
                }
                let args = split_args(p, 2).ok_or(Errno::EINVAL)?;
                let domid = parse_domid(args[0])?;
                let target = parse_domid(args[1])?;
                let d = self.domains.get_mut(&domid).ok_or(Errno::ENOENT)?;
                d.target = Some(target);
                ok()
            }
            MsgType::ResetWatches => {
                self.drop_conn_state(conn);
                ok()
            }
            MsgType::Control => {
                if !c.privileged {
                    return Err(Errno::EACCES);
                }
                let cmd = p.split(|&b| b == 0).next().unwrap_or(&[]);
                match cmd {
                    b"print" => ok(),
                    _ => Err(Errno::EINVAL),
                }
            }
            MsgType::WatchEvent | MsgType::Error | MsgType::Invalid | MsgType::Unknown(_) => {
                Err(Errno::EINVAL)
            }
        }
    }

    fn watch(
        &mut self,
        conn: ConnId,
        c: &Caller,
        p: &[u8],
        fx: &mut Effects,
    ) -> Result<Vec<u8>, Errno> {
        let args = split_args(p, 2).ok_or(Errno::EINVAL)?;
        let token = args[1];
        if token.len() > self.quota_of(c).max_token {
            return Err(Errno::EINVAL);
        }
        let (abs, relative_to) = watch_path(c, utf8(args[0])?)?;
        if self.watches.contains(conn, &abs, token) {
            return Err(Errno::EEXIST);
        }
        let q = self.quota_of(c);
        if self.usage(c.domid).watches >= q.max_watches {
            return Err(Errno::E2BIG);
        }
        let w = Watch {
            conn,
            path: abs,
            token: token.to_vec(),
            relative_to,
        };
        let cost = w.cost();
        if self.memory_of(c.domid) + cost > q.max_memory {
            return Err(Errno::ENOMEM);
        }
        let first = join_strings(&[w.client_path().as_bytes(), token]);
        if !self.watches.add(w) {
            return Err(Errno::EEXIST);
        }
        let u = self.usage_mut(c.domid);
        u.watches += 1;
        u.bytes += cost;
        fx.after_reply.push(Outgoing {
            conn,
            msg: Message::new(MsgType::WatchEvent, 0, 0, first),
        });
        Ok(nul_terminated("OK"))
    }

    fn alloc_txn_id(&mut self) -> u32 {
        loop {
            let id = self.next_txn;
            self.next_txn = self.next_txn.wrapping_add(1).max(1);
            if !self.txns.contains_key(&id) {
                return id;
            }
        }
    }
}

/// Splits a watch path into its absolute form and, for a relative one, the
/// prefix to strip from events.
fn watch_path(c: &Caller, p: &str) -> Result<(String, Option<String>), Errno> {
    if path::is_special(p) {
        path::check(p)?;
        return Ok((String::from(p), None));
    }
    let abs = path::canonicalize(c.domid, p)?;
    let rel = (!p.starts_with('/')).then(|| format!("{}/", path::domain_path(c.domid)));
    Ok((abs, rel))
}

/// One chunk of a `DIRECTORY_PART` reply: `gen|names...`, with an extra NUL
/// after the last chunk. Chunks break only between names.
fn directory_part(kids: &[String], gen: u64, offset: u64) -> Result<Vec<u8>, Errno> {
    let full = join_strings(kids);
    let offset = usize::try_from(offset).map_err(|_| Errno::EINVAL)?;
    if offset > full.len() || (offset > 0 && full[offset - 1] != 0) {
        return Err(Errno::EINVAL);
    }
    let mut out = nul_terminated(&format!("{gen}"));
    let budget = PAYLOAD_MAX - out.len() - 1;
    let rest = &full[offset..];
    let mut take = 0;
    for name in rest.split_inclusive(|&b| b == 0) {
        if take + name.len() > budget {
            break;
        }
        take += name.len();
    }
    if take == 0 && !rest.is_empty() {
        return Err(Errno::E2BIG);
    }
    out.extend_from_slice(&rest[..take]);
    if take == rest.len() {
        out.push(0);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

//! Domain bookkeeping: `INTRODUCE`, `RELEASE`, homes and durable state.

use super::journal::Change;
use super::ops;
use super::perms::Caller;
use super::watch::Event;
use super::{Outgoing, Store};
use crate::path;
use crate::wire::{Access, PermList};
use crate::Errno;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

/// What the store knows about an introduced domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Domain {
    /// The ring's frame number given at `INTRODUCE` (0 for socket guests).
    pub mfn: u64,
    /// The event channel given at `INTRODUCE` (0 for socket guests).
    pub evtchn: u32,
    /// The domain this one acts for (`SET_TARGET`).
    pub target: Option<u32>,
}

impl Store {
    pub(super) fn introduce_inner(
        &mut self,
        domid: u32,
        mfn: u64,
        evtchn: u32,
        events: &mut Vec<Event>,
    ) -> Result<(), Errno> {
        if domid == 0 {
            return Err(Errno::EINVAL);
        }
        if self.domains.contains_key(&domid) {
            return Ok(());
        }
        self.domains.insert(
            domid,
            Domain {
                mfn,
                evtchn,
                target: None,
            },
        );
        if let Some(j) = &mut self.journal {
            j.push(Change::Introduce { domid });
            self.domain_undo.push((domid, None));
        }
        events.push(Event::special(path::INTRODUCE_DOMAIN));
        Ok(())
    }

    pub(super) fn release_inner(
        &mut self,
        domid: u32,
        events: &mut Vec<Event>,
    ) -> Result<(), Errno> {
        if domid == 0 {
            return Err(Errno::EINVAL);
        }
        let old = self.domains.remove(&domid).ok_or(Errno::ENOENT)?;
        if let Some(j) = &mut self.journal {
            j.push(Change::Release { domid });
            self.domain_undo.push((domid, Some(old)));
        }
        self.released.push(domid);
        events.push(Event::special(path::RELEASE_DOMAIN));
        Ok(())
    }

    /// Introduces `domid` (as dom0's `INTRODUCE` would), firing `@introduceDomain`.
    /// Introducing a known domain again does nothing.
    pub fn introduce(&mut self, domid: u32, out: &mut Vec<Outgoing>) -> Result<(), Errno> {
        let mut ev = Vec::new();
        self.introduce_inner(domid, 0, 0, &mut ev)?;
        for e in &ev {
            self.fire(e, out);
        }
        Ok(())
    }

    /// Releases `domid`, firing `@releaseDomain`; its home stays for the toolstack to remove.
    pub fn release(&mut self, domid: u32, out: &mut Vec<Outgoing>) -> Result<(), Errno> {
        let mut ev = Vec::new();
        self.release_inner(domid, &mut ev)?;
        for e in &ev {
            self.fire(e, out);
        }
        Ok(())
    }

    /// Whether `domid` is introduced (dom0 always is).
    pub fn is_introduced(&self, domid: u32) -> bool {
        domid == 0 || self.domains.contains_key(&domid)
    }

    /// Creates `/local/domain/<domid>` owned by the domain (`n<domid>`) if it is missing.
    pub fn ensure_home(&mut self, domid: u32, out: &mut Vec<Outgoing>) -> Result<(), Errno> {
        let home = path::domain_path(domid);
        if self.tree.get(&home).is_some() {
            return Ok(());
        }
        let mut ev = Vec::new();
        let q = self.dom0_quota;
        ops::mkdir(&mut self.tree, &Caller::DOM0, &q, &home, &mut ev)?;
        let perms = PermList::owned_by(domid, Access::None);
        ops::set_perms(&mut self.tree, &Caller::DOM0, &q, &home, perms, &mut ev)?;
        for e in &ev {
            self.fire(e, out);
        }
        Ok(())
    }

    /// Records durable changes from now on (see [`take_changes`](Self::take_changes)).
    pub fn enable_journal(&mut self) {
        self.tree.track_changes();
        if self.journal.is_none() {
            self.journal = Some(Vec::new());
        }
    }

    /// Changes since the last call, in an order that replays correctly
    /// (domain records, then removals, then nodes parents-first). Until
    /// the next call, [`rollback`](Self::rollback) can take them back.
    pub fn take_changes(&mut self) -> Vec<Change> {
        self.last_domain_undo = core::mem::take(&mut self.domain_undo);
        let mut out = match &mut self.journal {
            Some(j) => core::mem::take(j),
            None => Vec::new(),
        };
        let dirty: BTreeSet<_> = self.tree.take_dirty();
        for p in &dirty {
            if self.tree.get(p).is_none() {
                out.push(Change::Del { path: p.clone() });
            }
        }
        for p in dirty {
            if let Some(n) = self.tree.get(&p) {
                let c = Change::Put {
                    value: n.value.clone(),
                    perms: n.perms.clone(),
                    path: p,
                };
                out.push(c);
            }
        }
        out
    }

    /// Takes back the durable changes the last [`take_changes`](Self::take_changes)
    /// returned (and any since): for when they could not be made durable.
    /// Watches and transactions are not touched; a released domain whose
    /// release is taken back keeps its connections.
    pub fn rollback(&mut self) {
        self.tree.rollback();
        let mut undo = core::mem::take(&mut self.last_domain_undo);
        undo.append(&mut self.domain_undo);
        for (domid, old) in undo.into_iter().rev() {
            match old {
                Some(d) => {
                    self.domains.insert(domid, d);
                    self.released.retain(|&r| r != domid);
                }
                None => {
                    self.domains.remove(&domid);
                }
            }
        }
        if let Some(j) = &mut self.journal {
            j.clear();
        }
    }

    /// Applies a change from a snapshot or log (no events, no permission checks).
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Put { path, value, perms } => {
                if path == "/" || path::parent(path).is_some_and(|p| self.tree.get(p).is_some()) {
                    self.tree.restore(path, value.clone(), perms.clone());
                }
            }
            Change::Del { path } => self.tree.remove_subtree(path),
            Change::Introduce { domid } => {
                self.domains.entry(*domid).or_default();
            }
            Change::Release { domid } => {
                self.domains.remove(domid);
            }
        }
    }

    /// The whole durable state as changes (nodes parents-first, then domains).
    pub fn snapshot(&self) -> Vec<Change> {
        let mut out: Vec<Change> = self
            .tree
            .iter()
            .map(|(p, n)| Change::Put {
                path: p.clone(),
                value: n.value.clone(),
                perms: n.perms.clone(),
            })
            .collect();
        out.extend(
            self.domains
                .keys()
                .map(|&domid| Change::Introduce { domid }),
        );
        out
    }
}

//! Xen's permission policy: who may read, write and re-own a node.

use crate::wire::{Access, PermList};

/// The identity a request is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The calling domain.
    pub domid: u32,
    /// dom0 (and the local privileged socket): full access everywhere.
    pub privileged: bool,
    /// A domain this one acts for (`SET_TARGET`), treated as if it were that domain's owner.
    pub target: Option<u32>,
}

impl Caller {
    /// The privileged caller (dom0).
    pub const DOM0: Caller = Caller {
        domid: 0,
        privileged: true,
        target: None,
    };

    /// An unprivileged guest domain.
    pub fn guest(domid: u32) -> Caller {
        Caller {
            domid,
            privileged: false,
            target: None,
        }
    }

    /// Whether the caller counts as the node's owner (owners may change perms).
    pub fn is_owner(&self, perms: &PermList) -> bool {
        self.privileged || perms.owner() == self.domid || self.target == Some(perms.owner())
    }

    /// The access the caller has to a node with these permissions.
    pub fn access(&self, perms: &PermList) -> Access {
        if self.is_owner(perms) {
            return Access::Both;
        }
        let own = perms.listed_access(self.domid);
        match self.target {
            Some(t) => union(own, perms.listed_access(t)),
            None => own,
        }
    }
}

fn union(a: Access, b: Access) -> Access {
    match (a.can_read() || b.can_read(), a.can_write() || b.can_write()) {
        (true, true) => Access::Both,
        (true, false) => Access::Read,
        (false, true) => Access::Write,
        (false, false) => Access::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&[u8]]) -> PermList {
        PermList::parse_list(items.iter().copied()).unwrap()
    }

    #[test]
    fn owner_default_exceptions() {
        let p = list(&[b"n0", b"r7"]);
        assert_eq!(Caller::guest(7).access(&p), Access::Read);
        assert_eq!(Caller::guest(8).access(&p), Access::None);
        assert_eq!(Caller::DOM0.access(&p), Access::Both);
        let p = list(&[b"r7"]);
        assert_eq!(Caller::guest(7).access(&p), Access::Both);
        assert_eq!(Caller::guest(9).access(&p), Access::Read);
        assert!(Caller::guest(7).is_owner(&p));
        assert!(!Caller::guest(9).is_owner(&p));
    }

    #[test]
    fn target_acts_as_owner() {
        let p = list(&[b"n5"]);
        let c = Caller {
            domid: 9,
            privileged: false,
            target: Some(5),
        };
        assert_eq!(c.access(&p), Access::Both);
        let p = list(&[b"n0", b"r5"]);
        assert_eq!(c.access(&p), Access::Read);
    }
}

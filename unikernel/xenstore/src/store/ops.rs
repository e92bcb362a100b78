//! Node operations, written once for the live tree and for transaction views.

use super::perms::Caller;
use super::quota::Quota;
use super::tree::{node_cost, Node, Nodes};
use super::watch::Event;
use crate::path;
use crate::wire::PermList;
use crate::Errno;
use alloc::string::String;
use alloc::vec::Vec;

fn readable<'n>(n: &'n mut (impl Nodes + ?Sized), c: &Caller, p: &str) -> Result<&'n Node, Errno> {
    let node = n.node(p).ok_or(Errno::ENOENT)?;
    if !c.access(&node.perms).can_read() {
        return Err(Errno::EACCES);
    }
    Ok(node)
}

/// `READ`: the value.
pub(crate) fn read(n: &mut (impl Nodes + ?Sized), c: &Caller, p: &str) -> Result<Vec<u8>, Errno> {
    Ok(readable(n, c, p)?.value.clone())
}

/// `DIRECTORY`: the children's names and the node's generation.
pub(crate) fn directory(
    n: &mut (impl Nodes + ?Sized),
    c: &Caller,
    p: &str,
) -> Result<(Vec<String>, u64), Errno> {
    let node = readable(n, c, p)?;
    Ok((node.children.iter().cloned().collect(), node.generation))
}

/// `GET_PERMS`: the permission list.
pub(crate) fn get_perms(
    n: &mut (impl Nodes + ?Sized),
    c: &Caller,
    p: &str,
) -> Result<PermList, Errno> {
    Ok(readable(n, c, p)?.perms.clone())
}

/// Creates `p` and any missing ancestors; the new nodes copy the permissions
/// of the nearest existing ancestor, re-owned by an unprivileged creator.
fn create(
    n: &mut (impl Nodes + ?Sized),
    c: &Caller,
    q: &Quota,
    p: &str,
    value: Vec<u8>,
) -> Result<PermList, Errno> {
    let mut missing: Vec<&str> = Vec::new();
    let mut cur = p;
    let base = loop {
        if let Some(node) = n.node(cur) {
            break node.perms.clone();
        }
        missing.push(cur);
        cur = path::parent(cur).ok_or(Errno::EINVAL)?;
    };
    if !c.access(&base).can_write() {
        return Err(Errno::EACCES);
    }
    let perms = if c.privileged {
        base
    } else {
        base.with_owner(c.domid)
    };
    let owner = perms.owner();
    if n.owned(owner) + missing.len() > q.max_nodes {
        return Err(Errno::ENOSPC);
    }
    let empty = Node::new(Vec::new(), perms.clone());
    let cost: usize = missing.iter().map(|m| node_cost(m, &empty)).sum::<usize>() + value.len();
    if n.owned_bytes(owner) + cost > q.max_memory {
        return Err(Errno::ENOMEM);
    }
    let mut value = Some(value);
    for &np in missing.iter().rev() {
        let v = if np == p {
            value.take().unwrap_or_default()
        } else {
            Vec::new()
        };
        n.insert(np, Node::new(v, perms.clone()));
        if let Some(parent) = path::parent(np) {
            n.add_child(parent, path::basename(np));
        }
    }
    Ok(perms)
}

/// `WRITE`: sets the value, creating the node and its parents if needed.
pub(crate) fn write(
    n: &mut (impl Nodes + ?Sized),
    c: &Caller,
    q: &Quota,
    p: &str,
    value: &[u8],
    events: &mut Vec<Event>,
) -> Result<(), Errno> {
    if value.len() > q.max_value_size {
        return Err(Errno::ENOSPC);
    }
    let perms = match n.node(p) {
        Some(node) => {
            let perms = node.perms.clone();
            if !c.access(&perms).can_write() {
                return Err(Errno::EACCES);
            }
            let growth = value.len().saturating_sub(node.value.len());
            if n.owned_bytes(perms.owner()) + growth > q.max_memory {
                return Err(Errno::ENOMEM);
            }
            n.set_value(p, value.to_vec());
            perms
        }
        None => create(n, c, q, p, value.to_vec())?,
    };
    events.push(Event::changed(p, perms));
    Ok(())
}

/// `MKDIR`: creates the node if it is missing.
pub(crate) fn mkdir(
    n: &mut (impl Nodes + ?Sized),
    c: &Caller,
    q: &Quota,
    p: &str,
    events: &mut Vec<Event>,
) -> Result<(), Errno> {
    if let Some(node) = n.node(p) {
        // An existing node is fine, but only for callers who could have written it.
        if !c.access(&node.perms).can_write() {
            return Err(Errno::EACCES);
        }
        return Ok(());
    }
    let perms = create(n, c, q, p, Vec::new())?;
    events.push(Event::changed(p, perms));
    Ok(())
}

/// `RM`: removes the subtree; a missing node is fine if its parent exists.
pub(crate) fn rm(
    n: &mut (impl Nodes + ?Sized),
    c: &Caller,
    p: &str,
    events: &mut Vec<Event>,
) -> Result<(), Errno> {
    let parent = path::parent(p).ok_or(Errno::EINVAL)?;
    let perms = match n.node(p) {
        Some(node) => node.perms.clone(),
        None => {
            return match n.node(parent) {
                Some(_) => Ok(()),
                None => Err(Errno::ENOENT),
            }
        }
    };
    if !c.access(&perms).can_write() {
        return Err(Errno::EACCES);
    }
    let mut stack = alloc::vec![String::from(p)];
    while let Some(cur) = stack.pop() {
        let kids: Vec<String> = match n.node(&cur) {
            Some(node) => node.children.iter().map(|k| path::join(&cur, k)).collect(),
            None => Vec::new(),
        };
        stack.extend(kids);
        n.delete(&cur);
    }
    n.remove_child(parent, path::basename(p));
    events.push(Event::removed(p, perms));
    Ok(())
}

/// `SET_PERMS`: only the owner may change the list, and only dom0 may give a
/// node away.
pub(crate) fn set_perms(
    n: &mut (impl Nodes + ?Sized),
    c: &Caller,
    q: &Quota,
    p: &str,
    perms: PermList,
    events: &mut Vec<Event>,
) -> Result<(), Errno> {
    let old = n.node(p).ok_or(Errno::ENOENT)?.perms.clone();
    if !c.is_owner(&old) {
        return Err(Errno::EACCES);
    }
    if !c.privileged && perms.owner() != old.owner() && perms.owner() != c.domid {
        return Err(Errno::EPERM);
    }
    if perms.entries().len() > q.max_perms {
        return Err(Errno::ENOSPC);
    }
    n.set_perms(p, perms.clone());
    events.push(Event::changed(p, perms));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tree::Tree;
    use crate::wire::Access;

    fn setup() -> Tree {
        let mut t = Tree::new();
        let mut ev = Vec::new();
        let q = Quota::default();
        write(&mut t, &Caller::DOM0, &q, "/local/domain/7", b"", &mut ev).unwrap();
        set_perms(
            &mut t,
            &Caller::DOM0,
            &q,
            "/local/domain/7",
            PermList::owned_by(7, Access::None),
            &mut ev,
        )
        .unwrap();
        t
    }

    #[test]
    fn inheritance_and_ownership() {
        let mut t = setup();
        let q = Quota::default();
        let mut ev = Vec::new();
        let g = Caller::guest(7);
        write(&mut t, &g, &q, "/local/domain/7/data/x", b"1", &mut ev).unwrap();
        assert_eq!(t.get("/local/domain/7/data").unwrap().perms.owner(), 7);
        // dom0 writing below a guest-owned node: the new node copies the guest's perms.
        write(
            &mut t,
            &Caller::DOM0,
            &q,
            "/local/domain/7/name",
            b"m",
            &mut ev,
        )
        .unwrap();
        assert_eq!(t.get("/local/domain/7/name").unwrap().perms.owner(), 7);
        assert_eq!(
            write(&mut t, &g, &q, "/local/domain/8/x", b"1", &mut ev),
            Err(Errno::EACCES)
        );
        assert_eq!(
            read(&mut t, &Caller::guest(8), "/local/domain/7/name"),
            Err(Errno::EACCES)
        );
        assert_eq!(read(&mut t, &g, "/local/domain/7/nope"), Err(Errno::ENOENT));
        let give = PermList::owned_by(8, Access::None);
        assert_eq!(
            set_perms(&mut t, &g, &q, "/local/domain/7/name", give, &mut ev),
            Err(Errno::EPERM)
        );
        let share = PermList::parse_list([&b"n7"[..], b"r8"]).unwrap();
        set_perms(&mut t, &g, &q, "/local/domain/7/name", share, &mut ev).unwrap();
        assert_eq!(
            read(&mut t, &Caller::guest(8), "/local/domain/7/name").unwrap(),
            b"m"
        );
    }

    #[test]
    fn rm_rules() {
        let mut t = setup();
        let q = Quota::default();
        let mut ev = Vec::new();
        write(&mut t, &Caller::DOM0, &q, "/a/b/c", b"1", &mut ev).unwrap();
        rm(&mut t, &Caller::DOM0, "/a/zz", &mut ev).unwrap();
        assert_eq!(
            rm(&mut t, &Caller::DOM0, "/q/zz", &mut ev),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            rm(&mut t, &Caller::guest(7), "/a", &mut ev),
            Err(Errno::EACCES)
        );
        rm(&mut t, &Caller::DOM0, "/a", &mut ev).unwrap();
        assert!(t.get("/a/b/c").is_none());
        assert!(!t.get("/").unwrap().children.contains("a"));
        assert_eq!(rm(&mut t, &Caller::DOM0, "/", &mut ev), Err(Errno::EINVAL));
    }

    #[test]
    fn node_quota() {
        let mut t = setup();
        let q = Quota {
            max_nodes: 3,
            ..Quota::default()
        };
        let mut ev = Vec::new();
        let g = Caller::guest(7);
        write(&mut t, &g, &q, "/local/domain/7/a", b"", &mut ev).unwrap();
        write(&mut t, &g, &q, "/local/domain/7/b", b"", &mut ev).unwrap();
        assert_eq!(
            write(&mut t, &g, &q, "/local/domain/7/c", b"", &mut ev),
            Err(Errno::ENOSPC)
        );
        rm(&mut t, &g, "/local/domain/7/a", &mut ev).unwrap();
        write(&mut t, &g, &q, "/local/domain/7/c", b"", &mut ev).unwrap();
        let big = alloc::vec![0u8; q.max_value_size + 1];
        assert_eq!(
            write(&mut t, &g, &q, "/local/domain/7/c", &big, &mut ev),
            Err(Errno::ENOSPC)
        );
    }
}

//! Permission lists as written on the wire: `b7`, `n0`, `r3`, ...

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// What a permission entry grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// `n`: nothing.
    None,
    /// `r`: read.
    Read,
    /// `w`: write.
    Write,
    /// `b`: read and write.
    Both,
}

impl Access {
    /// The wire letter.
    pub fn letter(self) -> char {
        match self {
            Access::None => 'n',
            Access::Read => 'r',
            Access::Write => 'w',
            Access::Both => 'b',
        }
    }

    /// Whether this grants reading.
    pub fn can_read(self) -> bool {
        matches!(self, Access::Read | Access::Both)
    }

    /// Whether this grants writing.
    pub fn can_write(self) -> bool {
        matches!(self, Access::Write | Access::Both)
    }
}

/// One entry: an access letter and a domain id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Perm {
    /// What is granted.
    pub access: Access,
    /// To whom.
    pub domid: u32,
}

impl Perm {
    /// Parses `b7`-style text; `None` if malformed.
    pub fn parse(s: &[u8]) -> Option<Perm> {
        let (&letter, digits) = s.split_first()?;
        let access = match letter {
            b'n' => Access::None,
            b'r' => Access::Read,
            b'w' => Access::Write,
            b'b' => Access::Both,
            _ => return None,
        };
        if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let domid = digits.iter().try_fold(0u32, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
        })?;
        // Domain ids are 16-bit on Xen; reject anything wider so lists stay canonical.
        if domid > 0xffff {
            return None;
        }
        Some(Perm { access, domid })
    }
}

impl fmt::Display for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.access.letter(), self.domid)
    }
}

/// A node's permissions: the first entry names the owner and the default for
/// unlisted domains, later entries are per-domain exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PermList(Vec<Perm>);

impl PermList {
    /// A list with only the owner entry.
    pub fn owned_by(owner: u32, default: Access) -> PermList {
        PermList(alloc::vec![Perm {
            access: default,
            domid: owner
        }])
    }

    /// Builds a list; `None` if empty.
    pub fn from_entries(entries: Vec<Perm>) -> Option<PermList> {
        if entries.is_empty() {
            None
        } else {
            Some(PermList(entries))
        }
    }

    /// Parses NUL-separated entries (as in `SET_PERMS` and `GET_PERMS`).
    pub fn parse_list<'a, I: IntoIterator<Item = &'a [u8]>>(items: I) -> Option<PermList> {
        let v: Option<Vec<Perm>> = items.into_iter().map(Perm::parse).collect();
        PermList::from_entries(v?)
    }

    /// The owning domain.
    pub fn owner(&self) -> u32 {
        self.0[0].domid
    }

    /// The access of domains without an exception.
    pub fn default_access(&self) -> Access {
        self.0[0].access
    }

    /// All entries, owner first.
    pub fn entries(&self) -> &[Perm] {
        &self.0
    }

    /// The same list with the owner replaced.
    pub fn with_owner(&self, owner: u32) -> PermList {
        let mut v = self.0.clone();
        v[0].domid = owner;
        PermList(v)
    }

    /// Access granted to `domid` by the list alone (owner and privilege are
    /// handled by the store's policy).
    pub fn listed_access(&self, domid: u32) -> Access {
        self.0[1..]
            .iter()
            .find(|p| p.domid == domid)
            .map(|p| p.access)
            .unwrap_or(self.default_access())
    }

    /// Encodes as a `GET_PERMS` reply payload.
    pub fn to_payload(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for p in &self.0 {
            v.extend_from_slice(alloc::format!("{p}").as_bytes());
            v.push(0);
        }
        v
    }

    /// Space-separated text, as `xenstore-ls -p` prints it.
    pub fn to_text(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|p| alloc::format!("{p}")).collect();
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        assert_eq!(
            Perm::parse(b"b7"),
            Some(Perm {
                access: Access::Both,
                domid: 7
            })
        );
        for bad in [&b""[..], b"x1", b"r", b"r-1", b"r99999999999", b"r70000"] {
            assert_eq!(Perm::parse(bad), None, "{bad:?}");
        }
        let l = PermList::parse_list([&b"n0"[..], b"r7"]).unwrap();
        assert_eq!(l.owner(), 0);
        assert_eq!(l.listed_access(7), Access::Read);
        assert_eq!(l.listed_access(8), Access::None);
        assert_eq!(l.to_payload(), b"n0\0r7\0");
        assert_eq!(l.to_text(), "n0 r7");
        assert!(PermList::parse_list(core::iter::empty()).is_none());
    }
}

//! Errors as they travel on the wire: errno names such as `ENOENT`.

use core::fmt;

/// An error a xenstore server reports, carried on the wire as its errno name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Errno {
    /// Invalid argument.
    EINVAL,
    /// Permission denied.
    EACCES,
    /// The node already exists.
    EEXIST,
    /// Is a directory.
    EISDIR,
    /// No such node (or transaction, or domain).
    ENOENT,
    /// Out of memory.
    ENOMEM,
    /// A quota is exhausted.
    ENOSPC,
    /// Input/output error.
    EIO,
    /// Directory not empty.
    ENOTEMPTY,
    /// Operation not implemented.
    ENOSYS,
    /// Read-only store.
    EROFS,
    /// Resource busy.
    EBUSY,
    /// Transaction conflict: retry the whole transaction.
    EAGAIN,
    /// Already connected.
    EISCONN,
    /// Reply or argument too large.
    E2BIG,
    /// Operation not permitted.
    EPERM,
}

const ALL: [Errno; 16] = [
    Errno::EINVAL,
    Errno::EACCES,
    Errno::EEXIST,
    Errno::EISDIR,
    Errno::ENOENT,
    Errno::ENOMEM,
    Errno::ENOSPC,
    Errno::EIO,
    Errno::ENOTEMPTY,
    Errno::ENOSYS,
    Errno::EROFS,
    Errno::EBUSY,
    Errno::EAGAIN,
    Errno::EISCONN,
    Errno::E2BIG,
    Errno::EPERM,
];

impl Errno {
    /// The errno name as written on the wire (without the trailing NUL).
    pub const fn name(self) -> &'static str {
        match self {
            Errno::EINVAL => "EINVAL",
            Errno::EACCES => "EACCES",
            Errno::EEXIST => "EEXIST",
            Errno::EISDIR => "EISDIR",
            Errno::ENOENT => "ENOENT",
            Errno::ENOMEM => "ENOMEM",
            Errno::ENOSPC => "ENOSPC",
            Errno::EIO => "EIO",
            Errno::ENOTEMPTY => "ENOTEMPTY",
            Errno::ENOSYS => "ENOSYS",
            Errno::EROFS => "EROFS",
            Errno::EBUSY => "EBUSY",
            Errno::EAGAIN => "EAGAIN",
            Errno::EISCONN => "EISCONN",
            Errno::E2BIG => "E2BIG",
            Errno::EPERM => "EPERM",
        }
    }

    /// Parses an errno name; unknown names give `None`.
    pub fn from_name(name: &str) -> Option<Errno> {
        ALL.iter().copied().find(|e| e.name() == name)
    }

    /// The Linux errno number, for callers that map to `std::io::Error`.
    pub const fn code(self) -> i32 {
        match self {
            Errno::EINVAL => 22,
            Errno::EACCES => 13,
            Errno::EEXIST => 17,
            Errno::EISDIR => 21,
            Errno::ENOENT => 2,
            Errno::ENOMEM => 12,
            Errno::ENOSPC => 28,
            Errno::EIO => 5,
            Errno::ENOTEMPTY => 39,
            Errno::ENOSYS => 38,
            Errno::EROFS => 30,
            Errno::EBUSY => 16,
            Errno::EAGAIN => 11,
            Errno::EISCONN => 106,
            Errno::E2BIG => 7,
            Errno::EPERM => 1,
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in ALL {
            assert_eq!(Errno::from_name(e.name()), Some(e));
            assert_eq!(alloc::format!("{e}"), e.name());
        }
        assert_eq!(Errno::from_name("EWHATEVER"), None);
    }
}

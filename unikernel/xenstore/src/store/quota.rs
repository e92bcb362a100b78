//! Limits that keep one unprivileged domain from exhausting the store.

/// Per-domain limits; privileged callers are exempt. Defaults follow cxenstored's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Nodes a domain may own (`-E`).
    pub max_nodes: usize,
    /// Bytes in one value (`-S`).
    pub max_value_size: usize,
    /// Watches a domain may hold (`-W`).
    pub max_watches: usize,
    /// Transactions a domain may have open (`-t`).
    pub max_transactions: usize,
    /// Entries in one permission list (`-A`).
    pub max_perms: usize,
    /// Bytes in a watch token (keeps every event within the payload limit).
    pub max_token: usize,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            max_nodes: 1000,
            max_value_size: 2048,
            max_watches: 128,
            max_transactions: 10,
            max_perms: 5,
            max_token: 1000,
        }
    }
}

//! Limits that keep one domain from exhausting the store.
//!
//! Every domain is held to a [`Quota`]: unprivileged guests to the store's
//! guest quota (defaults follow C xenstored's), dom0 to a separate, larger
//! one ([`Quota::privileged`]) so a runaway toolstack is bounded too.
//! The errnos are C xenstored's: a full node, transaction, permission or
//! transaction-size quota is `ENOSPC`, too many watches `E2BIG`, memory
//! `ENOMEM`; a transaction that timed out commits with `EAGAIN`.

/// Per-domain limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Nodes a domain may own (C xenstored's `-E`, default 1000).
    pub max_nodes: usize,
    /// Bytes in one value (`-S`, default 2048).
    pub max_value_size: usize,
    /// Watches a domain may hold (`-W`, default 128).
    pub max_watches: usize,
    /// Transactions a domain may have open (`-t`, default 10).
    pub max_transactions: usize,
    /// Entries in one permission list (`-A`, default 5).
    pub max_perms: usize,
    /// Bytes in a watch token (keeps every event within the payload limit).
    pub max_token: usize,
    /// Paths one transaction may touch, failed reads included
    /// (`-Q transaction-nodes`, default 1024).
    pub max_txn_paths: usize,
    /// Bytes a domain may hold: its nodes (path, value, permissions),
    /// watches and open transactions (`-Q memory`, default 2.5 MiB, C
    /// xenstored's hard limit).
    pub max_memory: usize,
    /// Replies and events queued for one connection before the server
    /// stops reading its requests (`-Q outstanding`, default 20).
    pub max_outstanding: usize,
    /// Milliseconds a transaction may stay open; a stale one is ended and
    /// its commit answered `EAGAIN` (C xenstored has no such limit; 20 s
    /// is its watch-event timeout).
    pub txn_timeout_ms: u64,
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
            max_txn_paths: 1024,
            max_memory: 2 * 1024 * 1024 + 512 * 1024,
            max_outstanding: 20,
            txn_timeout_ms: 20_000,
        }
    }
}

impl Quota {
    /// Dom0's limits: generous (the toolstack keeps every middlebox's
    /// records and configs), yet finite so a leak cannot grow without end.
    pub fn privileged() -> Quota {
        Quota {
            max_nodes: 1_000_000,
            max_value_size: crate::wire::PAYLOAD_MAX,
            max_watches: 65_536,
            max_transactions: 1024,
            max_perms: 64,
            max_token: 1000,
            max_txn_paths: 65_536,
            max_memory: 1 << 30,
            max_outstanding: 1024,
            txn_timeout_ms: 120_000,
        }
    }

    /// Sets one limit by C xenstored's name for it (`nodes`, `entry-size`,
    /// `watches`, `transactions`, `perms`, `transaction-nodes`, `memory`,
    /// `outstanding`, `transaction-timeout-ms`); `false` for an unknown name.
    pub fn set(&mut self, name: &str, value: u64) -> bool {
        let v = usize::try_from(value).unwrap_or(usize::MAX);
        match name {
            "nodes" => self.max_nodes = v,
            "entry-size" => self.max_value_size = v,
            "watches" => self.max_watches = v,
            "transactions" => self.max_transactions = v,
            "perms" => self.max_perms = v,
            "transaction-nodes" => self.max_txn_paths = v,
            "memory" => self.max_memory = v,
            "outstanding" => self.max_outstanding = v,
            "transaction-timeout-ms" => self.txn_timeout_ms = value,
            _ => return false,
        }
        true
    }
}

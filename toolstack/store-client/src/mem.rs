//! An in-memory [`StoreOps`] for the unit tests of crates built on this
//! one (records, the agent's operations): a recording test double, not a
//! store.

use crate::clickos::{Op, StoreOps};
use crate::Result;
use std::collections::BTreeMap;

/// A recording in-memory store.
#[derive(Default)]
pub struct Mem {
    /// The nodes, by path.
    pub nodes: BTreeMap<String, String>,
    /// Every write and removal, in order.
    pub log: Vec<Op>,
}

impl StoreOps for Mem {
    fn read(&mut self, p: &str) -> Result<Option<String>> {
        Ok(self.nodes.get(p).cloned())
    }
    fn write(&mut self, p: &str, v: &str) -> Result<()> {
        self.log.push(Op::Write(p.into(), v.into()));
        self.nodes.insert(p.into(), v.into());
        Ok(())
    }
    fn rm(&mut self, p: &str) -> Result<()> {
        self.log.push(Op::Rm(p.into()));
        let pre = format!("{p}/");
        self.nodes.retain(|k, _| k != p && !k.starts_with(&pre));
        Ok(())
    }
    fn list(&mut self, p: &str) -> Result<Vec<String>> {
        let pre = format!("{p}/");
        let mut v: Vec<String> = self
            .nodes
            .keys()
            .filter_map(|k| k.strip_prefix(&pre))
            .map(|r| r.split('/').next().unwrap_or("").to_string())
            .collect();
        v.dedup();
        Ok(v)
    }
}

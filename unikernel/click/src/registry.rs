//! The table of element classes a router can instantiate.

use alloc::collections::BTreeMap;

use crate::confparse::names::AddressNames;
use crate::element::ElementClass;

/// Element classes by name. The engine's library is [`Registry::standard`];
/// the host runner and the guest add their device elements.
#[derive(Clone, Default, Debug)]
pub struct Registry {
    classes: BTreeMap<&'static str, &'static ElementClass>,
    /// The host's network devices, whose names configurations may use as
    /// addresses (Click's user-level driver looks them up on its host).
    devices: AddressNames,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// The engine's element library.
    pub fn standard() -> Self {
        let mut r = Registry::new();
        for c in crate::elements::classes() {
            r.add(c);
        }
        r
    }

    /// Adds (or replaces) a class.
    pub fn add(&mut self, c: &'static ElementClass) {
        self.classes.insert(c.name, c);
    }

    /// Adds several classes.
    pub fn add_all(&mut self, cs: &[&'static ElementClass]) {
        for c in cs {
            self.add(c);
        }
    }

    /// Looks a class up.
    pub fn get(&self, name: &str) -> Option<&'static ElementClass> {
        self.classes.get(name).copied()
    }

    /// True if `name` is a known class.
    pub fn contains(&self, name: &str) -> bool {
        self.classes.contains_key(name)
    }

    /// The host's devices as address names (see
    /// [`AddressNames::declare_device`]), for the host to fill.
    pub fn devices_mut(&mut self) -> &mut AddressNames {
        &mut self.devices
    }

    /// The host's devices as address names: what `AddressInfo` names
    /// are added to.
    pub fn devices(&self) -> &AddressNames {
        &self.devices
    }

    /// Class names in order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.classes.keys().copied()
    }
}

//! The element interface: what every element class implements, and the
//! static description of a class (name, ports, processing, constructor).

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::String;
use core::any::Any;

use crate::batch::Batch;
use crate::confparse::Args;
use crate::packet::Packet;
use crate::router::{ConfigCx, Ctx};

/// Builds and configures an element from its arguments.
pub type MakeFn = fn(&mut Args, &ConfigCx) -> Result<Box<dyn Element>, ConfigError>;

/// Static description of an element class, registered with a
/// [`crate::registry::Registry`].
pub struct ElementClass {
    /// Click class name, e.g. `"Counter"`.
    pub name: &'static str,
    /// Click port count spec `INPUTS/OUTPUTS`, each `N`, `N-M`, `N-` or `-`
    /// (any); outputs may be `=` (as many as inputs). E.g. `"1/1"`,
    /// `"1/1-2"`, `"1/-"`, `"0/1"`.
    pub ports: &'static str,
    /// Click processing code `INPUTS/OUTPUTS` of `h` (push), `l` (pull), `a`
    /// (agnostic); the last letter of a side repeats. E.g. `"a/a"`, `"h/l"`,
    /// `"a/ah"`.
    pub processing: &'static str,
    /// Configure phase: lower phases are configured first (for elements
    /// that others refer to by name, like `IPRewriterPatterns`).
    pub phase: i8,
    /// Builds and configures an element from its arguments.
    pub make: MakeFn,
}

impl core::fmt::Debug for ElementClass {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ElementClass({})", self.name)
    }
}

/// Whether a handler reads, writes, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    /// Read handler.
    Read,
    /// Write handler.
    Write,
    /// Read and write handler.
    ReadWrite,
}

/// A handler an element offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandlerDecl {
    /// Handler name (`count`, `reset` ...).
    pub name: &'static str,
    /// Read, write or both.
    pub kind: HandlerKind,
}

impl HandlerDecl {
    /// A read handler.
    pub const fn read(name: &'static str) -> Self {
        HandlerDecl {
            name,
            kind: HandlerKind::Read,
        }
    }
    /// A write handler.
    pub const fn write(name: &'static str) -> Self {
        HandlerDecl {
            name,
            kind: HandlerKind::Write,
        }
    }
    /// A read/write handler.
    pub const fn rw(name: &'static str) -> Self {
        HandlerDecl {
            name,
            kind: HandlerKind::ReadWrite,
        }
    }
    /// True if it can be read.
    pub fn readable(&self) -> bool {
        self.kind != HandlerKind::Write
    }
    /// True if it can be written.
    pub fn writable(&self) -> bool {
        self.kind != HandlerKind::Read
    }
}

/// An element: a node of the router graph.
///
/// All methods have defaults so an element implements only what its ports
/// and handlers need. Packets leave through the [`Ctx`] (`cx.push(port, p)`),
/// which runs the downstream element synchronously, as Click does.
pub trait Element: Any {
    /// Called once after every element is configured and the graph checked:
    /// schedule tasks and timers here.
    fn initialize(&mut self, _cx: &Ctx) -> Result<(), ConfigError> {
        Ok(())
    }

    /// A packet arrives on push input `port`.
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        cx.kill(p);
    }

    /// A batch arrives on push input `port`; by default each packet is
    /// pushed in order.
    fn push_batch(&mut self, cx: &Ctx, port: usize, batch: Batch) {
        for p in batch {
            self.push(cx, port, p);
        }
    }

    /// A downstream element pulls from output `port`.
    fn pull(&mut self, _cx: &Ctx, _port: usize) -> Option<Packet> {
        None
    }

    /// The element's task ran; returns true if it did work.
    fn run_task(&mut self, _cx: &Ctx) -> bool {
        false
    }

    /// Timer `id` (set with [`Ctx::set_timer`]) expired.
    fn run_timer(&mut self, _cx: &Ctx, _id: u32) {}

    /// Element-specific handlers (the generic `name`, `class`, `config`,
    /// `ports`, `handlers` are the router's).
    fn handlers(&self) -> &'static [HandlerDecl] {
        &[]
    }

    /// Reads handler `name` (only called for declared readable handlers).
    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        String::new()
    }

    /// Writes handler `name` (only called for declared writable handlers).
    fn write_handler(&mut self, _cx: &Ctx, name: &str, _value: &str) -> Result<(), ConfigError> {
        Err(ConfigError::not_writable(name))
    }

    /// Hot-swap: take state from the element of the same name and class in
    /// the router being replaced (Click's `take_state`).
    fn take_state(&mut self, _old: &mut dyn Element, _cx: &Ctx) {}

    /// The element's exportable state, if it keeps any (see [`crate::state`]).
    fn state(&mut self) -> Option<&mut dyn crate::state::StatefulElement> {
        None
    }
}

impl dyn Element {
    /// Downcasts to a concrete element type.
    pub fn downcast_ref<T: Element>(&self) -> Option<&T> {
        (self as &dyn Any).downcast_ref()
    }
    /// Downcasts to a concrete element type, mutably.
    pub fn downcast_mut<T: Element>(&mut self) -> Option<&mut T> {
        (self as &mut dyn Any).downcast_mut()
    }
}

/// Writes `push` and `pull` inside an `impl Element` block for an element
/// whose `self.action(cx, p) -> Option<Packet>` handles each packet the same
/// in push and pull mode, returning what leaves on output 0 (Click's
/// `simple_action`).
macro_rules! simple_action {
    () => {
        fn push(&mut self, cx: &$crate::router::Ctx, _port: usize, p: $crate::packet::Packet) {
            if let Some(q) = self.action(cx, p) {
                cx.push(0, q);
            }
        }

        fn pull(
            &mut self,
            cx: &$crate::router::Ctx,
            _port: usize,
        ) -> Option<$crate::packet::Packet> {
            let p = cx.pull(0)?;
            self.action(cx, p)
        }
    };
}
pub(crate) use simple_action;

/// Writes `push`, `push_batch` and `pull` inside an `impl Element` block
/// for an element that edits every packet in place and passes it to output
/// 0: `in_place_action!(|el, p| p.pull(el.0))` runs the body with `el:
/// &Self` and `p: &mut Packet`.
macro_rules! in_place_action {
    (|$el:pat, $p:ident| $edit:expr) => {
        #[inline]
        fn push(&mut self, cx: &$crate::router::Ctx, _port: usize, mut p: $crate::packet::Packet) {
            let $el: &Self = self;
            let $p = &mut p;
            $edit;
            cx.push(0, p);
        }

        fn push_batch(
            &mut self,
            cx: &$crate::router::Ctx,
            _port: usize,
            mut b: $crate::batch::Batch,
        ) {
            let $el: &Self = self;
            for $p in b.iter_mut() {
                $edit;
            }
            cx.push_batch(0, b);
        }

        fn pull(
            &mut self,
            cx: &$crate::router::Ctx,
            _port: usize,
        ) -> Option<$crate::packet::Packet> {
            let mut p = cx.pull(0)?;
            let $el: &Self = self;
            let $p = &mut p;
            $edit;
            Some(p)
        }
    };
}
pub(crate) use in_place_action;

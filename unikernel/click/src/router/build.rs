//! Building a router from a flat configuration: classes, port counts,
//! configuration, push/pull resolution, connection checks, initialization.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BinaryHeap, VecDeque};
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use super::{ConfigCx, Ctx, ElementInfo, Env, PortKind, PortRef, Router};
use crate::confparse::{arg_source_offset, split_args, AddressNames, Args};
use crate::element::{Element, ElementClass};
use crate::elements::driver::interp::Interp;
use crate::elements::driver::script::Script;
use crate::error::{ArgPos, Error, Errors, Span};
use crate::lang::FlatConfig;
use crate::packet::PacketPool;
use crate::registry::Registry;
use crate::suggest::closest;

/// A side of a port count spec: allowed range of ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    min: usize,
    max: usize,
    /// Outputs `=`: as many as inputs.
    same_as_inputs: bool,
}

fn parse_range(s: &str) -> Option<Range> {
    let num = |t: &str| t.parse::<usize>().ok();
    Some(match s {
        "-" => Range {
            min: 0,
            max: usize::MAX,
            same_as_inputs: false,
        },
        "=" => Range {
            min: 0,
            max: usize::MAX,
            same_as_inputs: true,
        },
        _ => match s.split_once('-') {
            Some((a, "")) => Range {
                min: num(a)?,
                max: usize::MAX,
                same_as_inputs: false,
            },
            Some((a, b)) => Range {
                min: num(a)?,
                max: num(b)?,
                same_as_inputs: false,
            },
            None => {
                let n = num(s)?;
                Range {
                    min: n,
                    max: n,
                    same_as_inputs: false,
                }
            }
        },
    })
}

/// Parses a class's `INPUTS/OUTPUTS` port count spec.
fn parse_ports(spec: &str) -> Option<(Range, Range)> {
    let (i, o) = spec.split_once('/')?;
    Some((parse_range(i)?, parse_range(o)?))
}

/// Processing of port `i` from one side of a processing code.
fn code_at(side: &str, i: usize) -> u8 {
    let b = side.as_bytes();
    match b.get(i).or(b.last()) {
        Some(&c) => c,
        None => b'a',
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Union-find over port "processing nodes".
struct Kinds {
    parent: Vec<usize>,
    kind: Vec<Option<PortKind>>,
}

impl Kinds {
    fn add(&mut self, k: Option<PortKind>) -> usize {
        self.parent.push(self.parent.len());
        self.kind.push(k);
        self.parent.len() - 1
    }
    fn root(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    /// Joins two nodes; false on a push/pull conflict.
    fn join(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return true;
        }
        match (self.kind[ra], self.kind[rb]) {
            (Some(x), Some(y)) if x != y => false,
            (ka, kb) => {
                self.parent[rb] = ra;
                self.kind[ra] = ka.or(kb);
                true
            }
        }
    }
    /// The resolved kind; ports nothing constrains are push.
    fn get(&mut self, x: usize) -> PortKind {
        let r = self.root(x);
        self.kind[r].unwrap_or(PortKind::Push)
    }
}

fn kind_name(k: PortKind) -> &'static str {
    match k {
        PortKind::Push => "push",
        PortKind::Pull => "pull",
    }
}

impl Router {
    /// Builds a router: looks up classes, checks port counts, configures
    /// elements, resolves push and pull, checks connections and initializes.
    /// Every problem found is reported, each with its `file:line:col`.
    pub fn new(flat: FlatConfig, registry: &Registry, env: Env) -> Result<Router, Errors> {
        Self::build(flat, registry, env, Mode::Run)
    }

    /// Checks a configuration as [`Router::new`] does (classes, port
    /// counts, arguments, push and pull, connections) without initializing
    /// its elements, so nothing opens files or devices.
    pub fn check(flat: FlatConfig, registry: &Registry) -> Result<(), Errors> {
        Self::check_in(flat, registry, Mode::Check)
    }

    /// Checks a configuration for `mbctl check`: every error in one pass,
    /// sorted by position. As [`Router::check`], and also what
    /// [`crate::lang::parse`] would stop at (unknown classes, undeclared
    /// elements, each with the closest class as a suggestion) and the
    /// handlers scripts name (with the closest handler). Returns the
    /// numbers of elements and connections of a good configuration.
    pub fn check_source(
        source: &str,
        file: &str,
        overrides: &[(String, String)],
        registry: &Registry,
    ) -> Result<(usize, usize), Errors> {
        let suggest = |name: &str| closest(name, registry.names()).map(String::from);
        let (flat, mut errs) =
            crate::lang::parse_all(source, file, overrides, &|c| registry.contains(c), &suggest);
        let counts = (flat.elements.len(), flat.connections.len());
        if let Err(more) = Self::check_in(flat, registry, Mode::CheckAll) {
            errs.0.extend(more.0);
        }
        errs.sort();
        errs.into_result(counts)
    }

    fn check_in(flat: FlatConfig, registry: &Registry, mode: Mode) -> Result<(), Errors> {
        let env = Env {
            clock: Box::new(crate::time::SimClock::new()),
            host: Box::new(crate::host::MemoryHost::default()),
        };
        Self::build(flat, registry, env, mode).map(|_| ())
    }

    /// The five phases, in order; each reports what it finds and later
    /// phases skip what an earlier one could not make. Initialization only
    /// runs on a graph without errors.
    fn build(
        flat: FlatConfig,
        registry: &Registry,
        env: Env,
        mode: Mode,
    ) -> Result<Router, Errors> {
        let mut errs = Errors::default();
        let classes = lookup_classes(&flat, registry, mode, &mut errs);
        let ports = PortCounts::new(&flat, &classes, &mut errs);
        let built = configure(&flat, registry, &classes, &ports, &mut errs)?;
        if mode == Mode::CheckAll {
            check_handler_calls(&flat, &built, &mut errs);
        }
        let info = resolve_processing(&flat, &classes, &ports, &mut errs);
        let links = Links::new(&flat, &info, &mut errs);
        check_unused(&flat, &classes, &links, &mut errs);
        if !errs.is_empty() {
            return Err(errs);
        }
        let router = Router::assemble(flat, built, info, links, env);
        if mode == Mode::Run {
            router.initialize_all()?;
        }
        Ok(router)
    }

    /// The runnable router from the checked pieces; nothing can fail here.
    fn assemble(
        flat: FlatConfig,
        built: Vec<Option<Box<dyn Element>>>,
        info: Vec<ElementInfo>,
        links: Links,
        env: Env,
    ) -> Router {
        let n = built.len();
        let elements: Vec<RefCell<Box<dyn Element>>> = built
            .into_iter()
            .map(|e| RefCell::new(e.unwrap_or_else(|| Box::new(Placeholder))))
            .collect();
        Router {
            task_on: (0..n).map(|_| Cell::new(false)).collect(),
            task_woken: Cell::new(false),
            elements,
            info,
            push_to: links.push_to,
            pull_from: links.pull_from,
            flat,
            source: String::new(),
            recent: Cell::new(env.clock.now()),
            recent_age: Cell::new(0),
            simulated: env.clock.is_simulated(),
            clock: env.clock,
            host: env.host,
            pool: RefCell::new(PacketPool::new(1024)),
            nomem: Cell::new(0),
            deferred: RefCell::new(VecDeque::new()),
            deferred_any: Cell::new(false),
            tasks: (0..n).map(|_| Cell::new(0)).collect(),
            ntasks: Cell::new(0),
            task_listed: (0..n).map(|_| Cell::new(false)).collect(),
            task_cursor: Cell::new(0),
            timers: RefCell::new(BinaryHeap::new()),
            timer_seq: Cell::new(0),
            timer_live: RefCell::new(BTreeMap::new()),
            stopped: Cell::new(false),
            stop_listener: Cell::new(None),
            pending_stops: Cell::new(0),
        }
    }

    /// Initializes every element in order (they schedule tasks and timers
    /// here), reporting each failure at its element.
    fn initialize_all(&self) -> Result<(), Errors> {
        let mut errs = Errors::default();
        for i in 0..self.elements.len() {
            let r = self.elements[i].borrow_mut().initialize(&Ctx::new(self, i));
            if let Err(e) = r {
                errs.push(Error::new(
                    self.flat.elements[i].span.clone(),
                    format!("{}: {}", what(&self.flat, i), e),
                ));
            }
        }
        errs.into_result(())
    }

    /// Parses `source` (named `file` in messages, `NAME=VALUE` overrides
    /// for its top-level `define`s) and builds the router.
    pub fn from_source(
        source: &str,
        file: &str,
        overrides: &[(String, String)],
        registry: &Registry,
        env: Env,
    ) -> Result<Router, Errors> {
        let flat = crate::lang::parse(source, file, overrides, &|c| registry.contains(c))?;
        Router::new(flat, registry, env).map(|r| r.with_source(source))
    }

    /// Records the configuration text the router was built from (the
    /// `config` handler).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }
}

/// `'name :: Class'`, as messages name an element.
fn what(flat: &FlatConfig, i: usize) -> String {
    format!("'{} :: {}'", flat.elements[i].name, flat.elements[i].class)
}

/// What a build is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A router to run: built and initialized.
    Run,
    /// Everything short of initialization ([`Router::check`]).
    Check,
    /// As `Check`, on a graph from [`crate::lang::parse_all`], whose
    /// unknown classes the parser reported already; script handler calls
    /// are checked too ([`Router::check_source`]).
    CheckAll,
}

/// Phase 1: each element's class (`None`, reported, when unknown).
fn lookup_classes(
    flat: &FlatConfig,
    registry: &Registry,
    mode: Mode,
    errs: &mut Errors,
) -> Vec<Option<&'static ElementClass>> {
    flat.elements
        .iter()
        .map(|d| {
            let c = registry.get(&d.class);
            if c.is_none() && mode != Mode::CheckAll {
                errs.push(Error::new(
                    d.span.clone(),
                    format!("unknown element class '{}'", d.class),
                ));
            }
            c
        })
        .collect()
}

/// Phase 2: port counts from the connections, checked against each
/// class's port spec.
struct PortCounts {
    nin: Vec<usize>,
    nout: Vec<usize>,
    /// Each element's allowed inputs and outputs; `None` when its class is
    /// unknown or its spec unreadable (it is then not configured).
    ranges: Vec<Option<(Range, Range)>>,
}

impl PortCounts {
    fn new(
        flat: &FlatConfig,
        classes: &[Option<&'static ElementClass>],
        errs: &mut Errors,
    ) -> PortCounts {
        let n = flat.elements.len();
        let mut p = PortCounts {
            nin: vec![0; n],
            nout: vec![0; n],
            ranges: vec![None; n],
        };
        for c in &flat.connections {
            p.nout[c.from] = p.nout[c.from].max(c.from_port + 1);
            p.nin[c.to] = p.nin[c.to].max(c.to_port + 1);
        }
        for (i, class) in classes.iter().enumerate() {
            let Some(class) = class else { continue };
            p.ranges[i] = p.apply_spec(i, class, &flat.elements[i].span, errs);
        }
        p.check_connections(flat, errs);
        for i in 0..n {
            if let Some((ri, ro)) = p.ranges[i] {
                p.nin[i] = p.nin[i].min(ri.max);
                p.nout[i] = p.nout[i].min(ro.max);
            }
        }
        p
    }

    /// Raises element `i`'s counts to its class's minimums; returns its
    /// ranges, with `=` outputs fixed to the inputs.
    fn apply_spec(
        &mut self,
        i: usize,
        class: &ElementClass,
        span: &crate::error::Span,
        errs: &mut Errors,
    ) -> Option<(Range, Range)> {
        let Some((ri, ro)) = parse_ports(class.ports) else {
            errs.push(Error::new(
                span.clone(),
                format!("class {} has a bad port spec '{}'", class.name, class.ports),
            ));
            return None;
        };
        self.nin[i] = self.nin[i].max(ri.min);
        let ro = if ro.same_as_inputs {
            Range {
                min: self.nin[i],
                max: self.nin[i],
                same_as_inputs: true,
            }
        } else {
            ro
        };
        self.nout[i] = self.nout[i].max(ro.min);
        Some((ri, ro))
    }

    /// Reports connections to ports a class does not have.
    fn check_connections(&self, flat: &FlatConfig, errs: &mut Errors) {
        for c in &flat.connections {
            if let Some((_, ro)) = self.ranges[c.from] {
                if c.from_port >= ro.max {
                    errs.push(Error::new(
                        c.span.clone(),
                        format!(
                            "{} has no output {} ({} takes {})",
                            what(flat, c.from),
                            c.from_port,
                            flat.elements[c.from].class,
                            describe(ro, "output")
                        ),
                    ));
                }
            }
            if let Some((ri, _)) = self.ranges[c.to] {
                if c.to_port >= ri.max {
                    errs.push(Error::new(
                        c.span.clone(),
                        format!(
                            "{} has no input {} ({} takes {})",
                            what(flat, c.to),
                            c.to_port,
                            flat.elements[c.to].class,
                            describe(ri, "input")
                        ),
                    ));
                }
            }
        }
    }
}

/// Phase 3: configures every element whose class and ports are known,
/// lower phases first. Running out of memory abandons the build at once.
fn configure(
    flat: &FlatConfig,
    registry: &Registry,
    classes: &[Option<&'static ElementClass>],
    ports: &PortCounts,
    errs: &mut Errors,
) -> Result<Vec<Option<Box<dyn Element>>>, Errors> {
    let n = flat.elements.len();
    let names: Vec<String> = flat.elements.iter().map(|d| d.name.clone()).collect();
    let mut built: Vec<Option<Box<dyn Element>>> = (0..n).map(|_| None).collect();
    let mut order: Vec<usize> = (0..n).filter(|&i| classes[i].is_some()).collect();
    order.sort_by_key(|&i| classes[i].map(|c| c.phase).unwrap_or(0));
    let addr_names = Rc::new(address_names(flat, registry, classes));
    for &i in &order {
        let (Some(class), Some(_)) = (classes[i], ports.ranges[i]) else {
            continue;
        };
        let d = &flat.elements[i];
        if crate::fallible::exhausted() {
            // The heap ran out configuring an earlier element: stop
            // before the rest needs memory there is not.
            errs.push(Error::new(
                d.config_span.clone(),
                format!("{}: out of memory (configuration abandoned)", what(flat, i)),
            ));
            return Err(core::mem::take(errs));
        }
        let mut args = Args::new(&d.config).with_names(addr_names.clone());
        let made = {
            let cx = ConfigCx {
                name: &d.name,
                ninputs: ports.nin[i],
                noutputs: ports.nout[i],
                names: &names,
                configured: &built,
            };
            (class.make)(&mut args, &cx).and_then(|e| args.finish().map(|_| e))
        };
        match made {
            Ok(e) => built[i] = Some(e),
            Err(e) => errs.push(Error::new(
                error_span(&d.config_span, &d.config, e.arg.as_ref()),
                format!("{}: {}", what(flat, i), e),
            )),
        }
    }
    Ok(built)
}

/// Where an element's configuration error points: the configuration's
/// start, or the place in it an [`ArgPos::At`] names.
fn error_span(start: &Span, config: &str, arg: Option<&ArgPos>) -> Span {
    let mut span = start.clone();
    if let Some(&ArgPos::At(i, off)) = arg {
        if let Some(src) = arg_source_offset(config, i, off) {
            for c in config.get(..src).unwrap_or_default().chars() {
                if c == '\n' {
                    span.line += 1;
                    span.col = 1;
                } else {
                    span.col += 1;
                }
            }
        }
    }
    span
}

/// Click's pre-pass: the names every `AddressInfo` declares, before any
/// element reads its arguments. A bad declaration is left for that
/// `AddressInfo` to report. The host's devices come with the registry.
fn address_names(
    flat: &FlatConfig,
    registry: &Registry,
    classes: &[Option<&'static ElementClass>],
) -> AddressNames {
    let mut names = registry.devices().clone();
    let info = crate::elements::standard::addressinfo::CLASS.name;
    for (d, c) in flat.elements.iter().zip(classes) {
        if c.is_some_and(|c| c.name == info) {
            for a in split_args(&d.config) {
                let _ = names.declare(&a);
            }
        }
    }
    names
}

/// For a check: the `elem.handler` names scripts read and write must exist
/// (Click finds out only when the script runs them).
fn check_handler_calls(flat: &FlatConfig, built: &[Option<Box<dyn Element>>], errs: &mut Errors) {
    for (i, e) in built.iter().enumerate() {
        let Some(script) = e.as_deref().and_then(|e| e.downcast_ref::<Script>()) else {
            continue;
        };
        for call in script.handler_calls() {
            if let Some((msg, near)) = check_handler_call(flat, built, i, &call) {
                let span = flat.elements[i].config_span.clone();
                errs.push(Error::new(span, format!("{}: {msg}", what(flat, i))).suggest(near));
            }
        }
    }
}

/// Why script `i`'s call of `elem.handler` would fail, if it would, and
/// the closest name that exists. The element is looked up as the script
/// does: in the script's compound first, then at the top.
fn check_handler_call(
    flat: &FlatConfig,
    built: &[Option<Box<dyn Element>>],
    i: usize,
    call: &str,
) -> Option<(String, Option<String>)> {
    let (elem, h) = call.rsplit_once('.')?;
    let me = &flat.elements[i].name;
    let scopes = me.match_indices('/').map(|(at, _)| &me[..at]).rev();
    let eid = scopes
        .filter_map(|prefix| flat.find(&format!("{prefix}/{elem}")))
        .chain(flat.find(elem))
        .next();
    let Some(eid) = eid else {
        let names = flat.elements.iter().map(|d| d.name.as_str());
        let near = closest(elem, names).map(String::from);
        return Some((format!("no element named '{elem}'"), near));
    };
    if eid == i && Interp::is_own_handler(h) {
        return None;
    }
    // An element that could not be configured has its own error already.
    let own = built[eid].as_deref()?.handlers();
    let names = || super::handlers::GENERIC.iter().chain(own).map(|d| d.name);
    if names().any(|n| n == h) {
        return None;
    }
    let full = |h: &str| format!("{}.{h}", flat.elements[eid].name);
    Some((
        format!("unknown handler '{}'", full(h)),
        closest(h, names()).map(full),
    ))
}

/// Phase 4: push and pull. Every port is a node; an element's agnostic
/// ports share one node; connections join nodes, and a join of a push
/// node with a pull node is a mismatch. Returns each element's resolved
/// ports.
fn resolve_processing(
    flat: &FlatConfig,
    classes: &[Option<&'static ElementClass>],
    ports: &PortCounts,
    errs: &mut Errors,
) -> Vec<ElementInfo> {
    let n = flat.elements.len();
    let mut kinds = Kinds {
        parent: Vec::new(),
        kind: Vec::new(),
    };
    let mut in_node = vec![Vec::new(); n];
    let mut out_node = vec![Vec::new(); n];
    let mut agn_in = vec![Vec::new(); n];
    let mut agn_out = vec![Vec::new(); n];
    for i in 0..n {
        let code = classes[i].map(|c| c.processing).unwrap_or("a/a");
        let (ci, co) = code.split_once('/').unwrap_or((code, code));
        let agnostic = kinds.add(None);
        let mut node = |c: u8| match c {
            b'h' => (kinds.add(Some(PortKind::Push)), false),
            b'l' => (kinds.add(Some(PortKind::Pull)), false),
            _ => (agnostic, true),
        };
        for p in 0..ports.nin[i] {
            let (nd, a) = node(code_at(ci, p));
            in_node[i].push(nd);
            agn_in[i].push(a);
        }
        for p in 0..ports.nout[i] {
            let (nd, a) = node(code_at(co, p));
            out_node[i].push(nd);
            agn_out[i].push(a);
        }
    }
    for c in &flat.connections {
        let (Some(&a), Some(&b)) = (
            out_node[c.from].get(c.from_port),
            in_node[c.to].get(c.to_port),
        ) else {
            continue;
        };
        let (ra, rb) = (kinds.root(a), kinds.root(b));
        let (ka, kb) = (kinds.kind[ra], kinds.kind[rb]);
        if !kinds.join(a, b) {
            let (ka, kb) = (ka.unwrap_or(PortKind::Push), kb.unwrap_or(PortKind::Push));
            errs.push(Error::new(
                c.span.clone(),
                format!(
                    "push/pull mismatch: {} {} output {} connected to {} {} input {}",
                    what(flat, c.from),
                    kind_name(ka),
                    c.from_port,
                    what(flat, c.to),
                    kind_name(kb),
                    c.to_port
                ),
            ));
        }
    }
    let mut info = Vec::with_capacity(n);
    for (i, d) in flat.elements.iter().enumerate() {
        info.push(ElementInfo {
            name: d.name.clone(),
            class: classes[i].unwrap_or(&PLACEHOLDER),
            config: d.config.clone(),
            span: d.span.clone(),
            inputs: in_node[i].iter().map(|&x| kinds.get(x)).collect(),
            outputs: out_node[i].iter().map(|&x| kinds.get(x)).collect(),
            agnostic_in: core::mem::take(&mut agn_in[i]),
            agnostic_out: core::mem::take(&mut agn_out[i]),
        });
    }
    info
}

/// Phase 5: where each push output sends and each pull input pulls from;
/// a push output and a pull input take exactly one connection.
struct Links {
    push_to: Vec<Vec<PortRef>>,
    pull_from: Vec<Vec<PortRef>>,
    in_used: Vec<Vec<bool>>,
    out_used: Vec<Vec<bool>>,
}

impl Links {
    fn new(flat: &FlatConfig, info: &[ElementInfo], errs: &mut Errors) -> Links {
        let mut l = Links {
            push_to: info.iter().map(|i| vec![None; i.outputs.len()]).collect(),
            pull_from: info.iter().map(|i| vec![None; i.inputs.len()]).collect(),
            in_used: info.iter().map(|i| vec![false; i.inputs.len()]).collect(),
            out_used: info.iter().map(|i| vec![false; i.outputs.len()]).collect(),
        };
        for c in &flat.connections {
            if c.from_port >= info[c.from].outputs.len() || c.to_port >= info[c.to].inputs.len() {
                continue;
            }
            l.out_used[c.from][c.from_port] = true;
            l.in_used[c.to][c.to_port] = true;
            let link = Some((c.to as u32, c.to_port as u32));
            if info[c.from].outputs[c.from_port] == PortKind::Push {
                if l.push_to[c.from][c.from_port].is_some() {
                    errs.push(Error::new(
                        c.span.clone(),
                        format!(
                            "illegal reuse of {} push output {}",
                            what(flat, c.from),
                            c.from_port
                        ),
                    ));
                }
                l.push_to[c.from][c.from_port] = link;
            }
            if info[c.to].inputs[c.to_port] == PortKind::Pull {
                if l.pull_from[c.to][c.to_port].is_some() {
                    errs.push(Error::new(
                        c.span.clone(),
                        format!(
                            "illegal reuse of {} pull input {}",
                            what(flat, c.to),
                            c.to_port
                        ),
                    ));
                }
                l.pull_from[c.to][c.to_port] = Some((c.from as u32, c.from_port as u32));
            }
        }
        l
    }
}

/// Reports every port of a known class that no connection uses.
fn check_unused(
    flat: &FlatConfig,
    classes: &[Option<&'static ElementClass>],
    links: &Links,
    errs: &mut Errors,
) {
    for (i, class) in classes.iter().enumerate() {
        if class.is_none() {
            continue;
        }
        let sides = [("input", &links.in_used[i]), ("output", &links.out_used[i])];
        for (side, used) in sides {
            for (p, _) in used.iter().enumerate().filter(|(_, u)| !**u) {
                errs.push(Error::new(
                    flat.elements[i].span.clone(),
                    format!("{} {side} {p} unused", what(flat, i)),
                ));
            }
        }
    }
}

fn describe(r: Range, what: &str) -> String {
    if r.max == usize::MAX {
        format!("at least {}", plural(r.min, what))
    } else if r.min == r.max {
        plural(r.max, what)
    } else {
        format!("{} to {}", r.min, plural(r.max, what))
    }
}

/// Stands in for an element whose class was unknown (never reached: such a
/// router is not built).
struct Placeholder;
impl Element for Placeholder {}

static PLACEHOLDER: ElementClass = ElementClass {
    name: "?",
    ports: "-/-",
    processing: "a/a",
    phase: 0,
    make: |_, _| Ok(Box::new(Placeholder)),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_specs() {
        let (i, o) = parse_ports("1/1-2").unwrap();
        assert_eq!((i.min, i.max, o.min, o.max), (1, 1, 1, 2));
        let (i, o) = parse_ports("-/1-").unwrap();
        assert_eq!((i.min, i.max, o.min, o.max), (0, usize::MAX, 1, usize::MAX));
        assert!(parse_ports("1").is_none());
        assert!(parse_ports("x/1").is_none());
    }

    #[test]
    fn processing_codes_repeat_last_letter() {
        assert_eq!(code_at("ah", 0), b'a');
        assert_eq!(code_at("ah", 5), b'h');
        assert_eq!(code_at("", 0), b'a');
    }
}

//! Printing a flat configuration in Click syntax, laid out as Click's
//! `Router::unparse` does (the `flatconfig` handler): requirements,
//! declarations, then connections joined into chains.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;

use super::flat::FlatConfig;

/// The configuration as Click source: `require(...)`, one `name :: Class(config);`
/// per element, then connections as chains `a -> b -> [1] c;`.
pub fn unparse(cfg: &FlatConfig) -> String {
    let mut s = String::new();
    if !cfg.requirements.is_empty() {
        let reqs: Vec<&str> = cfg.requirements.iter().map(|(r, _)| r.as_str()).collect();
        let _ = write!(s, "require({});\n\n", reqs.join(", "));
    }
    for e in &cfg.elements {
        let _ = write!(s, "{} :: {}", e.name, e.class);
        if !e.config.is_empty() {
            let _ = write!(s, "({})", e.config);
        }
        s.push_str(";\n");
    }
    if !cfg.elements.is_empty() {
        s.push('\n');
    }

    let conns = &cfg.connections;
    let n = conns.len();
    let name = |i: usize| cfg.elements.get(i).map_or("?", |e| e.name.as_str());
    // A connection arriving at port 0 continues into one leaving the same
    // element's port 0, preferring one that again arrives at port 0.
    // Per element, its connections leaving port 0: the first two arriving
    // at port 0 and the last two of any port (two, to skip `ci` itself).
    let mut first0: Vec<[Option<usize>; 2]> = vec![[None; 2]; cfg.elements.len()];
    let mut last: Vec<[Option<usize>; 2]> = vec![[None; 2]; cfg.elements.len()];
    for (d, e) in conns.iter().enumerate() {
        if e.from_port != 0 {
            continue;
        }
        if let Some(f) = first0.get_mut(e.from).filter(|_| e.to_port == 0) {
            if f[0].is_none() {
                f[0] = Some(d);
            } else if f[1].is_none() {
                f[1] = Some(d);
            }
        }
        if let Some(l) = last.get_mut(e.from) {
            *l = [l[1], Some(d)];
        }
    }
    let other = |pair: [Option<usize>; 2], ci: usize, prefer_first: bool| {
        let (a, b) = if prefer_first {
            (pair[0], pair[1])
        } else {
            (pair[1], pair[0])
        };
        a.filter(|&d| d != ci).or(b.filter(|&d| d != ci))
    };
    let mut next: Vec<Option<usize>> = vec![None; n];
    let mut starts = vec![true; n];
    for (ci, c) in conns.iter().enumerate() {
        if c.to_port != 0 {
            continue;
        }
        let pick = first0
            .get(c.to)
            .and_then(|&f| other(f, ci, true))
            .or_else(|| last.get(c.to).and_then(|&l| other(l, ci, false)));
        if let Some(d) = pick {
            next[ci] = Some(d);
            starts[d] = false;
        }
    }
    let mut used = vec![false; n];
    loop {
        for ci in 0..n {
            if used[ci] || !starts[ci] {
                continue;
            }
            let c = &conns[ci];
            s.push_str(name(c.from));
            if c.from_port != 0 {
                let _ = write!(s, " [{}]", c.from_port);
            }
            let mut d = Some(ci);
            while let Some(k) = d.filter(|&k| !used[k]) {
                s.push_str(if k == ci { " -> " } else { "\n    -> " });
                if conns[k].to_port != 0 {
                    let _ = write!(s, "[{}] ", conns[k].to_port);
                }
                s.push_str(name(conns[k].to));
                used[k] = true;
                d = next[k];
            }
            s.push_str(";\n");
        }
        // Cycles have no start: begin anywhere unused.
        match (0..n).find(|&i| !used[i]) {
            Some(_) => (0..n).filter(|&i| !used[i]).for_each(|i| starts[i] = true),
            None => break,
        }
    }
    s
}

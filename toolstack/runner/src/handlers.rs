//! Printing handler values after a run (`mbctl run -h`, Click's `-h`) and
//! the exit-status handler (`-x`).

use std::io::Write;

use click::confparse::{uncomment, FromArg};
use click::Router;

/// Click's glob: `*`, `?` and `[...]` (with `!`/`^` negation and ranges).
pub fn glob_match(name: &str, pattern: &str) -> bool {
    fn go(n: &[u8], p: &[u8]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some(b'*') => (0..=n.len()).any(|i| go(&n[i..], &p[1..])),
            Some(b'?') => !n.is_empty() && go(&n[1..], &p[1..]),
            Some(b'[') => {
                let Some(close) = p.iter().skip(2).position(|&c| c == b']').map(|i| i + 2) else {
                    return n.first() == Some(&b'[') && go(&n[1..], &p[1..]);
                };
                let Some(&c) = n.first() else { return false };
                let set = &p[1..close];
                let (neg, set) = match set.first() {
                    Some(b'!') | Some(b'^') => (true, &set[1..]),
                    _ => (false, set),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == b'-' {
                        hit |= set[i] <= c && c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == c;
                        i += 1;
                    }
                }
                hit != neg && go(&n[1..], &p[close + 1..])
            }
            Some(&c) => n.first() == Some(&c) && go(&n[1..], &p[1..]),
        }
    }
    go(name.as_bytes(), pattern.as_bytes())
}

/// The elements `pattern` names: an element, else every element matching a
/// glob, else every element of that class. The flag says whether more than
/// one name could match (so names are printed).
fn expand(router: &Router, pattern: &str, handler: &str) -> Result<(Vec<usize>, bool), String> {
    if let Some(i) = router.find(pattern) {
        return Ok((vec![i], false));
    }
    let is_glob = pattern.contains(['*', '?', '[']);
    let mut any = false;
    let mut v = Vec::new();
    for i in 0..router.len() {
        let info = router.info(i);
        let hit = if is_glob {
            glob_match(&info.name, pattern)
        } else {
            info.class.name == pattern
        };
        if hit {
            any = true;
            if router.has_handler(&format!("{}.{handler}", info.name)) {
                v.push(i);
            }
        }
    }
    if !any {
        return Err(if is_glob {
            format!("no element matching '{pattern}'")
        } else {
            format!("no element '{pattern}'")
        });
    }
    Ok((v, true))
}

fn print_one(router: &Router, spec: &str, names: bool, out: &mut dyn Write) -> Result<(), String> {
    let mut v = router.read(spec).map_err(|e| format!("{spec}: {e}"))?;
    if !v.ends_with('\n') {
        v.push('\n');
    }
    let r = if names {
        write!(out, "{spec}:\n{v}\n")
    } else {
        out.write_all(v.as_bytes())
    };
    r.map_err(|e| format!("standard output: {e}"))
}

/// Prints read handlers as Click's driver does: one handler prints just its
/// value (with a final newline); several, or a pattern, print
/// `NAME:\nVALUE\n` followed by a blank line each. Errors name the handler.
pub fn print(router: &Router, specs: &[String], out: &mut dyn Write) -> Result<(), Vec<String>> {
    let names = specs.len() > 1;
    let mut errs = Vec::new();
    for spec in specs {
        let r = match spec.rsplit_once('.') {
            None => print_one(router, spec, names, out),
            Some((elem, h)) => match expand(router, elem, h) {
                Ok((eids, many)) => eids.iter().try_for_each(|&i| {
                    let full = format!("{}.{h}", router.info(i).name);
                    print_one(router, &full, names || many, out)
                }),
                Err(e) => Err(e),
            },
        };
        if let Err(e) = r {
            errs.push(e);
        }
    }
    let _ = out.flush();
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

/// The exit status from handler `spec`: an integer, or a boolean (true = 0).
pub fn exit_status(router: &Router, spec: &str) -> Result<i32, String> {
    let v = router.read(spec).map_err(|e| format!("{spec}: {e}"))?;
    let v = uncomment(&v);
    if let Some(i) = i32::from_arg(&v) {
        return Ok(i);
    }
    match bool::from_arg(&v) {
        Some(b) => Ok(if b { 0 } else { 1 }),
        None => Err(format!("{spec}: exit handler value should be integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("c_ip", "c_*"));
        assert!(glob_match("c1", "c?"));
        assert!(glob_match("c1", "c[0-3]"));
        assert!(!glob_match("c5", "c[0-3]"));
        assert!(glob_match("c5", "c[!0-3]"));
        assert!(!glob_match("d1", "c*"));
        assert!(glob_match("", "*"));
    }
}

//! Fuzzes `click::lang::parse`: any input must give a result or errors,
//! never a panic, and a successful parse must print (`unparse`) to a
//! configuration that parses back to the same graph, unless substitution
//! made some configuration string unbalanced (`C((a, b))` passes `(a` to a
//! compound parameter; Click's own flat output has the same limit).

const CLASSES: &[&str] = &["Idle", "Discard", "Counter", "Queue", "Null", "Tee", "Paint", "Print", "Strip"];

fn is_class(name: &str) -> bool {
    CLASSES.contains(&name)
}

/// One input.
pub fn run(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let overrides = [("X".to_string(), "1".to_string())];
    let Ok(flat) = click::lang::parse(src, "fuzz", &overrides, &is_class) else { return };
    if !flat.elements.iter().all(|e| self_contained(&e.config)) {
        return;
    }
    let text = click::lang::unparse(&flat);
    let again = match click::lang::parse(&text, "flat", &[], &is_class) {
        Ok(f) => f,
        Err(e) => panic!("unparsed configuration does not parse:\n{text}\n{e}"),
    };
    let view = |f: &click::lang::FlatConfig| {
        let elems: Vec<_> = f.elements.iter().map(|e| (e.name.clone(), e.class.clone(), e.config.clone())).collect();
        let conns: Vec<_> = f.connections.iter().map(|c| (c.from, c.from_port, c.to, c.to_port)).collect();
        (elems, conns)
    };
    assert_eq!(view(&flat), view(&again), "round trip changed the graph:\n{text}");
}

/// True if `(config)` lexes back as exactly this configuration string.
fn self_contained(config: &str) -> bool {
    let wrapped = format!("{config})");
    let mut lx = click::lang::lexer::Lexer::new(&wrapped, "c");
    let (text, _, closed) = lx.config();
    closed && text == config && lx.next_token().kind == click::lang::lexer::Tok::Eof && lx.errors.is_empty()
}

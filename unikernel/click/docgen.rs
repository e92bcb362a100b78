// Element documentation table generator, shared by the build scripts of
// the engine (`click`) and of the host runner (`mb-runner`): both
// `include!` this file.
//
// Every element file opens with a `//!` block whose first line is
// "`Class(ARGS)`: summary." (or "`Class`: summary."); a later line of the
// same shape documents a second class in the same file (CheckIPHeader2).
// The generated file holds one `ElementDoc` per class, sorted by name.

use std::path::{Path, PathBuf};

/// The leading `//!` block of a source file, without the markers.
fn doc_block(src: &str) -> Vec<String> {
    src.lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| {
            let t = &l[3..];
            t.strip_prefix(' ').unwrap_or(t).to_string()
        })
        .collect()
}

/// `Some((class, summary))` if `line` is "`Class(ARGS)`: summary".
fn class_line(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix('`')?;
    let close = rest.find('`')?;
    let sig = &rest[..close];
    let after = rest[close + 1..].strip_prefix(':')?;
    let name_end = sig.find('(').unwrap_or(sig.len());
    let name = &sig[..name_end];
    let valid = !name.is_empty()
        && name.as_bytes()[0].is_ascii_uppercase()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid || (name_end < sig.len() && !sig.ends_with(')')) {
        return None;
    }
    Some((name.to_string(), after.trim().to_string()))
}

/// (class, summary, full text) for each class a file documents.
fn extract(src: &str) -> Vec<(String, String, String)> {
    let block = doc_block(src);
    let Some(first) = block.first() else {
        return Vec::new();
    };
    if class_line(first).is_none() {
        return Vec::new();
    }
    let text = block.join("\n").trim_end().to_string() + "\n";
    block
        .iter()
        .filter_map(|l| class_line(l))
        .map(|(n, s)| (n, s, text.clone()))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Writes `$OUT_DIR/<out_name>` with `DOCS`, the table of every class
/// documented under `dir`.
fn generate(dir: &str, out_name: &str) {
    println!("cargo:rerun-if-changed={dir}");
    let mut files = Vec::new();
    rust_files(Path::new(dir), &mut files);
    let mut docs: Vec<(String, String, String)> = Vec::new();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        if let Ok(src) = std::fs::read_to_string(f) {
            docs.extend(extract(&src));
        }
    }
    docs.sort_by(|a, b| a.0.cmp(&b.0));
    docs.dedup_by(|a, b| a.0 == b.0);
    let mut s = String::from("/// Documentation of every element class, sorted by name.\n");
    s.push_str("pub static DOCS: &[ElementDoc] = &[\n");
    for (name, summary, text) in &docs {
        s.push_str(&format!(
            "    ElementDoc {{ name: {name:?}, summary: {summary:?}, text: {text:?} }},\n"
        ));
    }
    s.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join(out_name);
    std::fs::write(out, s).expect("writing the element documentation table");
}

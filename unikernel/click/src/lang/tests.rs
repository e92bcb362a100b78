//! End-to-end tests of the language front end: source to flat graph.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::println;

use super::*;

/// Classes of the element library used in these tests.
const CLASSES: &[&str] = &[
    "Idle",
    "Discard",
    "Counter",
    "Print",
    "Queue",
    "Null",
    "Paint",
    "Tee",
    "Message",
    "DriverManager",
    "InfiniteSource",
    "PullNull",
    "Strip",
    "Unstrip",
    "CheckPaint",
    "IPClassifier",
    "Classifier",
    "FromDump",
    "ToDump",
    "CheckIPHeader",
    "RatedSplitter",
    "BandwidthRatedSplitter",
    "Foo",
];

fn is_class(n: &str) -> bool {
    CLASSES.contains(&n)
}

fn p(src: &str) -> FlatConfig {
    match parse(src, "t.click", &[], &is_class) {
        Ok(f) => f,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

fn errs(src: &str) -> Vec<String> {
    match parse(src, "t.click", &[], &is_class) {
        Ok(f) => panic!("expected errors, got:\n{}", unparse(&f)),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

fn names(f: &FlatConfig) -> Vec<String> {
    f.elements.iter().map(|e| e.name.clone()).collect()
}

/// Connections as sorted `a[p] -> [q]b` strings.
fn conns(f: &FlatConfig) -> Vec<String> {
    let mut v: Vec<String> = f
        .connections
        .iter()
        .map(|c| {
            alloc::format!(
                "{}[{}] -> [{}]{}",
                f.elements[c.from].name,
                c.from_port,
                c.to_port,
                f.elements[c.to].name
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn smoke() {
    let f = p("a :: Idle -> Counter -> d :: Discard; Idle -> (-> x :: Null ->) -> d;");
    println!("{}", unparse(&f));
    println!("{:?}", conns(&f));
}

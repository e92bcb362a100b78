//! End-to-end tests of the language front end: source to flat graph.

use super::*;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

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

fn find<'f>(f: &'f FlatConfig, name: &str) -> &'f ElementDecl {
    match f.find(name) {
        Some(i) => &f.elements[i],
        None => panic!("no element '{name}' in\n{}", unparse(f)),
    }
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn has_err(e: &[String], needle: &str) -> bool {
    e.iter().any(|x| x.contains(needle))
}

// ---- declarations, references, anonymous names -------------------------

#[test]
fn declarations_and_chains() {
    let f = p("a :: Idle -> Counter -> d :: Discard; Idle -> d;");
    assert_eq!(names(&f), ["a", "Counter@2", "d", "Idle@4"]);
    assert_eq!(find(&f, "Counter@2").class, "Counter");
    assert_eq!(
        conns(&f),
        sorted(&[
            "a[0] -> [0]Counter@2",
            "Counter@2[0] -> [0]d",
            "Idle@4[0] -> [0]d"
        ])
    );
}

#[test]
fn spans_and_config() {
    let f = p("\n  a :: Foo(1,\n 2);\n  Foo(x)");
    let a = find(&f, "a");
    assert_eq!((a.span.line, a.span.col), (2, 3));
    assert_eq!((a.config_span.line, a.config_span.col), (2, 12));
    assert_eq!(a.config, "1,\n 2");
    let anon = find(&f, "Foo@2");
    assert_eq!((anon.span.line, anon.span.col), (4, 3));
    let b = p("b :: Foo;");
    assert_eq!(b.elements[0].config_span, b.elements[0].span);
}

#[test]
fn multi_declaration_spreads_class_and_config() {
    let f = p("a, b, c :: Queue(5); a -> b -> c;");
    for n in ["a", "b", "c"] {
        assert_eq!(
            (find(&f, n).class.as_str(), find(&f, n).config.as_str()),
            ("Queue", "5")
        );
    }
    // Not when the list is part of a connection.
    let e = errs("x :: Idle; a, b :: Idle -> x;");
    assert!(has_err(&e, "t.click:1:12: undeclared element 'a'"), "{e:?}");
}

#[test]
fn anonymous_numbering_counts_groups_and_named_elements() {
    // Group tunnels take three numbers where the '(' is.
    // Elements inside a group are declared before those after it.
    let f = p("a :: Idle; a -> (-> b :: Null ->) -> Discard;");
    assert_eq!(names(&f), ["a", "b", "Discard@6"]);
    // Pending elements of a segment are numbered after a group in it.
    let f = p("i :: Idle; i => Null, (-> Null ->) -> Discard;");
    assert_eq!(names(&f), ["i", "Null@5", "Null@6", "Discard@7"]);
    assert_eq!(
        conns(&f),
        sorted(&[
            "i[0] -> [0]Null@6",
            "i[1] -> [0]Null@5",
            "Null@5[0] -> [0]Discard@7",
            "Null@6[0] -> [0]Discard@7"
        ])
    );
}

#[test]
fn anonymous_name_clash_takes_next_number() {
    let f = p("Idle@3 :: Discard; a :: Idle; Idle;");
    assert_eq!(names(&f), ["Idle@3", "a", "Idle@4"]);
    assert_eq!(find(&f, "Idle@4").class, "Idle");
}

#[test]
fn click_lexer_test_04_commas() {
    let f = p(
        "a, b, c :: Idle;\np, q :: PullNull;\na, a[1] -> b -> p, q;\np -> [0]c, [1]c; q -> [2]c;",
    );
    assert_eq!(
        conns(&f),
        sorted(&[
            "a[0] -> [0]b",
            "a[1] -> [0]b",
            "b[0] -> [0]p",
            "b[0] -> [0]q",
            "p[0] -> [0]c",
            "p[0] -> [1]c",
            "q[0] -> [2]c"
        ])
    );
    let f = p("a, b, c :: Idle;\na => b, c, [0,1] a;");
    assert_eq!(
        conns(&f),
        sorted(&[
            "a[0] -> [0]b",
            "a[1] -> [0]c",
            "a[2] -> [0]a",
            "a[3] -> [1]a"
        ])
    );
    let f = p("a, b :: Idle;\na -> { -> } -> b;\na [1] -> { [0] -> [0] } -> [1] b;");
    assert_eq!(conns(&f), sorted(&["a[0] -> [0]b", "a[1] -> [1]b"]));
}

#[test]
fn click_lexer_test_04_errors() {
    let e = errs("a, b, c, d :: Idle;\na [0,1] => [0,1,2] b;\nc [] => [] d;");
    assert_eq!(
        e,
        [
            "t.click:2:9: connection mismatch: 2 outputs connected to 3 inputs",
            "t.click:3:6: at most one expandable port allowed per connection"
        ]
    );
    let e = errs("a, b, c, d :: Idle;\na [0,1,2] -> [0,1,2] b;");
    assert_eq!(
        e,
        ["t.click:2:11: syntax error: many-to-many connections require '=>'"]
    );
}

#[test]
fn expandable_ports_and_mismatch_messages() {
    let f = p("a, b :: Idle; a [1-] => [0, 1, 2] b;");
    assert_eq!(
        conns(&f),
        sorted(&["a[1] -> [0]b", "a[2] -> [1]b", "a[3] -> [2]b"])
    );
    let f = p("a, b :: Idle; a [0, 1] => [] b;");
    assert_eq!(conns(&f), sorted(&["a[0] -> [0]b", "a[1] -> [1]b"]));
    let f = p("a, b :: Idle; a [0, 1, 2] => [0, 1-] b;");
    assert_eq!(
        conns(&f),
        sorted(&["a[0] -> [0]b", "a[1] -> [1]b", "a[2] -> [2]b"])
    );
    let e = errs("a, b :: Idle; a [0, 1] => [0, 1, 2-] b;");
    assert_eq!(
        e,
        ["t.click:1:24: connection mismatch: 2 outputs connected to 3 or more inputs"]
    );
    let e = errs("a, b :: Idle; a [0, 1, 2-] => [0, 1] b;");
    assert_eq!(
        e,
        ["t.click:1:28: connection mismatch: 3 or more outputs connected to 2 inputs"]
    );
    let e = errs("a, b :: Idle; a [0-] => [1-] b, b;");
    assert!(has_err(&e, "at most one expandable port"), "{e:?}");
    let e = errs("a, b :: Idle; a [0, 1] => [0, 1, 2] b;");
    assert!(
        has_err(&e, "connection mismatch: 2 outputs connected to 3 inputs"),
        "{e:?}"
    );
}

#[test]
fn one_to_many_and_many_to_one() {
    let f = p("a, b, c :: Idle; a -> b, c; b, c -> a;");
    assert_eq!(
        conns(&f),
        sorted(&[
            "a[0] -> [0]b",
            "a[0] -> [0]c",
            "b[0] -> [0]a",
            "c[0] -> [0]a"
        ])
    );
    let f = p("a, b, c :: Idle; a => b, c;");
    assert_eq!(conns(&f), sorted(&["a[0] -> [0]b", "a[1] -> [0]c"]));
    let f = p("a, b, c :: Idle; b, c => a;");
    assert_eq!(conns(&f), sorted(&["b[0] -> [0]a", "c[0] -> [1]a"]));
}

// ---- groups --------------------------------------------------------------

#[test]
fn click_lexer_test_05_groups() {
    let expect = sorted(&["a[0] -> [0]c", "a[1] -> [0]b", "a[2] -> [0]d"]);
    let f = p("a, b, c, d :: Idle;\na [0,1,2] => c, b, d;");
    assert_eq!(conns(&f), expect);
    let f = p("a, b, c, d :: Idle;\na [0,1,2] => ( -> c ), ( -> b ), d;");
    assert_eq!(conns(&f), expect);
    let f = p("a, d :: Idle;\na => (-> c :: Idle), (-> b :: Idle), d;");
    assert_eq!(conns(&f), expect);
    let f = p(
        "analyzer, x1, x2 :: Idle;\nx1 -> analyzer -> x2;\nc :: Idle =>\n  [1] analyzer [1],\n  (-> c2 :: Idle => (->), Paint(1) ->)\n-> post_classification :: Idle;",
    );
    assert_eq!(
        conns(&f),
        sorted(&[
            "Paint@12[0] -> [0]post_classification",
            "analyzer[0] -> [0]x2",
            "analyzer[1] -> [0]post_classification",
            "c2[0] -> [0]post_classification",
            "c2[1] -> [0]Paint@12",
            "c[0] -> [1]analyzer",
            "c[1] -> [0]c2",
            "x1[0] -> [0]analyzer"
        ])
    );
}

#[test]
fn click_lexer_test_06_groups_in_compounds() {
    let expect = sorted(&[
        "foo/a[0] -> [0]foo/c",
        "foo/a[1] -> [0]foo/b",
        "foo/a[2] -> [0]foo/d",
    ]);
    let f = p("elementclass Foo {\n a, b, c, d :: Idle;\n a [0,1,2] => ( -> c ), ( -> b ), d;\n}\nfoo::Foo;");
    assert_eq!(conns(&f), expect);
    let f = p("elementclass Foo {\n a, d :: Idle;\n a => (-> c :: Idle), (-> b :: Idle), d;\n}\nfoo::Foo;");
    assert_eq!(conns(&f), expect);
    let f = p(
        "analyzer, x1, x2 :: Idle;\nx1 -> analyzer -> x2;\nc :: Idle =>\n [1] analyzer [1],\n foo :: { -> c2 :: Idle => (->), Paint(1) -> }\n-> post_classification :: Idle;",
    );
    assert_eq!(find(&f, "foo/Paint@5").config, "1");
    assert!(conns(&f).contains(&"foo/c2[1] -> [0]foo/Paint@5".to_string()));
    assert!(conns(&f).contains(&"foo/c2[0] -> [0]post_classification".to_string()));
    assert!(conns(&f).contains(&"c[1] -> [0]foo/c2".to_string()));
}

#[test]
fn empty_group_passes_through() {
    let f = p("a, b :: Idle; a -> (->) -> b;");
    assert_eq!(conns(&f), ["a[0] -> [0]b"]);
}

#[test]
fn group_errors() {
    let e = errs("a, b :: Idle; a -> ( input -> [1] output ) -> b;");
    assert!(has_err(&e, "'<anonymous group>' output 0 missing"), "{e:?}");
    let e = errs("a, b :: Idle; a -> ( b -> input ) -> b;");
    assert!(
        has_err(
            &e,
            "'<anonymous group>' pseudoelement 'input' may only be used as output"
        ),
        "{e:?}"
    );
    let e = errs("a :: Idle; a -> ( a -> output ) -> a; input -> a;");
    assert!(has_err(&e, "undeclared element 'input'"), "{e:?}");
}

// ---- compounds -----------------------------------------------------------

#[test]
fn click_lexer_test_02_lexical_scoping_of_formals() {
    let f = p("elementclass Foo {\n$a |\n DriverManager($a);\n}\nelementclass Far {\n$a, $b |\n Foo($b);\n}\nFar(wait_stop stop, stop);");
    assert_eq!(names(&f), ["Far@1/Foo@1/DriverManager@1"]);
    assert_eq!(f.elements[0].config, "stop");
    let f = p("elementclass Foo {\n$a |\n elementclass Bar {\n $b |\n DriverManager($a);\n }\n elementclass Baz {\n $a |\n Idle; Bar($a);\n }\n Baz(fuckola);\n}\nFoo(stop);");
    assert_eq!(
        names(&f),
        ["Foo@1/Baz@1/Idle@1", "Foo@1/Baz@1/Bar@2/DriverManager@1"]
    );
    assert_eq!(f.elements[1].config, "stop");
}

#[test]
fn compound_ports_are_spliced() {
    let f = p(
        "elementclass Two { input -> a :: Counter -> output; input[1] -> b :: Counter -> [1]output }\n\
         s :: Idle; t :: Two; d :: Discard; s -> t; s[1] -> [1]t; t -> d; t[1] -> [1]d;",
    );
    assert_eq!(names(&f), ["s", "d", "t/a", "t/b"]);
    assert_eq!(
        conns(&f),
        sorted(&[
            "s[0] -> [0]t/a",
            "s[1] -> [0]t/b",
            "t/a[0] -> [0]d",
            "t/b[0] -> [1]d"
        ])
    );
}

#[test]
fn nested_compound_names_and_element_order() {
    let f = p("elementclass In { input -> x :: Null -> output }\n\
         elementclass Out { input -> i :: In -> y :: Null -> output }\n\
         a :: Idle; o :: Out; b :: Discard; a -> o -> b; z :: Null; b2 :: Idle -> z;");
    assert_eq!(names(&f), ["a", "b", "z", "b2", "o/y", "o/i/x"]);
    assert_eq!(
        conns(&f),
        sorted(&[
            "a[0] -> [0]o/i/x",
            "o/i/x[0] -> [0]o/y",
            "o/y[0] -> [0]b",
            "b2[0] -> [0]z"
        ])
    );
}

#[test]
fn formals_positional_keyword_rest() {
    let f = p(
        "elementclass C { $a, KW $k, __REST__ $r | input -> Foo($a; $k; $r) -> output }\n\
         i :: Idle -> c :: C(1, KW two, x, y) -> Discard; i2 :: Idle -> c2 :: C(1, KW 2) -> Discard;",
    );
    assert_eq!(find(&f, "c/Foo@1").config, "1; two; x, y");
    assert_eq!(find(&f, "c2/Foo@1").config, "1; 2; ");
}

#[test]
fn wrong_number_of_compound_arguments() {
    let e = errs("elementclass C { $a | input -> output }\ni :: Idle -> C -> Discard;");
    assert_eq!(
        e,
        ["t.click:2:14: no match for 'C[1 input, 1 output]'; candidates are: 'C(<arg>)[1 input, 1 output]' at t.click:1:18"]
    );
    let e = errs("elementclass C { $a | input -> output }\ni :: Idle -> C(1, 2) -> Discard;");
    assert!(
        has_err(&e, "no match for 'C[2 arguments, 1 input, 1 output]'"),
        "{e:?}"
    );
}

#[test]
fn overloading_by_ports_and_arguments() {
    let src = "elementclass Tap { input -> c :: Counter -> output || $file | input -> c :: Counter -> Discard($file) }\n\
               i :: Idle; i -> a :: Tap -> Discard; i -> b :: Tap(f);";
    let f = p(src);
    assert!(f.find("a/c").is_some() && f.find("a/Discard@2").is_none());
    assert_eq!(find(&f, "b/Discard@2").config, "f");
    let e = errs("elementclass T { input -> output || $x | input -> Discard }\ni :: Idle -> T(1) -> Discard;");
    assert!(has_err(&e, "no match for 'T[1 argument, 1 input, 1 output]'; candidates are: 'T[1 input, 1 output]'"), "{e:?}");
    assert!(has_err(&e, "'T(<arg>)[1 input, 0 outputs]'"), "{e:?}");
}

#[test]
fn extension_falls_back_to_earlier_class() {
    let f = p(
        "elementclass Queue { $a, $b | input -> q :: Queue($a) -> Queue($b) -> output || ... }\n\
               i :: Idle; i -> x :: Queue(1, 2) -> Discard; i -> y :: Queue(7) -> Discard;",
    );
    assert_eq!(find(&f, "x/q").class, "Queue");
    assert_eq!(find(&f, "x/Queue@2").config, "2");
    let y = find(&f, "y");
    assert_eq!((y.class.as_str(), y.config.as_str()), ("Queue", "7"));
    let e = errs("elementclass Nope { input -> output || ... }");
    assert!(
        has_err(&e, "cannot extend unknown element class 'Nope'"),
        "{e:?}"
    );
}

#[test]
fn classes_are_lexically_scoped_and_not_recursive() {
    // Inside its own body, Queue is still the library's Queue.
    let f = p(
        "elementclass Queue { input -> q :: Queue -> output }\ni :: Idle -> x :: Queue -> Discard;",
    );
    assert_eq!(find(&f, "x/q").class, "Queue");
    // A class defined inside a compound is not visible outside it.
    let e = errs("elementclass A { elementclass B Null; input -> B -> output }\ni :: Idle -> A -> B -> Discard;");
    assert!(has_err(&e, "undeclared element 'B'"), "{e:?}");
}

#[test]
fn synonyms() {
    let f = p("elementclass Sink Discard; elementclass T { input -> output } elementclass U T;\ni :: Idle -> u :: U -> Sink;");
    assert_eq!(names(&f), ["i", "Sink@3"]);
    assert_eq!(find(&f, "Sink@3").class, "Discard");
    assert_eq!(conns(&f), ["i[0] -> [0]Sink@3"]);
    let e = errs("elementclass S Nope;");
    assert_eq!(e, ["t.click:1:16: unknown element class 'Nope'"]);
}

#[test]
fn anonymous_compound_named_at_n() {
    let f = p("a :: Idle -> { $c | input -> Paint($c) -> output }(7) -> Discard;");
    assert_eq!(names(&f), ["a", "Discard@3", "@2/Paint@1"]);
    assert_eq!(find(&f, "@2/Paint@1").config, "7");
}

#[test]
fn compound_pseudo_element_misuse() {
    let e = errs("elementclass A { input -> output; output -> input; }");
    assert!(
        has_err(&e, "'A' pseudoelement 'input' may only be used as output"),
        "{e:?}"
    );
    assert!(
        has_err(&e, "'A' pseudoelement 'output' may only be used as input"),
        "{e:?}"
    );
    let e = errs("elementclass A { input[1] -> output; }");
    assert!(has_err(&e, "t.click:1:18: 'A' input 0 missing"), "{e:?}");
    let e = errs("elementclass A { input -> [2]output; }");
    assert!(
        has_err(&e, "'A' output 0 missing") && has_err(&e, "'A' output 1 missing"),
        "{e:?}"
    );
}

#[test]
fn compound_port_use_errors() {
    // One alternative: it is used anyway and the port errors name the instance.
    let e = errs(
        "elementclass A { input -> Null -> output }\ni :: Idle; a :: A; i -> [1]a; a -> Discard;",
    );
    assert!(has_err(&e, "t.click:2:12: 'a' has no input 1"), "{e:?}");
    assert!(has_err(&e, "'a' input 0 unused"), "{e:?}");
    let e = errs(
        "elementclass A { input -> Null -> output }\ni :: Idle; a :: A; i -> a; a[1] -> Discard;",
    );
    assert!(has_err(&e, "'a' has no output 1"), "{e:?}");
    assert!(has_err(&e, "'a' output 0 unused"), "{e:?}");
}

#[test]
fn formal_parameter_errors() {
    let e = errs("elementclass A { $a, $a | input -> output }");
    assert!(has_err(&e, "parameter '$a' multiply defined"), "{e:?}");
    let e = errs("elementclass A { K $a, K $b | input -> output }");
    assert!(
        has_err(&e, "repeated keyword parameter 'K' in compound element"),
        "{e:?}"
    );
    let e = errs("elementclass A { K $a, $b | input -> output }");
    assert!(
        has_err(&e, "compound element parameters out of order"),
        "{e:?}"
    );
    let e = errs("elementclass A { __REST__ $a, K $b | input -> output }");
    assert!(
        has_err(&e, "compound element parameters out of order"),
        "{e:?}"
    );
    let e = errs("elementclass A { $a | define($a 1); input -> output }");
    assert!(has_err(&e, "parameter '$a' multiply defined"), "{e:?}");
}

#[test]
fn implicit_ports_in_the_middle() {
    let e = errs("elementclass A { x :: Null; input -> x -> [0], x -> output }");
    assert!(
        has_err(&e, "implicit ports used in the middle of a chain"),
        "{e:?}"
    );
}

// ---- variables -----------------------------------------------------------

#[test]
fn defines_and_overrides() {
    let src = "define($A 1, $B $A$A);\nx :: Foo($A $B ${C-c} \"$A\" '$A' $(h.x) $undefined);";
    let f = p(src);
    assert_eq!(find(&f, "x").config, "1 11 c \"1\" '$A' $(h.x) $undefined");
    let over = [
        ("A".to_string(), "9".to_string()),
        ("$C".to_string(), "z".to_string()),
    ];
    let f = parse(src, "t", &over, &is_class).unwrap();
    assert_eq!(f.elements[0].config, "9 99 z \"9\" '$A' $(h.x) $undefined");
}

#[test]
fn defines_are_order_independent_and_scoped() {
    let f = p("x :: Foo($late); define($late L);");
    assert_eq!(f.elements[0].config, "L");
    let f = p(
        "define($v top);\nelementclass C { define($v inner); input -> Foo($v) -> output }\ni :: Idle -> c :: C -> y :: Foo($v);",
    );
    assert_eq!(find(&f, "c/Foo@1").config, "inner");
    assert_eq!(find(&f, "y").config, "top");
}

#[test]
fn define_errors() {
    assert_eq!(
        errs("define(x 1);"),
        ["t.click:1:8: bad 'define' declaration 'x 1': expected '$NAME VALUE'"]
    );
    assert_eq!(
        errs("define($a 1, $a 2);"),
        ["t.click:1:8: parameter '$a' multiply defined"]
    );
}

#[test]
fn substitution_inside_double_quotes_escapes() {
    let over = [("Q".to_string(), "say \"hi\"".to_string())];
    let f = parse("x :: Message(\"$Q\");", "t", &over, &is_class).unwrap();
    assert_eq!(f.elements[0].config, "\"say \\\"hi\\\"\"");
}

// ---- requirements --------------------------------------------------------

#[test]
fn requirements_recorded() {
    let f = p("require(package foo, library bar.click); require(x);");
    let r: Vec<&str> = f.requirements.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(r, ["package foo", "library bar.click", "x"]);
    let e = errs("require(package a b);");
    assert!(
        has_err(&e, "syntax error at requirement 'package a b'"),
        "{e:?}"
    );
    let e = errs("elementclass A { require(library x); input -> output }");
    assert!(
        has_err(&e, "'require library' must be used at file scope"),
        "{e:?}"
    );
}

// ---- errors --------------------------------------------------------------

#[test]
fn element_errors() {
    assert_eq!(
        errs("a :: Idle;\na :: Discard;"),
        [
            "t.click:2:1: redeclaration of element 'a'",
            "t.click:1:1: element 'a' previously declared here"
        ]
    );
    assert_eq!(
        errs("Idle :: Discard;"),
        ["t.click:1:1: class 'Idle' used as element name"]
    );
    assert_eq!(
        errs("a -> b;"),
        [
            "t.click:1:1: undeclared element 'a'",
            "t.click:1:6: undeclared element 'b'"
        ]
    );
    assert_eq!(
        errs("x :: Bogus;"),
        ["t.click:1:6: unknown element class 'Bogus'"]
    );
    assert_eq!(
        errs("x :: Bogus; y :: Bogus;").len(),
        1,
        "unknown classes are reported once"
    );
    assert_eq!(
        errs("1 :: Idle;"),
        ["t.click:1:1: element name '1' has all-digit component"]
    );
    assert_eq!(
        errs("a/2 :: Idle;"),
        ["t.click:1:1: element name 'a/2' has all-digit component"]
    );
    assert_eq!(
        errs("a :: Idle; a(1) -> Discard;"),
        ["t.click:1:14: configuration string ignored on element reference 'a'"]
    );
}

#[test]
fn port_usage_errors() {
    assert_eq!(
        errs("a :: Idle; [0]a -> Discard;"),
        ["t.click:1:12: input ports ignored at start of chain"]
    );
    assert_eq!(
        errs("a :: Idle; Idle -> a[1];"),
        ["t.click:1:21: output ports ignored at end of chain"]
    );
    assert_eq!(
        errs("a :: Idle; a[x] -> Discard;"),
        ["t.click:1:14: syntax error: port number should be integer"]
    );
}

#[test]
fn syntax_errors_are_located_and_collected() {
    let e = errs("a :: Idle;\n->Null;\nb :: Idle -> ;\nc :: Foo(1");
    assert_eq!(
        e,
        [
            "t.click:2:1: syntax error: expected an element, found '->'",
            "t.click:3:14: syntax error: expected an element after the arrow, found ';'",
            "t.click:4:9: unterminated configuration string: expected ')' before end of file",
        ]
    );
    let e = errs("a :: Idle /* oops");
    assert_eq!(
        e,
        ["t.click:1:11: unterminated comment: expected '*/' before end of file"]
    );
    let e = errs("a :: Foo(\"x);");
    assert!(has_err(&e, "t.click:1:10: unterminated string"), "{e:?}");
}

#[test]
fn line_directives_in_spans() {
    let f = p("m :: Message(\n# 100 \"foobar.click\"\n\"test\");\nm2 :: Message(\"test2\");");
    assert_eq!(f.elements[0].span.to_string(), "t.click:1:1");
    assert_eq!(f.elements[0].config, "\n\n\"test\"");
    assert_eq!(f.elements[1].span.to_string(), "foobar.click:101:1");
}

// ---- unparse -------------------------------------------------------------

#[test]
fn unparse_format() {
    let f = p("require(package x); a :: Idle -> b :: Counter -> c :: Discard; a[1] -> [1]c; q :: Queue(10);");
    assert_eq!(
        unparse(&f),
        "require(package x);\n\na :: Idle;\nb :: Counter;\nc :: Discard;\nq :: Queue(10);\n\na -> b\n    -> c;\na [1] -> [1] c;\n"
    );
}

#[test]
fn unparse_cycles_and_roundtrip() {
    let f = p("a, b :: Null; a -> b -> a;");
    let text = unparse(&f);
    assert!(text.ends_with("\nb -> a\n    -> b;\n"), "{text}");
    let src = "elementclass C { $x | input -> Paint($x) -> output }\ni :: Idle -> C(1) -> [0] t :: Tee, [1]t; t -> Discard; t[1] -> Discard;";
    let f = p(src);
    let g = p(&unparse(&f));
    assert_eq!(names(&f), names(&g));
    assert_eq!(conns(&f), conns(&g));
}

// ---- robustness ----------------------------------------------------------

#[test]
fn exponential_compounds_are_capped() {
    let mut src = String::from("elementclass A0 { input -> Null -> output }\n");
    for i in 1..30 {
        src.push_str(&alloc::format!(
            "elementclass A{i} {{ input -> A{p} -> A{p} -> output }}\n",
            p = i - 1
        ));
    }
    src.push_str("i :: Idle -> A29 -> Discard;");
    let e = errs(&src);
    assert!(has_err(&e, "configuration too large"), "{e:?}");
}

#[test]
fn long_group_chains_do_not_overflow() {
    let mut src = String::from("a :: Idle; a");
    for _ in 0..3000 {
        src.push_str(" -> (->)");
    }
    src.push_str(" -> Discard;");
    let e = errs(&src);
    assert!(
        has_err(&e, "connection passes through too many element groups"),
        "{e:?}"
    );
    let mut src = String::from("a :: Idle; a");
    for _ in 0..300 {
        src.push_str(" -> (->)");
    }
    src.push_str(" -> Discard;");
    assert_eq!(conns(&p(&src)), ["a[0] -> [0]Discard@902"]);
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "",
        ";;;",
        "(((",
        ")))",
        "{{{",
        "}}}",
        "[[[",
        "]]]",
        "a ->",
        "-> ->",
        "=> a",
        "a :: {",
        "a :: { || ... }",
        "elementclass",
        "elementclass A",
        "elementclass A {",
        "elementclass A B C",
        "{ $a | } (1)",
        "$",
        "$$ $x",
        "a[",
        "a[1-",
        "a[-1]",
        "a::Idle[0",
        "define(",
        "define($)",
        "require(",
        "( -> ) -> ( -> )",
        "elementclass A { input -> output } a :: A -> a;",
        "# 12",
        "#line",
        "\u{0}\u{ffff}é",
        "a :: Foo(\\<",
        "x :: Foo(${a[99999999999999999999]})",
        "{ || || }",
        "{ ... ... }",
        "a -> [0] -> b",
        "input -> output;",
        "( input -> input )",
        "elementclass A { input -> A -> output } x :: Idle -> A -> Discard",
    ];
    for s in samples {
        let _ = parse(s, "t", &[], &is_class);
    }
}

// ---- the conformance configurations ---------------------------------------

/// The element classes the conformance configurations use.
const CONFORMANCE_CLASSES: &[&str] = &[
    "ARPResponder",
    "BandwidthRatedSplitter",
    "CheckIPHeader",
    "CheckIPHeader2",
    "CheckPaint",
    "Classifier",
    "Counter",
    "DecIPTTL",
    "Discard",
    "DriverManager",
    "EtherEncap",
    "EtherMirror",
    "EtherRewrite",
    "FromDump",
    "FrontDropQueue",
    "HashSwitch",
    "ICMPError",
    "ICMPPingResponder",
    "IPAddrRewriter",
    "IPClassifier",
    "IPFilter",
    "IPRewriter",
    "Null",
    "Paint",
    "PaintSwitch",
    "PaintTee",
    "PrioSched",
    "Queue",
    "RatedSplitter",
    "RoundRobinSched",
    "RoundRobinSwitch",
    "Strip",
    "Tee",
    "ToDump",
    "Unqueue",
    "Unstrip",
];

fn conformance_dir() -> Option<std::path::PathBuf> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates: Vec<std::path::PathBuf> = Vec::new();
    if let Ok(d) = std::env::var("CLICK_CONFORMANCE_DIR") {
        candidates.push(d.into());
    }
    candidates.push(manifest.join("../../../shared/conformance"));
    candidates.push(manifest.join("../../shared/conformance"));
    candidates.push("/work/shared/conformance".into());
    candidates.into_iter().find(|d| d.is_dir())
}

fn parse_case(dir: &std::path::Path, case: &str, extra: &[(&str, &str)]) -> Option<FlatConfig> {
    let path = dir.join(case).join("config.click");
    let src = std::fs::read_to_string(&path).ok()?;
    let mut over = vec_of(&[("IN", "in.pcap"), ("OUT", "/tmp/o")]);
    over.extend(vec_of(extra));
    let is = |n: &str| CONFORMANCE_CLASSES.contains(&n);
    match parse(&src, &path.to_string_lossy(), &over, &is) {
        Ok(f) => Some(f),
        Err(e) => panic!("{case}: unexpected errors:\n{e}"),
    }
}

fn vec_of(x: &[(&str, &str)]) -> Vec<(String, String)> {
    x.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn conformance_configs_parse() {
    let Some(dir) = conformance_dir() else {
        std::eprintln!("conformance folder not found; skipped");
        return;
    };
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let case = entry.file_name().to_string_lossy().to_string();
        if !entry.path().join("config.click").is_file() {
            continue;
        }
        let extra: &[(&str, &str)] = if case == "g_compound" {
            &[("WEBPORT", "80")]
        } else {
            &[]
        };
        let f = parse_case(&dir, &case, extra).unwrap();
        n += 1;
        assert!(!f.elements.is_empty(), "{case}");
        for e in &f.elements {
            assert!(
                CONFORMANCE_CLASSES.contains(&e.class.as_str()),
                "{case}: {} has class {}",
                e.name,
                e.class
            );
            assert!(
                !e.config.contains("$OUT") && !e.config.contains("$IN,"),
                "{case}: {} :: {}({})",
                e.name,
                e.class,
                e.config
            );
        }
        for c in &f.connections {
            assert!(
                c.from < f.elements.len() && c.to < f.elements.len(),
                "{case}"
            );
        }
        // What we print parses back to the same graph.
        let again = parse(&unparse(&f), "flat", &[], &|n: &str| {
            CONFORMANCE_CLASSES.contains(&n)
        })
        .unwrap();
        assert_eq!(names(&again), names(&f), "{case}");
        assert_eq!(conns(&again), conns(&f), "{case}");
    }
    assert!(n >= 13, "only {n} cases found in {}", dir.display());
}

#[test]
fn conformance_g_compound_facts() {
    let Some(dir) = conformance_dir() else { return };
    let f = parse_case(&dir, "g_compound", &[("WEBPORT", "80")]).unwrap();
    for n in [
        "e/ipin/chk",
        "lan/c",
        "wan/c",
        "udp/c",
        "icmp/c",
        "other/c",
        "rest/c",
        "ic",
        "e/g/f",
        "e/side",
        "k/c",
    ] {
        assert!(f.find(n).is_some(), "missing {n} in\n{}", unparse(&f));
    }
    assert_eq!(find(&f, "e/ipin/Strip@1").config, "14");
    // PortGate($web, PROTO tcp) with WEBPORT overridden to 80.
    assert_eq!(find(&f, "e/g/f").config, "tcp dst port 80, -");
    assert_eq!(find(&f, "e/side").config, "src net 10.0.0.0/24, -");
    // __REST__ keeps the remaining arguments, commas included.
    assert_eq!(find(&f, "k/c").config, "udp, icmp, -");
    // Overloaded Tap: one argument -> the dumping alternative, none -> the
    // counter with an output.
    assert_eq!(find(&f, "lan/ToDump@2").config, "/tmp/o/g_web_lan.pcap");
    assert_eq!(find(&f, "wan/ToDump@2").config, "/tmp/o/g_web_wan.pcap");
    assert!(f.find("other/ToDump@2").is_none());
    assert_eq!(find(&f, "icmp/ToDump@2").config, "/tmp/o/g_icmp_none.pcap");
    assert_eq!(find(&f, "Sink@5").class, "Discard");
    // The anonymous compound and the group.
    assert_eq!(find(&f, "@12/Paint@1").config, "7");
    assert_eq!(find(&f, "CheckPaint@13").config, "7");
    assert_eq!(find(&f, "Unstrip@19").class, "Unstrip");
    let c = conns(&f);
    for want in [
        "cl[1] -> [0]other/c",
        "other/c[0] -> [0]Sink@5",
        "cl[0] -> [0]e/ipin/Strip@1",
        "e/side[0] -> [0]ul",
        "e/side[1] -> [0]uw",
        "e/g/f[1] -> [0]k/c",
        "k/c[0] -> [0]Unstrip@11",
        "Unstrip@11[0] -> [0]@12/Paint@1",
        "@12/Paint@1[0] -> [0]CheckPaint@13",
        "CheckPaint@13[0] -> [0]udp/c",
        "k/c[1] -> [0]ic",
        "ic[0] -> [0]Unstrip@19",
        "Unstrip@19[0] -> [0]icmp/c",
        "ul[0] -> [0]lan/c",
        "lan/c[0] -> [0]lan/ToDump@2",
    ] {
        assert!(c.contains(&want.to_string()), "missing {want} in {c:?}");
    }
    // Without the override the define's default applies.
    let src = std::fs::read_to_string(dir.join("g_compound/config.click")).unwrap();
    let is = |n: &str| CONFORMANCE_CLASSES.contains(&n);
    let f = parse(&src, "g", &[], &is).unwrap();
    assert_eq!(find(&f, "e/g/f").config, "tcp dst port 8080, -");
}

#[test]
fn conformance_d_ratelimit_and_j_names() {
    let Some(dir) = conformance_dir() else { return };
    let f = parse_case(&dir, "d_ratelimit", &[]).unwrap();
    assert_eq!(find(&f, "l1/rs").config, "RATE 10, BURST_SIZE 5");
    assert_eq!(find(&f, "l1/rs").class, "RatedSplitter");
    assert!(f.find("l3/over").is_some());
    let c = conns(&f);
    assert!(c.contains(&"per[0] -> [0]l1/rs".to_string()), "{c:?}");
    assert!(c.contains(&"l1/rs[1] -> [0]l1/over".to_string()), "{c:?}");
    let f = parse_case(&dir, "j_ipclassifier", &[]).unwrap();
    assert_eq!(
        find(&f, "Out@6/ToDump@2").config,
        "/tmp/o/j_00.pcap, ENCAP IP"
    );
    assert_eq!(
        find(&f, "Out@28/ToDump@2").config,
        "/tmp/o/j_22.pcap, ENCAP IP"
    );
    assert!(conns(&f).contains(&"ipc[22] -> [0]Out@28/c".to_string()));
}

#[test]
fn deep_nesting_within_limits_works() {
    let depth = parser::MAX_DEPTH - 1;
    let mut src = String::from("a :: Idle; a -> ");
    for _ in 0..depth {
        src.push_str("(-> ");
    }
    src.push_str("Null");
    for _ in 0..depth {
        src.push_str(" ->)");
    }
    src.push_str(" -> Discard;");
    assert_eq!(conns(&p(&src)).len(), 2);
    let mut src = String::from("a :: Idle; a -> ");
    for _ in 0..depth {
        src.push_str("{ input -> ");
    }
    src.push_str("Null");
    for _ in 0..depth {
        src.push_str(" -> output }");
    }
    src.push_str(" -> Discard;");
    let f = p(&src);
    assert_eq!(f.elements.len(), 3);
    assert_eq!(conns(&f).len(), 2);
}

#[test]
fn deep_compound_expansion_is_capped() {
    let mut src = String::from("elementclass A0 { input -> Null -> output }\n");
    for i in 1..150 {
        src.push_str(&alloc::format!(
            "elementclass A{i} {{ input -> A{p} -> output }}\n",
            p = i - 1
        ));
    }
    src.push_str("i :: Idle -> A149 -> Discard;");
    let e = errs(&src);
    assert!(
        has_err(
            &e,
            "compound elements nested too deeply (more than 100 levels)"
        ),
        "{e:?}"
    );
    let mut src = String::from("elementclass A0 { input -> Null -> output }\n");
    for i in 1..90 {
        src.push_str(&alloc::format!(
            "elementclass A{i} {{ input -> A{p} -> output }}\n",
            p = i - 1
        ));
    }
    src.push_str("i :: Idle -> A89 -> Discard;");
    let f = p(&src);
    assert_eq!(f.elements.len(), 3);
    assert!(f.elements[2].name.ends_with("/A0@1/Null@1"));
}

#[test]
fn unparse_chain_choice_matches_click() {
    // A connection continues with one leaving the same element's port 0,
    // preferring one that arrives at port 0, never itself.
    let f = p("a :: Tee; b :: Discard; c :: Null; a -> a; a -> b; a -> [1]c; a[1] -> c;");
    assert_eq!(
        unparse(&f).split("\n\n").nth(1).unwrap(),
        "a -> a\n    -> b;\na [1] -> c;\na -> [1] c;\n"
    );
}

#[test]
fn remaining_error_messages() {
    let e = errs("x :: Foo(\\<00 11");
    assert!(
        has_err(
            &e,
            "t.click:1:10: unterminated '\\<' hex string: expected '>' before end of file"
        ),
        "{e:?}"
    );
    let e = errs("elementclass A { x :: Idle -> ( -> x } ");
    assert!(
        has_err(&e, "syntax error: expected ')', found '}'"),
        "{e:?}"
    );
    let e = errs("elementclass { input -> output }");
    assert!(
        has_err(
            &e,
            "t.click:1:14: syntax error: expected element class name, found '{'"
        ),
        "{e:?}"
    );
    let e = errs("elementclass A ;");
    assert!(has_err(&e, "t.click:1:16: syntax error: expected '{' or a class name after 'elementclass', found ';'"), "{e:?}");
    let e = errs("a :: Idle; a -> [1];");
    assert!(
        has_err(
            &e,
            "t.click:1:17: stranded port ignored: expected an element after the port"
        ),
        "{e:?}"
    );
    let e = errs("a :: Idle; a -> Discard, ;");
    assert!(
        has_err(
            &e,
            "t.click:1:26: syntax error: expected an element after ',', found ';'"
        ),
        "{e:?}"
    );
    let e = errs("a :: Idle; b :: Discard; a -> b, -> b;");
    assert!(has_err(&e, "expected an element after ','"), "{e:?}");
    // Names made by expansion may clash with declared ones.
    let e = errs("elementclass C { input -> x :: Null -> output }\nc/x :: Idle; i :: Idle -> c :: C -> Discard;");
    assert!(
        has_err(&e, "t.click:2:27: redeclaration of element 'c/x'"),
        "{e:?}"
    );
    assert!(
        has_err(&e, "t.click:2:1: element 'c/x' previously declared here"),
        "{e:?}"
    );
}

#[test]
fn huge_substitution_is_reported() {
    let mut src = String::from("define($a0 0123456789012345678901234567890123456789");
    for i in 1..8 {
        src.push_str(&alloc::format!(
            ", $a{i} $a{p}$a{p}$a{p}$a{p}$a{p}$a{p}$a{p}$a{p}",
            p = i - 1
        ));
    }
    src.push_str(");\nx :: Foo($a7);");
    let e = errs(&src);
    assert_eq!(e, ["t.click:2:10: variable expansion too large"]);
}

#[test]
fn undeclared_elements_are_matched_to_declared_names_then_classes() {
    let suggest = |n: &str| crate::suggest::closest(n, CLASSES.iter().copied()).map(String::from);
    let src = "eth :: Idle;\neth -> ehh;\nehh2 -> discard;\nc :: Counter -> Discard;\nIdle -> C;";
    let (_, errs) = parse_all(src, "t.click", &[], &is_class, &suggest);
    let got: Vec<_> = errs
        .0
        .iter()
        .map(|e| (e.message.as_str(), e.suggestion.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("undeclared element 'ehh'", Some("eth")),
            ("undeclared element 'ehh2'", None),
            ("undeclared element 'discard'", Some("Discard")),
            ("undeclared element 'C'", Some("c")),
        ]
    );
}

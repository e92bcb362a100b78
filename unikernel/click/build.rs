//! Generates the element documentation table (`docs` module, `std` only)
//! from the `//!` blocks of `src/elements/**/*.rs`.

include!("docgen.rs");

fn main() {
    generate("src/elements", "element_docs.rs");
}

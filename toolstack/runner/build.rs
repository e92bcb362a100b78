//! Generates the host elements' documentation table with the engine's
//! generator.

include!("../../unikernel/click/docgen.rs");

fn main() {
    generate("src/elements", "host_element_docs.rs");
}

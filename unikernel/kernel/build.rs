//! Passes the linker script only when linking the bare-metal image, so host
//! unit-test builds link normally; bakes in the default config named by
//! `MB_CONFIG` (a path; `make image CONFIG=...` sets it), else an empty one.

fn main() {
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-env-changed=MB_CONFIG");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let (name, text) = match std::env::var("MB_CONFIG") {
        Ok(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={path}");
            let text =
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("MB_CONFIG={path}: {e}"));
            let name = std::path::Path::new(&path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, text)
        }
        _ => (String::new(), String::new()),
    };
    std::fs::write(format!("{out}/default.click"), text).expect("writing default.click");
    println!("cargo:rustc-env=MB_CONFIG_NAME={name}");
    println!("cargo:rerun-if-changed=src/boot/entry.S");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target == "x86_64-unknown-none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg=-T{dir}/linker.ld");
        println!("cargo:rustc-link-arg=--gc-sections");
    }
}

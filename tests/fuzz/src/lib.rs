//! The fuzz targets' bodies, one module each: `fuzz_targets/<name>.rs`
//! hands libFuzzer's inputs to `<name>::run`, and `tests/replay.rs` runs
//! every committed corpus and seed file through the same functions as an
//! ordinary test (no libFuzzer, no cargo-fuzz, no nightly flags).

#[path = "../common/gateway.rs"]
pub mod gateway;

pub mod frames;
pub mod frames6;
pub mod ipfilter;
pub mod parse_config;
pub mod xs_codec;
pub mod xs_server;

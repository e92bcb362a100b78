//! libFuzzer's entry to [`mb_fuzz::parse_config`] (see there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mb_fuzz::parse_config::run(data));

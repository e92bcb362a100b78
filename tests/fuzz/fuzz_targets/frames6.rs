//! libFuzzer's entry to [`mb_fuzz::frames6`] (see there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mb_fuzz::frames6::run(data));

//! libFuzzer's entry to [`mb_fuzz::xs_server`] (see there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mb_fuzz::xs_server::run(data));

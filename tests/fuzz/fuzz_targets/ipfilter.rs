//! libFuzzer's entry to [`mb_fuzz::ipfilter`] (see there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mb_fuzz::ipfilter::run(data));

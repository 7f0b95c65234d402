//! cargo-fuzz target `verify_basic`: the body is `flockrelay::ingest::inbound::fuzz::verify_basic`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flockrelay::ingest::inbound::fuzz::verify_basic(data));

//! cargo-fuzz target `verify_bearer`: the body is `flockrelay::ingest::inbound::fuzz::verify_bearer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flockrelay::ingest::inbound::fuzz::verify_bearer(data));

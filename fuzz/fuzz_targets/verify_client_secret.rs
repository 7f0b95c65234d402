//! cargo-fuzz target `verify_client_secret`: the body is `flockrelay::ingest::inbound::fuzz::verify_client_secret`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flockrelay::ingest::inbound::fuzz::verify_client_secret(data));

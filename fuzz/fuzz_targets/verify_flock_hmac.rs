//! cargo-fuzz target `verify_flock_hmac`: the body is `flockrelay::ingest::inbound::fuzz::verify_flock_hmac`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flockrelay::ingest::inbound::fuzz::verify_flock_hmac(data));

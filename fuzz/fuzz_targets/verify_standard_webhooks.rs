//! cargo-fuzz target `verify_standard_webhooks`: the body is `flockrelay::ingest::inbound::fuzz::verify_standard_webhooks`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flockrelay::ingest::inbound::fuzz::verify_standard_webhooks(data));

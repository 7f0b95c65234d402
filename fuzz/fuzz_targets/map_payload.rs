//! cargo-fuzz target `map_payload`: the body is `flockrelay::ingest::inbound::fuzz::map_payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flockrelay::ingest::inbound::fuzz::map_payload(data));

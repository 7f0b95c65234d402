//! The fuzz targets run briefly on stable: every entry of `fuzz/corpus/<target>/`,
//! then seeded pseudo-random mutations of them (and some pure noise). The bodies
//! are `flockrelay::ingest::inbound::fuzz::*`, the same functions the cargo-fuzz targets
//! in `fuzz/fuzz_targets/` call.
//!
//! This is a smoke run, not coverage-guided fuzzing: it catches panics and broken
//! properties on inputs near the corpus. Real fuzzing needs nightly:
//! `cd fuzz && cargo +nightly fuzz run <target>`. For a longer stable run:
//! `FLOCKRELAY_TEST_FUZZ_ITERATIONS=200000 cargo test --test it fuzz::`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use flockrelay::ingest::inbound::fuzz::{Target, TARGETS};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::support::root;

/// Mutated inputs per target in the normal test run.
const ITERATIONS: usize = 3_000;

/// Fragments that tend to matter to the parsers under test.
const TOKENS: [&[u8]; 16] = [
    b"\n",
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"v1,",
    b"whsec_",
    b"Basic ",
    b"Bearer ",
    b"-9223372036854775808",
    b"1700000000",
    b"\"timestamp\":",
    b"\"client_secret\":",
];

fn iterations() -> usize {
    std::env::var("FLOCKRELAY_TEST_FUZZ_ITERATIONS").ok().and_then(|text| text.parse().ok()).unwrap_or(ITERATIONS)
}

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = root().join("fuzz/corpus").join(name);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("readable entry").path())
        .collect();
    entries.sort();
    let corpus: Vec<Vec<u8>> = entries.iter().map(|path| std::fs::read(path).expect("readable file")).collect();
    assert!(!corpus.is_empty(), "{} holds no seed", dir.display());
    corpus
}

/// One to four random edits of a corpus entry, or (one time in ten) noise.
fn mutate(rng: &mut StdRng, corpus: &[Vec<u8>]) -> Vec<u8> {
    if rng.random_ratio(1, 10) {
        return (0..rng.random_range(0..256)).map(|_| rng.random()).collect();
    }
    let mut input = corpus[rng.random_range(0..corpus.len())].clone();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..=input.len());
        match rng.random_range(0..7) {
            0 if !input.is_empty() => {
                let index = at.min(input.len() - 1);
                input[index] ^= 1 << rng.random_range(0..8);
            }
            1 if !input.is_empty() => {
                let index = at.min(input.len() - 1);
                input[index] = rng.random();
            }
            2 => {
                let end = rng.random_range(at..=input.len());
                input.drain(at..end);
            }
            3 => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                input.splice(at..at, token.iter().copied());
            }
            4 => {
                let other = &corpus[rng.random_range(0..corpus.len())];
                let from = rng.random_range(0..=other.len());
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
            5 => {
                let end = rng.random_range(at..=input.len());
                let copy = input[at..end].to_vec();
                input.splice(at..at, copy);
            }
            _ => {
                let noise: Vec<u8> = (0..rng.random_range(1..8)).map(|_| rng.random()).collect();
                input.splice(at..at, noise);
            }
        }
    }
    input
}

fn run(name: &str) {
    let target: Target =
        TARGETS.iter().find(|(known, _)| *known == name).map(|(_, target)| *target).expect("known target");
    let corpus = corpus(name);
    let mut rng = StdRng::seed_from_u64(
        name.bytes().fold(0x5eed_u64, |seed, byte| seed.wrapping_mul(31).wrapping_add(u64::from(byte))),
    );
    let inputs = corpus.clone().into_iter().chain((0..iterations()).map(|_| mutate(&mut rng, &corpus)));
    for input in inputs {
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            panic!("fuzz target {name} failed on input {:?}", String::from_utf8_lossy(&input));
        }
    }
}

#[test]
fn every_target_has_a_cargo_fuzz_binary() {
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).expect("fuzz/Cargo.toml exists");
    for (name, _) in TARGETS {
        assert!(manifest.contains(&format!("name = \"{name}\"")), "{name} is not a [[bin]] of fuzz/Cargo.toml");
        let source =
            std::fs::read_to_string(root().join(format!("fuzz/fuzz_targets/{name}.rs"))).expect("target file exists");
        assert!(
            source.contains(&format!("flockrelay::ingest::inbound::fuzz::{name}(data)")),
            "{name}.rs calls another body"
        );
    }
}

#[test]
fn verify_standard_webhooks_survives_the_short_run() {
    run("verify_standard_webhooks");
}

#[test]
fn verify_flock_hmac_survives_the_short_run() {
    run("verify_flock_hmac");
}

#[test]
fn verify_basic_survives_the_short_run() {
    run("verify_basic");
}

#[test]
fn verify_client_secret_survives_the_short_run() {
    run("verify_client_secret");
}

#[test]
fn verify_bearer_survives_the_short_run() {
    run("verify_bearer");
}

#[test]
fn map_payload_survives_the_short_run() {
    run("map_payload");
}

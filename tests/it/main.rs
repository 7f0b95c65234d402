//! The one integration-test binary: every test talks to real loopback HTTP
//! servers and the real `flockrelay` binary.

mod cli;
mod config;
mod generic;
mod outbox;
mod signing;
mod slack;
mod store;
mod splunk_hec;
mod support;
mod teams;
mod templates;

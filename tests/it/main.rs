//! The one integration-test binary: every test talks to real loopback HTTP
//! servers and the real `flockrelay` binary.

mod browser;
mod canary_api;
mod cli;
mod config;
mod console;
mod fuzz;
mod generic;
mod hooks;
mod openapi;
mod outbox;
mod pause;
mod policy;
mod process;
mod relay;
mod signing;
mod slack;
mod splunk_hec;
mod store;
mod support;
mod teams;
mod templates;

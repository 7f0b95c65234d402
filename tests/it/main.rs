//! The one integration-test binary: every test talks to real loopback HTTP
//! servers and the real `flockrelay` binary.

mod canary_api;
mod cli;
mod config;
mod fuzz;
mod generic;
mod openapi;
mod policy;
mod process;
mod relay;
mod hooks;
mod signing;
mod slack;
mod store;
mod splunk_hec;
mod support;
mod teams;
mod templates;

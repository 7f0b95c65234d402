//! The one integration-test binary: every test talks to real loopback HTTP
//! servers and the real `flockrelay` binary.

mod canary_api;
mod chain;
mod cli;
mod command_line;
mod config;
mod flock;
mod fuzz;
mod generic;
mod hooks;
mod hostile;
mod logs;
mod loops;
mod monitoring;
mod namespaces;
mod openapi;
mod outbox;
mod pacing;
mod pause;
mod policy;
mod process;
mod relay;
mod render;
mod secret_files;
mod secrets;
mod secrets_at_rest;
mod signing;
mod slack;
mod splunk_hec;
mod standard_webhooks;
mod store;
mod support;
mod teams;
mod teams_markup;
mod templates;

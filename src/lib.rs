//! flockrelay: a self-hosted relay for security alerts.
//!
//! An alert flows left to right exactly once:
//!
//! ```text
//! api    ──► alert ──► routing ──► render ──► store (outbox) ──► delivery::worker ──► notify::http
//! (ingest)           (catalogue)  (payload)  (one transaction)   (claim, send,      (classify)
//!                                                                 record)
//! ```
//!
//! Modules, in data-flow order:
//! - [`ingest`] — the `Ingest` service: accepting alerts from every origin: namespace,
//!   resolve, render, group commit. Its [`ingest::inbound`] — inbound webhooks: per-source
//!   verification (the `Verifier` seam), payload-to-alert mapping, `receive` — is pure.
//! - [`alert`] — the normalized `Alert` and its two JSON forms (ours, Canary's). Pure.
//! - [`limits`] — what is accepted from outside (lengths, depth, no NUL), checked before the store. Pure.
//! - [`origin`] — the id and idempotency namespace of each origin (API, each source, CLI). Pure.
//! - [`flock`] — flocks and their webhook settings (`use_global`, `enabled`). Pure.
//! - [`destination`] — configured webhooks: scope, channel, template, filter, state. Pure.
//! - [`routing`] — the per-flock resolver: alert → destinations. Pure.
//! - [`catalogue`] — the stored flocks and destinations ingest resolves against, and the
//!   `Registry` every change to flocks, destinations and sources goes through.
//! - [`render`] — Tera templates (built-in + overrides), JSON-safe filters.
//! - [`notify`] — the channel kinds and their settings (`notify::channel`, pure data);
//!   the `Notifier` seam: Slack, Teams, Splunk HEC, generic (each with its settings'
//!   one `validate()`); sending.
//! - [`signing`] — Standard Webhooks and Flock HMAC signatures, both directions. Pure.
//! - [`store`] — the `Store` seam, one trait per concern: the durable outbox and catalogue
//!   (SQLite, PostgreSQL).
//! - [`storm`] — alert storms: grouping into digests, duplicate suppression, silences.
//! - [`outbox`] — the `Outbox` service: the stored messages: list, show, replay, recover; silences.
//! - [`delivery`] — the `Delivery` service: its supervisor and one worker per destination;
//!   pacing, the retry rule, the breaker; what operators see of it (overview).
//! - [`metrics`] — Prometheus metrics for `/metrics`.
//! - [`direct`] — an alert delivered now, without the outbox (`test`, `send`).
//! - [`api`] — `flockrelay serve`'s HTTP API: ingest, operator, and the
//!   Canary-style management API (flocks and their webhooks), with its OpenAPI document.
//!   Handlers call the four services in `api::AppState`, never the store.
//! - [`console`] — the operator console: HTML pages at `/` on the same functions as the API.
//! - [`config`] — figment layers, `deny_unknown_fields`, `validate` naming keys.
//! - [`secret`] — `Secret`, a string that prints as `********`.
//! - [`files`] — the data directory and secret-holding files: created 0700/0600.
//! - [`hops`] — the loop guard's hop count (`X-Flockrelay-Hops`). Pure.
//! - [`telemetry`] — tracing set-up.
//! - [`cli`] — the `flockrelay` commands; the only place `anyhow` is used.
//! - `fault` — test-only fault injection (feature `fault-injection`); the fuzz bodies in
//!   `ingest::inbound::fuzz` are test-only too (feature `fuzzing`).

pub mod alert;
pub mod api;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod console;
pub mod delivery;
pub mod destination;
pub mod direct;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod files;
pub mod flock;
pub mod hops;
pub mod ingest;
pub mod limits;
pub mod metrics;
pub mod notify;
pub mod origin;
pub mod outbox;
pub mod render;
pub mod routing;
pub mod secret;
pub mod signing;
pub mod store;
pub mod storm;
pub mod telemetry;

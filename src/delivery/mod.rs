//! Delivery: one worker per enabled destination claims its messages (a lease),
//! paces them, sends, classifies the answer and settles each message —
//! delivered, retried later, or failed — recording every attempt.
//!
//! - [`worker`] — the per-destination loop: claim, pace, send, settle.
//! - [`settle`] — recording a batch's attempts and outcomes; Splunk HEC acks.
//! - [`pacing`] — a destination's effective rate and concurrency.
//! - [`retry`] — the retry schedule (a pure rule of the attempt number).
//! - [`breaker`] — the per-destination circuit breaker.
//!
//! The supervisor that starts and stops workers as the catalogue changes is
//! `Outbox::run`; the outbox owns the wakers, breakers and limiters the workers
//! share. Delivery never ingests and never changes the catalogue.

pub mod breaker;
pub mod pacing;
pub mod retry;
pub mod settle;
pub mod worker;

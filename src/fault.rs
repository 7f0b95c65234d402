//! Fault injection for tests only (feature `fault-injection`, turned on by the
//! crate's dev-dependency on itself, never in a normal build): make every send
//! to a destination panic, so the integration tests can prove that a panicking
//! send is recorded as an attempt and never leaves a message `delivering`.
//! Armed per destination id, so tests running side by side do not interfere.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

fn armed() -> std::sync::MutexGuard<'static, HashMap<String, String>> {
    static ARMED: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    ARMED.get_or_init(Mutex::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// From now on, every send to `destination_id` panics with `reason`.
pub fn panic_on_send(destination_id: &str, reason: &str) {
    armed().insert(destination_id.to_owned(), reason.to_owned());
}

/// Sends to `destination_id` behave normally again.
pub fn disarm(destination_id: &str) {
    armed().remove(destination_id);
}

/// Called at the start of every send: panics when the destination is armed.
pub fn before_send(destination_id: &str) {
    let reason = armed().get(destination_id).cloned();
    if let Some(reason) = reason {
        panic!("{reason}");
    }
}

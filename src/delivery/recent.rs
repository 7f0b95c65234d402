//! What happened in the last hour, for the console's overview and sources
//! pages: per destination, how many messages were delivered, failed for good
//! or will be retried; per inbound source, how many requests were refused and
//! why. Counted in this process, in one-minute buckets, at the same places as
//! the Prometheus counters (which only ever grow, so they cannot answer "in
//! the last hour"). Several relays sharing a database each count their own.
//!
//! It owns no I/O and never reads the store; every call takes `now`.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// How far back the figures reach, in minutes.
pub const WINDOW_MINUTES: i64 = 60;

/// Most distinct keys one window keeps: source ids come from request paths, so
/// the refusals of made-up ids must not grow memory without bound.
const MAX_KEYS: usize = 1_000;

/// What became of a message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Settled {
    Delivered,
    Failed,
    Retried,
}

/// Counts of one key in the window, and when it last happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    pub last: DateTime<Utc>,
}

#[derive(Debug)]
struct Buckets {
    /// (minute since the epoch, count), oldest first.
    minutes: VecDeque<(i64, u64)>,
    last: DateTime<Utc>,
}

/// Per-key counts over the last [`WINDOW_MINUTES`] minutes.
#[derive(Debug)]
pub struct Window<K> {
    keys: Mutex<HashMap<K, Buckets>>,
}

impl<K> Default for Window<K> {
    fn default() -> Self {
        Self { keys: Mutex::new(HashMap::new()) }
    }
}

fn minute(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(60)
}

impl<K: Eq + Hash + Clone> Window<K> {
    /// Counts one event of `key` at `now`.
    pub fn add(&self, key: K, now: DateTime<Utc>) {
        let current = minute(now);
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !keys.contains_key(&key) && keys.len() >= MAX_KEYS {
            keys.retain(|_, buckets| buckets.minutes.back().is_some_and(|(at, _)| current - at < WINDOW_MINUTES));
            if keys.len() >= MAX_KEYS {
                return;
            }
        }
        let buckets = keys.entry(key).or_insert_with(|| Buckets { minutes: VecDeque::new(), last: now });
        buckets.last = buckets.last.max(now);
        match buckets.minutes.back_mut() {
            Some((at, count)) if *at == current => *count += 1,
            _ => buckets.minutes.push_back((current, 1)),
        }
        while buckets.minutes.front().is_some_and(|(at, _)| current - at >= WINDOW_MINUTES) {
            buckets.minutes.pop_front();
        }
    }

    /// Every key with events in the window ending at `now`, with its count.
    pub fn tallies(&self, now: DateTime<Utc>) -> HashMap<K, Tally> {
        let current = minute(now);
        let keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.iter()
            .filter_map(|(key, buckets)| {
                let count: u64 = buckets
                    .minutes
                    .iter()
                    .filter(|(at, _)| current - at < WINDOW_MINUTES && *at <= current)
                    .map(|(_, count)| count)
                    .sum();
                (count > 0).then(|| (key.clone(), Tally { count, last: buckets.last }))
            })
            .collect()
    }
}

/// The last hour of this process.
#[derive(Debug, Default)]
pub struct Recent {
    /// (destination id, what became of the message).
    pub settled: Window<(String, Settled)>,
    /// (source id as requested, refusal reason such as `hook_bad_credentials`).
    pub refusals: Window<(String, &'static str)>,
}

impl Recent {
    /// Delivered / failed / retried counts of one destination in the window.
    pub fn settled_of(&self, tallies: &HashMap<(String, Settled), Tally>, destination_id: &str) -> [u64; 3] {
        [Settled::Delivered, Settled::Failed, Settled::Retried]
            .map(|settled| tallies.get(&(destination_id.to_owned(), settled)).map_or(0, |tally| tally.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).expect("valid time")
    }

    #[test]
    fn counts_leave_the_window_after_an_hour() {
        let window = Window::default();
        window.add("a", at(0));
        window.add("a", at(0));
        window.add("a", at(30));
        window.add("b", at(59));
        assert_eq!(window.tallies(at(59))["a"].count, 3);
        assert_eq!(window.tallies(at(60))["a"].count, 1, "the first minute has left the window");
        assert_eq!(window.tallies(at(60))["a"].last, at(30));
        assert!(!window.tallies(at(90)).contains_key("a"));
        assert_eq!(window.tallies(at(90))["b"].count, 1);
    }

    #[test]
    fn made_up_keys_are_bounded() {
        let window = Window::default();
        for index in 0..(MAX_KEYS + 50) {
            window.add(index, at(0));
        }
        assert_eq!(window.tallies(at(0)).len(), MAX_KEYS);
        window.add(MAX_KEYS + 100, at(61));
        assert_eq!(window.tallies(at(61)).len(), 1, "keys silent for an hour make room");
    }
}

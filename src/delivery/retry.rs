//! The retry rule: when the next attempt of a message is due, from the schedule
//! (data in the config, not code), the channel's `Retry-After`, and jitter.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::DeliveryConfig;

/// Attempt times and the limits around them.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Wait before attempt n+1 is `schedule[n]`; `schedule[0]` is the first
    /// attempt ("immediately"). When spent, the message fails.
    schedule: Vec<Duration>,
    jitter: f64,
    max_retry_after: Duration,
}

impl RetryPolicy {
    pub fn new(schedule: Vec<Duration>, jitter: f64, max_retry_after: Duration) -> Self {
        Self { schedule, jitter: jitter.clamp(0.0, 1.0), max_retry_after }
    }

    pub fn from_config(delivery: &DeliveryConfig) -> Self {
        Self::new(
            delivery.retry_schedule.iter().map(|wait| wait.0).collect(),
            delivery.jitter,
            delivery.max_retry_after.0,
        )
    }

    /// How many attempts a message gets before it fails.
    pub fn attempts(&self) -> usize {
        self.schedule.len().max(1)
    }

    /// When to try again after `tries` attempts have failed, or `None` when the
    /// schedule is spent. `random` is uniform in [0, 1); the channel's
    /// `Retry-After` (capped) wins when it is longer than the jittered wait.
    pub fn next_attempt(
        &self,
        tries: u32,
        retry_after: Option<Duration>,
        now: DateTime<Utc>,
        random: f64,
    ) -> Option<DateTime<Utc>> {
        let index = usize::try_from(tries).ok()?;
        if index >= self.attempts() {
            return None;
        }
        let planned = self.schedule.get(index).copied().unwrap_or_default();
        let spread = 1.0 + self.jitter * (2.0 * random.clamp(0.0, 1.0) - 1.0);
        // Not `mul_f64`, which panics past Duration::MAX: a configured wait can be that long.
        let mut wait = Duration::try_from_secs_f64(planned.as_secs_f64() * spread).unwrap_or(Duration::MAX);
        if let Some(asked) = retry_after.map(|asked| asked.min(self.max_retry_after)) {
            wait = wait.max(asked);
        }
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        Some(now.checked_add_signed(wait).unwrap_or(DateTime::<Utc>::MAX_UTC))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn policy(jitter: f64) -> RetryPolicy {
        let schedule = [0, 5, 300, 1800].map(Duration::from_secs).to_vec();
        RetryPolicy::new(schedule, jitter, Duration::from_secs(3600))
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid date")
    }

    fn wait(at: Option<DateTime<Utc>>) -> Option<i64> {
        at.map(|at| (at - now()).num_milliseconds())
    }

    #[test]
    fn follows_the_schedule_then_gives_up() {
        let policy = policy(0.0);
        assert_eq!(wait(policy.next_attempt(1, None, now(), 0.5)), Some(5_000));
        assert_eq!(wait(policy.next_attempt(2, None, now(), 0.5)), Some(300_000));
        assert_eq!(wait(policy.next_attempt(3, None, now(), 0.5)), Some(1_800_000));
        assert_eq!(policy.next_attempt(4, None, now(), 0.5), None, "four attempts in all");
    }

    #[test]
    fn retry_after_wins_when_longer_and_is_capped() {
        let policy = policy(0.0);
        assert_eq!(wait(policy.next_attempt(1, Some(Duration::from_secs(30)), now(), 0.5)), Some(30_000));
        assert_eq!(wait(policy.next_attempt(2, Some(Duration::from_secs(30)), now(), 0.5)), Some(300_000));
        assert_eq!(wait(policy.next_attempt(1, Some(Duration::from_secs(86_400)), now(), 0.5)), Some(3_600_000));
    }

    #[test]
    fn waits_too_long_for_any_clock_do_not_panic() {
        let policy = RetryPolicy::new(vec![Duration::ZERO, Duration::MAX], 1.0, Duration::MAX);
        assert_eq!(policy.next_attempt(1, None, now(), 0.999), Some(DateTime::<Utc>::MAX_UTC));
        assert_eq!(policy.next_attempt(1, Some(Duration::MAX), now(), 0.0), Some(DateTime::<Utc>::MAX_UTC));
        assert_eq!(policy.next_attempt(u32::MAX, None, now(), 0.5), None);
    }

    #[test]
    fn jitter_spreads_waits_within_its_fraction() {
        let policy = policy(0.2);
        assert_eq!(wait(policy.next_attempt(2, None, now(), 0.0)), Some(240_000));
        assert_eq!(wait(policy.next_attempt(2, None, now(), 0.999_999)), Some(359_999));
        assert_eq!(wait(policy.next_attempt(2, None, now(), 0.5)), Some(300_000));
    }
}

//! The circuit breaker of one destination: after `threshold` consecutive failed
//! attempts the destination is paused for a cool-down, then one trial request
//! decides whether it opens again (success) or pauses again (failure).

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What a worker may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Send as usual.
    Send,
    /// Send exactly one trial request.
    Trial,
    /// Paused until then.
    WaitUntil(DateTime<Utc>),
}

/// The breaker's state, as the API and metrics show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState {
    Closed { consecutive_failures: u32 },
    Open { until: DateTime<Utc> },
    HalfOpen,
}

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<BreakerState>,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(BreakerState::Closed { consecutive_failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn state(&self) -> BreakerState {
        *self.lock()
    }

    /// Asks to send at `now`.
    pub fn permit(&self, now: DateTime<Utc>) -> Permit {
        let mut state = self.lock();
        match *state {
            BreakerState::Closed { .. } => Permit::Send,
            BreakerState::Open { until } if now < until => Permit::WaitUntil(until),
            BreakerState::Open { .. } => {
                *state = BreakerState::HalfOpen;
                Permit::Trial
            }
            // The trial is in flight; ask again shortly.
            BreakerState::HalfOpen => Permit::WaitUntil(now + chrono::Duration::milliseconds(100)),
        }
    }

    /// A trial permit that found nothing to send: pause is over, but nothing was
    /// learnt; the next round may try again.
    pub fn abandon_trial(&self, now: DateTime<Utc>) {
        let mut state = self.lock();
        if *state == BreakerState::HalfOpen {
            *state = BreakerState::Open { until: now };
        }
    }

    /// Records the results of attempts (true = delivered). Returns true when
    /// this opened the breaker.
    pub fn record(&self, results: impl IntoIterator<Item = bool>, now: DateTime<Utc>) -> bool {
        let mut state = self.lock();
        let was_open = !matches!(*state, BreakerState::Closed { .. });
        for delivered in results {
            *state = match (*state, delivered) {
                (_, true) => BreakerState::Closed { consecutive_failures: 0 },
                (BreakerState::Closed { consecutive_failures }, false) if consecutive_failures + 1 < self.threshold => {
                    BreakerState::Closed { consecutive_failures: consecutive_failures + 1 }
                }
                (BreakerState::Open { until }, false) => BreakerState::Open { until },
                (_, false) => {
                    // Checked: a cool-down past the end of the calendar pauses for good, never panics.
                    let cooldown = chrono::Duration::from_std(self.cooldown).unwrap_or(chrono::Duration::MAX);
                    BreakerState::Open { until: now.checked_add_signed(cooldown).unwrap_or(DateTime::<Utc>::MAX_UTC) }
                }
            };
        }
        !was_open && matches!(*state, BreakerState::Open { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0).single().expect("valid time")
    }

    #[test]
    fn opens_after_the_threshold_and_closes_after_a_good_trial() {
        let breaker = Breaker::new(3, Duration::from_secs(30));
        assert!(!breaker.record([false, false], at(0)));
        assert_eq!(breaker.permit(at(0)), Permit::Send);
        assert!(breaker.record([false], at(1)), "third failure opens it");
        assert_eq!(breaker.permit(at(10)), Permit::WaitUntil(at(31)));
        assert_eq!(breaker.permit(at(31)), Permit::Trial);
        assert!(matches!(breaker.permit(at(31)), Permit::WaitUntil(_)), "one trial at a time");
        breaker.record([true], at(32));
        assert_eq!(breaker.state(), BreakerState::Closed { consecutive_failures: 0 });
    }

    #[test]
    fn a_cooldown_too_long_for_any_clock_does_not_panic() {
        let breaker = Breaker::new(1, Duration::MAX);
        assert!(breaker.record([false], at(0)));
        assert_eq!(breaker.state(), BreakerState::Open { until: DateTime::<Utc>::MAX_UTC });
    }

    #[test]
    fn a_failed_trial_pauses_again_and_a_success_resets_the_count() {
        let breaker = Breaker::new(2, Duration::from_secs(30));
        breaker.record([false, true, false], at(0));
        assert_eq!(breaker.permit(at(0)), Permit::Send, "the success in between reset the count");
        breaker.record([false], at(0));
        assert_eq!(breaker.permit(at(30)), Permit::Trial);
        breaker.record([false], at(30));
        assert_eq!(breaker.state(), BreakerState::Open { until: at(60) });
    }
}

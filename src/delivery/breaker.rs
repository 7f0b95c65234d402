//! The circuit breaker of one destination: after `threshold` consecutive failed
//! attempts the destination is paused for a cool-down, then one trial request
//! decides whether it opens again (success) or pauses again (failure). An
//! answer that refuses the destination as a whole (a revoked token, a removed
//! webhook) pauses it at once, with the channel's reason kept until the
//! destination works again.

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

/// Why a destination is paused as a whole: the channel's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pause {
    /// A short, fixed code (`hec_code_4`, `http_401`, `slack_no_service`): the
    /// metric's label.
    pub cause: String,
    /// The channel's answer (`HTTP 403: HEC code 4: Invalid token`).
    pub reason: String,
}

/// The breaker as the API shows it: its state and, while the destination is
/// paused as a whole, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerView {
    #[serde(flatten)]
    pub state: BreakerState,
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub pause: Option<Pause>,
}

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<BreakerState>,
    pause: Mutex<Option<Pause>>,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(BreakerState::Closed { consecutive_failures: 0 }),
            pause: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_pause(&self) -> std::sync::MutexGuard<'_, Option<Pause>> {
        self.pause.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn state(&self) -> BreakerState {
        *self.lock()
    }

    /// Why the destination is paused as a whole, if it is.
    pub fn pause_reason(&self) -> Option<Pause> {
        self.lock_pause().clone()
    }

    /// The state with the pause reason, for the API.
    pub fn view(&self) -> BreakerView {
        BreakerView { state: self.state(), pause: self.pause_reason() }
    }

    /// The destination refused as a whole: pause it for the cool-down at once,
    /// whatever the count of failures, keeping `pause` as the reason. Returns
    /// true when this is news (it was not already paused for the same cause).
    pub fn pause(&self, pause: Pause, now: DateTime<Utc>) -> bool {
        let mut state = self.lock();
        *state = BreakerState::Open { until: now + chrono::Duration::from_std(self.cooldown).unwrap_or_default() };
        let mut current = self.lock_pause();
        let news = current.as_ref().is_none_or(|current| current.cause != pause.cause);
        *current = Some(pause);
        news
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
    /// this opened the breaker. Answers of the ordinary kind end a pause of the
    /// destination as a whole: its reason no longer applies.
    pub fn record(&self, results: impl IntoIterator<Item = bool>, now: DateTime<Utc>) -> bool {
        *self.lock_pause() = None;
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
    fn a_destination_wide_refusal_pauses_at_once_and_a_good_trial_ends_the_pause() {
        let breaker = Breaker::new(10, Duration::from_secs(30));
        let pause = Pause { cause: "hec_code_4".into(), reason: "HTTP 403: HEC code 4: Invalid token".into() };
        assert!(breaker.pause(pause.clone(), at(0)), "news");
        assert_eq!(breaker.permit(at(1)), Permit::WaitUntil(at(30)), "no threshold to reach");
        let shown = serde_json::to_value(breaker.view()).expect("serializes");
        assert_eq!(shown["state"], "open");
        assert_eq!(shown["cause"], "hec_code_4");
        assert_eq!(shown["reason"], "HTTP 403: HEC code 4: Invalid token");
        assert_eq!(breaker.permit(at(30)), Permit::Trial);
        assert!(!breaker.pause(pause, at(30)), "the same cause again is no news");
        assert_eq!(breaker.state(), BreakerState::Open { until: at(60) });
        assert_eq!(breaker.permit(at(60)), Permit::Trial);
        breaker.record([true], at(61));
        assert_eq!(
            breaker.view(),
            BreakerView { state: BreakerState::Closed { consecutive_failures: 0 }, pause: None }
        );
        let shown = serde_json::to_value(breaker.view()).expect("serializes");
        assert_eq!(shown, serde_json::json!({"state": "closed", "consecutive_failures": 0}));
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

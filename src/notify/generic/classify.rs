//! Generic endpoints answer as Standard Webhooks receivers: 2xx is delivered;
//! 410 Gone fails and asks for the destination to be disabled; every other
//! answer (3xx — redirects are never followed —, 4xx, 5xx) is a failed attempt
//! that is retried, honouring `Retry-After`, as the spec's sender does. A
//! destination may list statuses that fail a message at once instead
//! (`permanent_statuses`).

use crate::notify::{status_and_body, ChannelAnswer, Outcome};

/// Classifies `answer`; statuses in `permanent` fail at once.
pub fn classify(answer: &ChannelAnswer, permanent: &[u16]) -> Outcome {
    match answer.status {
        200..=299 => Outcome::Delivered,
        410 => Outcome::Failed { reason: status_and_body(answer), disable_destination: true },
        status if permanent.contains(&status) => Outcome::failed(status_and_body(answer)),
        _ => Outcome::retry(answer.retry_after, status_and_body(answer)),
    }
}

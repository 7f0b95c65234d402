//! Teams' answers: 2xx is delivered (Workflows answers 202 Accepted, connectors
//! 200 with `1`); 429 (throttled) and 5xx retry, honouring `Retry-After`; 410
//! fails and asks for the destination to be disabled. 401 and 403 (the
//! workflow's signature or its owner's rights refused) and 404 (the workflow or
//! connector no longer exists) refuse the URL itself and pause the destination;
//! other 4xx fail the message.
//!
//! Legacy connectors are known to answer 200 with a text such as `Webhook message
//! delivery failed with error: Microsoft Teams endpoint returned HTTP error 429`
//! instead of an error status; such an answer is read for the status it names.

use crate::notify::{classify_http, status_and_body, ChannelAnswer, Outcome};

/// The text legacy connectors put in a 200 answer that is really an error.
const CONNECTOR_FAILURE: &str = "Webhook message delivery failed";

/// Statuses that refuse the destination as a whole.
const DESTINATION_STATUSES: [u16; 3] = [401, 403, 404];

pub fn classify(answer: &ChannelAnswer) -> Outcome {
    if (200..=299).contains(&answer.status) && answer.body.contains(CONNECTOR_FAILURE) {
        let reason = status_and_body(answer);
        return match embedded_status(&answer.body) {
            Some(status @ (408 | 425 | 429 | 500..=599)) => {
                Outcome::retry(answer.retry_after, format!("connector reported HTTP {status}: {reason}"))
            }
            Some(status) if DESTINATION_STATUSES.contains(&status) => {
                Outcome::paused(format!("http_{status}"), format!("connector reported HTTP {status}: {reason}"))
            }
            _ => Outcome::failed(reason),
        };
    }
    if DESTINATION_STATUSES.contains(&answer.status) {
        return Outcome::paused(format!("http_{}", answer.status), status_and_body(answer));
    }
    classify_http(answer, status_and_body)
}

/// The status in `… HTTP error 429 …`, if the connector named one.
fn embedded_status(body: &str) -> Option<u16> {
    let (_, after) = body.split_once("HTTP error")?;
    let digits: String = after.trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

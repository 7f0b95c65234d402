//! Slack's answers to an incoming-webhook POST: `200 ok` is delivered; 429 waits
//! for `Retry-After`; 5xx retries; `invalid_payload`, `invalid_blocks` (400),
//! `action_prohibited` (403), `channel_not_found`/`no_service` (404) fail at once;
//! `channel_is_archived` (410) fails and asks for the destination to be disabled.

use crate::notify::{classify_http, status_and_body, ChannelAnswer, Outcome};

pub fn classify(answer: &ChannelAnswer) -> Outcome {
    classify_http(answer, status_and_body)
}

//! Slack's answers to an incoming-webhook POST: `200 ok` is delivered; 429 waits
//! for `Retry-After`; 5xx retries; `channel_is_archived` (410) fails and asks for
//! the destination to be disabled. The errors that refuse the webhook itself —
//! removed or disabled (`no_service`, `no_active_hooks`), its workspace gone
//! (`no_team`, `team_disabled`), its token invalid, its channel gone, posting
//! prohibited by an admin — and any other 401/403 pause the destination: every
//! message would get the same answer. Payload errors (`invalid_payload`,
//! `invalid_blocks`, `too_many_attachments` …) fail the message.

use crate::notify::{classify_http, status_and_body, ChannelAnswer, Outcome};

/// Slack's error strings (the answer body) that refuse the webhook as a whole.
pub const DESTINATION_ERRORS: [&str; 9] = [
    "action_prohibited",
    "posting_to_general_channel_denied",
    "channel_not_found",
    "no_service",
    "no_service_id",
    "no_team",
    "team_disabled",
    "invalid_token",
    "no_active_hooks",
];

pub fn classify(answer: &ChannelAnswer) -> Outcome {
    let error = answer.body.trim();
    match answer.status {
        400..=499 if answer.status != 410 && DESTINATION_ERRORS.contains(&error) => {
            Outcome::paused(format!("slack_{error}"), status_and_body(answer))
        }
        401 | 403 => Outcome::paused(format!("http_{}", answer.status), status_and_body(answer)),
        _ => classify_http(answer, status_and_body),
    }
}

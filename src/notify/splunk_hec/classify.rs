//! HEC answers `{"text": "...", "code": N}` (Splunk's HEC status-code table,
//! every code listed in `adapters/splunk_hec/README.md`). A success carries
//! code 0 (and, for a token with indexer acknowledgement, an `ackId`); a 2xx
//! without such an answer did not come from HEC (a proxy's page) and is no
//! delivery. Token and data-channel refusals, and an index the token may not
//! write to, are the destination's problem, not the message's: they pause the
//! destination. Busy, unhealthy or shutting-down collectors are retried; data
//! problems fail the message; 413 asks for a smaller batch. An answer without
//! a HEC code comes from something in front of HEC and gets the shared HTTP
//! rules, except that its 401/403 pause the destination too.

use serde_json::Value;

use crate::notify::ack::AckAnswer;
use crate::notify::{classify_http, status_and_body, ChannelAnswer, Outcome};

/// A HEC JSON answer, as far as classification needs it.
struct HecAnswer {
    code: i64,
    text: String,
    ack_id: Option<u64>,
}

fn hec_answer(answer: &ChannelAnswer) -> Option<HecAnswer> {
    let value: Value = serde_json::from_str(answer.body.trim()).ok()?;
    let code = value.get("code")?.as_i64()?;
    let text = value.get("text").and_then(Value::as_str).unwrap_or_default().to_owned();
    let ack_id = value.get("ackId").and_then(Value::as_u64);
    Some(HecAnswer { code, text, ack_id })
}

/// Codes that refuse the destination as a whole: the token (1 disabled, 2
/// required, 3 invalid authorization, 4 invalid, and 21/22 from the health
/// endpoint), the data channel (10 missing, 11 invalid) and 7, an index the
/// token may not write to (the index comes from the destination's settings).
const DESTINATION_CODES: [i64; 9] = [1, 2, 3, 4, 7, 10, 11, 21, 22];

/// Codes worth trying again: 8 internal error, 9 busy, 18–20 unhealthy,
/// 23 shutting down, 26/27 queue or acknowledgement channel at capacity.
const TRANSIENT_CODES: [i64; 8] = [8, 9, 18, 19, 20, 23, 26, 27];

/// Codes of a successful answer: 0 success, 17 healthy, 24/25 success close to
/// capacity.
const SUCCESS_CODES: [i64; 4] = [0, 17, 24, 25];

/// The answer to `POST /services/collector/event` (and to the health check).
pub fn classify(answer: &ChannelAnswer) -> Outcome {
    if answer.status == 413 {
        return Outcome::TooLarge { reason: status_and_body(answer) };
    }
    let Some(hec) = hec_answer(answer) else {
        return match answer.status {
            200..=299 => Outcome::retry(
                answer.retry_after,
                format!(
                    "HTTP {} is not a HEC answer (expected {{\"text\": …, \"code\": 0}}); something in front of HEC answered: {}",
                    answer.status,
                    excerpt(&answer.body)
                ),
            ),
            401 | 403 => Outcome::paused(format!("http_{}", answer.status), status_and_body(answer)),
            _ => classify_http(answer, status_and_body),
        };
    };
    let reason = format!("HTTP {}: HEC code {}: {}", answer.status, hec.code, hec.text);
    match (answer.status, hec.code) {
        (200..=299, code) if SUCCESS_CODES.contains(&code) => match hec.ack_id {
            Some(ack_id) => Outcome::Accepted { ack_id },
            None => Outcome::Delivered,
        },
        (200..=299, _) => Outcome::retry(answer.retry_after, format!("{reason} (not a success code)")),
        (_, code) if DESTINATION_CODES.contains(&code) => Outcome::paused(format!("hec_code_{code}"), reason),
        (_, code) if TRANSIENT_CODES.contains(&code) => Outcome::retry(answer.retry_after, reason),
        (503, _) => Outcome::retry(answer.retry_after, reason),
        (_, 5 | 6 | 12 | 13 | 14 | 15 | 16) => Outcome::failed(reason),
        _ => classify_http(answer, |_| reason.clone()),
    }
}

/// The answer to `POST /services/collector/ack`: `{"acks": {"<id>": true, …}}`.
/// A refused token pauses the destination; a busy or unreachable collector is
/// asked again; any other refusal (data channel missing or invalid,
/// acknowledgement disabled) ends the waiting and the message is retried.
pub fn classify_ack(answer: &ChannelAnswer) -> AckAnswer {
    if (200..=299).contains(&answer.status) {
        let statuses = serde_json::from_str::<Value>(answer.body.trim()).ok().and_then(|value| {
            let acks = value.get("acks")?.as_object()?;
            Some(acks.iter().filter_map(|(id, status)| Some((id.parse::<u64>().ok()?, status.as_bool()?))).collect())
        });
        return match statuses {
            Some(statuses) => AckAnswer::Statuses(statuses),
            None => AckAnswer::Refused(Outcome::retry(
                None,
                format!("HTTP {} is not a HEC acknowledgement answer: {}", answer.status, excerpt(&answer.body)),
            )),
        };
    }
    match classify(answer) {
        outcome @ Outcome::Paused { .. }
            if hec_answer(answer).is_none_or(|hec| [1, 2, 3, 4, 21, 22].contains(&hec.code)) =>
        {
            AckAnswer::Refused(outcome)
        }
        Outcome::Retry { reason, .. } => AckAnswer::Unavailable(reason),
        other => AckAnswer::Refused(Outcome::retry(None, other.reason().unwrap_or_default().to_owned())),
    }
}

/// The first 300 characters of a body, or a note that it was empty.
fn excerpt(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        "(empty body)".to_owned()
    } else {
        body.chars().take(300).collect()
    }
}

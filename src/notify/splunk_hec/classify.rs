//! HEC answers `{"text": "...", "code": N}`. Code 0 is delivered. Server busy
//! (code 9 / HTTP 503), internal errors (code 8) and other 5xx retry. Token
//! problems (codes 1-4) and data problems (5-7, 10-16) fail at once with HEC's text.
//! An answer without a HEC code (a proxy, a load balancer) gets the shared HTTP
//! rules, so 410 Gone also disables the destination there.

use serde::Deserialize;

use crate::notify::{classify_http, status_and_body, ChannelAnswer, Outcome};

#[derive(Deserialize)]
struct HecAnswer {
    text: Option<String>,
    code: Option<i64>,
}

pub fn classify(answer: &ChannelAnswer) -> Outcome {
    let hec: Option<HecAnswer> = serde_json::from_str(answer.body.trim()).ok();
    let (code, text) = match &hec {
        Some(HecAnswer { code, text }) => (*code, text.clone().unwrap_or_default()),
        None => (None, String::new()),
    };
    let reason = match code {
        Some(code) => format!("HTTP {}: HEC code {code}: {text}", answer.status),
        None => status_and_body(answer),
    };
    match (answer.status, code) {
        (200..=299, None | Some(0)) => Outcome::Delivered,
        (_, Some(8 | 9)) | (503, _) => Outcome::retry(answer.retry_after, reason),
        (_, Some(1..=7 | 10..=16)) => Outcome::failed(reason),
        _ => classify_http(answer, |_| reason.clone()),
    }
}

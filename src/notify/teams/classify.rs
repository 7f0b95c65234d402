//! Teams' answers: any 2xx is delivered (Workflows answers 202 Accepted, connectors
//! 200 with `1`); 429 (throttled) and 5xx retry, honouring `Retry-After`; 410
//! fails and asks for the destination to be disabled; other 4xx fail.

use crate::notify::{classify_http, status_and_body, ChannelAnswer, Outcome};

pub fn classify(answer: &ChannelAnswer) -> Outcome {
    classify_http(answer, status_and_body)
}

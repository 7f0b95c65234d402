//! Generic endpoints: 2xx delivered; 408, 425, 429 and 5xx retry (honouring
//! `Retry-After`); 410 Gone fails and asks for the destination to be disabled; 3xx
//! fails (redirects are never followed); every other 4xx fails.

use crate::notify::{classify_http, status_and_body, ChannelAnswer, Outcome};

pub fn classify(answer: &ChannelAnswer) -> Outcome {
    classify_http(answer, status_and_body)
}

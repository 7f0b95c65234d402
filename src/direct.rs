//! Direct delivery: an alert rendered and sent to destinations now, without the
//! outbox and without retries. `flockrelay test` and `flockrelay send` use it; the
//! result of every destination is reported, none is hidden.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;

use crate::alert::Alert;
use crate::destination::{ChannelKind, Destination};
use crate::notify::http::{deliver, Delivery, HttpSender};
use crate::notify::{build_request, by_kind, AttemptContext, NotifyError, Outcome};
use crate::render::Renderer;

/// What happened at one destination.
#[derive(Debug)]
pub struct Report {
    pub destination: String,
    pub kind: ChannelKind,
    /// The attempt, or why no request could be made.
    pub result: Result<Delivery, NotifyError>,
}

impl Report {
    pub fn delivered(&self) -> bool {
        matches!(&self.result, Ok(Delivery { outcome: Outcome::Delivered, .. }))
    }

    /// One line: name, kind, outcome, latency, the channel's error.
    pub fn line(&self, name_width: usize) -> String {
        let name = &self.destination;
        let kind = self.kind.as_str();
        match &self.result {
            Ok(delivery) => {
                let outcome = match &delivery.outcome {
                    Outcome::Retry { .. } => "failed (retryable)",
                    other => other.label(),
                };
                let latency = format_latency(delivery.latency);
                let reason = delivery.outcome.reason().map(|reason| format!("  {reason}")).unwrap_or_default();
                format!("{name:<name_width$}  {kind:<8}  {outcome:<18}  {latency:>8}{reason}")
            }
            Err(error) => format!("{name:<name_width$}  {kind:<8}  {:<18}  {:>8}  {error}", "error", "-"),
        }
    }
}

fn format_latency(latency: Duration) -> String {
    format!("{}ms", latency.as_millis())
}

/// Renders `alert` for each destination and sends all of them concurrently.
/// Reports come back in the order of `destinations`.
pub async fn send_now(
    destinations: Vec<Destination>,
    alert: &Alert,
    renderer: &Renderer,
    sender: Arc<HttpSender>,
    test: bool,
) -> Vec<Report> {
    let mut tasks = JoinSet::new();
    let count = destinations.len();
    for (index, destination) in destinations.into_iter().enumerate() {
        let notifier = by_kind(destination.channel.kind());
        let payload = notifier.render(&destination, alert, renderer, test);
        let sender = Arc::clone(&sender);
        tasks.spawn(async move {
            let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
            let attempt = AttemptContext { message_id: &message_id, now: Utc::now() };
            let result = match payload.and_then(|payload| build_request(&destination, &[&payload], &attempt)) {
                Ok(request) => Ok(deliver(&sender, &request, |answer| notifier.classify(answer)).await),
                Err(error) => Err(error),
            };
            (index, Report { destination: destination.name.clone(), kind: destination.channel.kind(), result })
        });
    }
    let mut reports: Vec<Option<Report>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, report)) => reports[index] = Some(report),
            Err(error) => tracing::error!(%error, "A delivery task ended abnormally."),
        }
    }
    reports.into_iter().flatten().collect()
}

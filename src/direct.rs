//! Direct delivery: an alert rendered and sent to destinations now, without the
//! outbox and without retries (an acceptance is still waited on until
//! acknowledged, for a HEC with `ack = true`). `flockrelay test` and `flockrelay
//! send` use it, and `flockrelay test --health` checks destinations without
//! sending; the result of every destination is reported, none is hidden.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;

use crate::alert::Alert;
use crate::destination::Destination;
use crate::notify::ack::settle;
use crate::notify::http::{check, deliver, Delivery, HttpSender};
use crate::notify::ChannelKind;
use crate::notify::{build_request, by_kind, with_secrets, AttemptContext, NotifyError, Outcome};
use crate::render::Renderer;

/// What was done at one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A notification was sent.
    Sent,
    /// Its health was checked; nothing was sent.
    Checked,
    /// Nothing was done: the channel has no health check.
    Skipped,
}

/// What happened at one destination.
#[derive(Debug)]
pub struct Report {
    pub destination: String,
    pub kind: ChannelKind,
    /// The attempt, or why no request could be made.
    pub result: Result<Delivery, NotifyError>,
    pub mode: Mode,
}

impl Report {
    /// Delivered (or healthy); a skipped destination is no failure.
    pub fn delivered(&self) -> bool {
        self.mode == Mode::Skipped || matches!(&self.result, Ok(Delivery { outcome: Outcome::Delivered, .. }))
    }

    /// One line: name, kind, outcome, latency, the channel's error.
    pub fn line(&self, name_width: usize) -> String {
        let name = &self.destination;
        let kind = self.kind.as_str();
        if self.mode == Mode::Skipped {
            return format!(
                "{name:<name_width$}  {kind:<8}  {:<18}  {:>8}  no health check for this channel (run without --health to send a test notification)",
                "skipped", "-"
            );
        }
        match &self.result {
            Ok(delivery) => {
                let outcome = match &delivery.outcome {
                    Outcome::Delivered if self.mode == Mode::Checked => "healthy",
                    Outcome::Retry { .. } => "failed (retryable)",
                    Outcome::Paused { .. } => "failed (refused)",
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

/// How a preview shows the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLayout {
    /// The bytes exactly as sent.
    AsSent,
    /// Indented for reading (`render --pretty`); `content-length` stays that of the bytes sent.
    Pretty,
}

/// The exact request `destination` would receive for `alert` — method, URL,
/// headers, body — with every secret masked; nothing is sent (`flockrelay
/// render` and the console's preview).
pub fn preview(
    destination: &Destination,
    alert: &Alert,
    renderer: &Renderer,
    test: bool,
    now: chrono::DateTime<Utc>,
    layout: BodyLayout,
) -> Result<String, NotifyError> {
    let notifier = by_kind(destination.channel.kind());
    let payload = notifier.render(destination, alert, renderer, test)?;
    let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let request = build_request(destination, &[&payload], &AttemptContext { message_id: &message_id, now })?;
    Ok(match layout {
        BodyLayout::AsSent => request.to_masked_string(),
        BodyLayout::Pretty => request.to_masked_string_pretty(),
    })
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
                Ok(request) => {
                    let delivery =
                        deliver(&sender, &request, |answer| notifier.classify_for(&destination, answer)).await;
                    Ok(settle(&sender, notifier, &destination, delivery).await)
                }
                Err(error) => Err(error),
            };
            let report = Report {
                destination: destination.name.clone(),
                kind: destination.channel.kind(),
                result,
                mode: Mode::Sent,
            };
            (index, report)
        });
    }
    collect(tasks, count).await
}

/// Checks each destination's health without sending anything (Splunk HEC's
/// health endpoint, with the token); destinations whose channel has no such
/// check are reported as skipped. Reports come back in the order of `destinations`.
pub async fn check_now(destinations: Vec<Destination>, sender: Arc<HttpSender>) -> Vec<Report> {
    let mut tasks = JoinSet::new();
    let count = destinations.len();
    for (index, destination) in destinations.into_iter().enumerate() {
        let sender = Arc::clone(&sender);
        tasks.spawn(async move {
            let notifier = by_kind(destination.channel.kind());
            let (result, mode) = match notifier
                .health_request(&destination)
                .map(|request| request.map(|request| with_secrets(&destination, request)))
            {
                Some(Ok(request)) => {
                    (Ok(check(&sender, &request, |answer| notifier.classify_health(answer)).await), Mode::Checked)
                }
                Some(Err(error)) => (Err(error), Mode::Checked),
                None => (
                    Err(NotifyError::Settings {
                        destination: destination.name.clone(),
                        reason: "no health check for this channel".into(),
                    }),
                    Mode::Skipped,
                ),
            };
            (index, Report { destination: destination.name.clone(), kind: destination.channel.kind(), result, mode })
        });
    }
    collect(tasks, count).await
}

/// The reports of `tasks`, in their index order.
async fn collect(mut tasks: JoinSet<(usize, Report)>, count: usize) -> Vec<Report> {
    let mut reports: Vec<Option<Report>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, report)) => reports[index] = Some(report),
            Err(error) => tracing::error!(%error, "A delivery task ended abnormally."),
        }
    }
    reports.into_iter().flatten().collect()
}
